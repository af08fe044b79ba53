//! The generated CRDs against Kong's.

use super::*;

fn schema_of(crd: &CustomResourceDefinition) -> Value {
    let v = serde_json::to_value(crd).unwrap();
    v["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

/// Walks every subschema; Kubernetes rejects `$ref`, and a structural
/// schema needs a `type` on every node (or preserve-unknown-fields).
fn assert_structural(path: &str, v: &Value) {
    let map = v
        .as_object()
        .unwrap_or_else(|| panic!("{path}: not an object"));
    for key in [
        "$ref",
        "definitions",
        "$defs",
        "anyOf",
        "oneOf",
        "allOf",
        "nullable",
    ] {
        assert!(!map.contains_key(key), "{path} has `{key}`");
    }
    assert!(
        map.contains_key("type") || map.contains_key("x-kubernetes-preserve-unknown-fields"),
        "{path} has no type: {v}"
    );
    if let Some(props) = map.get("properties").and_then(Value::as_object) {
        for (k, sub) in props {
            assert_structural(&format!("{path}.{k}"), sub);
        }
    }
    if let Some(items) = map.get("items") {
        assert_structural(&format!("{path}[]"), items);
    }
    if let Some(extra) = map.get("additionalProperties").filter(|v| v.is_object()) {
        assert_structural(&format!("{path}{{}}"), extra);
    }
}

#[test]
fn schemas_are_structural() {
    for crd in all() {
        assert_structural(&crd.spec.names.kind, &schema_of(&crd));
    }
}

#[test]
fn plugin_schema_matches_kong() {
    for crd in [kong_plugins(), kong_cluster_plugins()] {
        let s = schema_of(&crd);
        let p = &s["properties"];
        assert_eq!(s["required"], json!(["plugin"]));
        assert_eq!(p["metadata"], json!({"type": "object"}));
        assert_eq!(
            p["config"]["x-kubernetes-preserve-unknown-fields"],
            json!(true)
        );
        assert_eq!(p["config"]["type"], json!("object"));
        assert_eq!(p["configFrom"]["required"], json!(["secretKeyRef"]));
        assert_eq!(
            p["configPatches"]["items"]["required"],
            json!(["path", "valueFrom"])
        );
        assert_eq!(p["protocols"]["items"]["enum"][6], json!("udp"));
        let conds = &p["status"]["properties"]["conditions"];
        assert_eq!(conds["x-kubernetes-list-type"], json!("map"));
        assert_eq!(conds["default"][0]["reason"], json!("Pending"));
        let rules = s["x-kubernetes-validations"].as_array().unwrap();
        assert_eq!(rules.len(), 3);
        assert!(
            crd.spec.versions[0]
                .subresources
                .as_ref()
                .unwrap()
                .status
                .is_some()
        );
        let cols = crd.spec.versions[0]
            .additional_printer_columns
            .as_ref()
            .unwrap();
        let names: Vec<_> = cols.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["Plugin-Type", "Age", "Disabled", "Config", "Programmed"]
        );
        assert_eq!(cols[2].priority, Some(1));
    }
    let cluster = schema_of(&kong_cluster_plugins());
    let key_ref = &cluster["properties"]["configFrom"]["properties"]["secretKeyRef"];
    assert_eq!(key_ref["required"], json!(["key", "name", "namespace"]));
    assert_eq!(kong_cluster_plugins().spec.scope, "Cluster");
}

#[test]
fn consumer_schema_matches_kong() {
    let crd = kong_consumers();
    let s = schema_of(&crd);
    assert_eq!(
        s["properties"]["spec"]["x-kubernetes-preserve-unknown-fields"],
        json!(true)
    );
    assert_eq!(
        s["properties"]["credentials"]["x-kubernetes-list-type"],
        json!("set")
    );
    assert_eq!(
        s["properties"]["status"]["default"]["conditions"][0]["type"],
        json!("Programmed")
    );
    assert_eq!(
        s["x-kubernetes-validations"][0]["rule"],
        json!("has(self.username) || has(self.custom_id)")
    );
    assert_eq!(crd.spec.names.short_names, Some(vec!["kc".to_string()]));
}

#[test]
fn yaml_round_trips() {
    let text = yaml();
    let docs: Vec<CustomResourceDefinition> = text
        .split("\n---\n")
        .skip(1)
        .map(|d| serde_yaml::from_str(d).unwrap())
        .collect();
    assert_eq!(docs, all());
}

#[test]
fn consumer_group_schema_matches_kong() {
    let crd = kong_consumer_groups();
    assert_eq!(
        crd.metadata.name.as_deref(),
        Some("kongconsumergroups.configuration.konghq.com")
    );
    let version = &crd.spec.versions[0];
    assert_eq!(version.name, "v1beta1");
    assert!(version.subresources.as_ref().unwrap().status.is_some());
    let names: Vec<_> = version
        .additional_printer_columns
        .as_ref()
        .unwrap()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["Age", "Programmed"]);
    assert_eq!(crd.spec.names.short_names, Some(vec!["kcg".to_string()]));
    let s = schema_of(&crd);
    let spec = &s["properties"]["spec"];
    assert_eq!(spec["type"], json!("object"));
    assert!(spec.get("default").is_none(), "{spec}");
    assert_eq!(spec["properties"]["name"]["type"], json!("string"));
    assert_eq!(spec["properties"]["tags"]["maxItems"], json!(20));
    assert_eq!(
        spec["properties"]["tags"]["x-kubernetes-validations"][0]["rule"],
        json!("self.all(tag, size(tag) >= 1 && size(tag) <= 128)")
    );
    assert_eq!(
        spec["properties"]["controlPlaneRef"]["x-kubernetes-preserve-unknown-fields"],
        json!(true)
    );
    assert_eq!(
        s["properties"]["status"]["default"]["conditions"][0]["reason"],
        json!("Pending")
    );
    assert_eq!(
        s["properties"]["status"]["properties"]["conditions"]["x-kubernetes-list-map-keys"],
        json!(["type"])
    );
}

#[test]
fn kong_ingress_schema_keeps_kongs_fields_and_accepts_proxy_and_route() {
    let crd = kong_ingresses();
    let v = serde_json::to_value(&crd).unwrap();
    let version = &v["spec"]["versions"][0];
    assert_eq!(version["name"], "v1");
    // KongIngress has no status; KIC 3's rules refusing proxy and route
    // would refuse what kingress applies.
    assert!(version.get("subresources").is_none());
    let schema = schema_of(&crd);
    assert!(schema.get("x-kubernetes-validations").is_none());
    let p = &schema["properties"];
    assert_eq!(p["proxy"]["properties"]["path"]["pattern"], "^/.*$");
    assert_eq!(p["proxy"]["properties"]["read_timeout"]["type"], "integer");
    assert_eq!(
        p["route"]["properties"]["headers"]["additionalProperties"]["type"],
        "array"
    );
    assert_eq!(p["upstream"]["properties"]["slots"]["minimum"], 10.0);
    let checks = &p["upstream"]["properties"]["healthchecks"];
    assert_eq!(checks["x-kubernetes-preserve-unknown-fields"], true);
    // The catch-all for unknown fields is not part of the schema.
    assert!(p["route"]["properties"].get("other").is_none());
}
