//! The committed CRD YAML matches the Rust types, every shipped copy matches
//! `crds/`, and manifests written for Kong's CRDs fit both the Rust types and
//! the generated schemas (so they apply unchanged).
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kingress::crd::{KongClusterPlugin, KongConsumer, KongConsumerGroup, KongPlugin, generate};
use serde_json::Value;
use std::path::Path;

const REGENERATE: &str = "regenerate with `cargo run -- crds > crds/kingress-crds.yaml`, \
     then copy it into deploy/ and the chart with `sh deploy/sync-crds.sh`";

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn committed_crds_are_current() {
    let committed = read("crds/kingress-crds.yaml");
    assert!(
        committed == generate::yaml(),
        "crds/kingress-crds.yaml is stale: {REGENERATE}"
    );
}

#[test]
fn chart_carries_the_same_crds() {
    assert!(
        read("charts/kingress/crds/kingress-crds.yaml") == read("crds/kingress-crds.yaml"),
        "charts/kingress/crds/kingress-crds.yaml differs from crds/: {REGENERATE}"
    );
}

#[test]
fn deploy_manifest_carries_the_same_crds() {
    let deploy = read("deploy/kingress.yaml");
    let crds: Vec<CustomResourceDefinition> = deploy
        .split("\n---")
        .filter_map(|doc| serde_yaml::from_str::<Value>(doc).ok())
        .filter(|v| v["kind"] == "CustomResourceDefinition")
        .map(|v| serde_json::from_value(v).unwrap())
        .collect();
    assert!(
        crds == generate::all(),
        "deploy/kingress.yaml carries other CRDs: {REGENERATE}"
    );
}

const PLUGIN_INLINE: &str = r#"
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata:
  name: oauth2
  namespace: shop
  annotations:
    kubernetes.io/ingress.class: kong
plugin: oauth2
config:
  scopes: [read, write]
  mandatory_scope: true
  enable_client_credentials: true
  token_expiration: 7200
protocols: [http, https]
ordering:
  before:
    access: [rate-limiting]
instance_name: shop-oauth
"#;

const PLUGIN_FROM_SECRET: &str = r#"
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata:
  name: oidc
  namespace: shop
plugin: openid-connect
disabled: true
configFrom:
  secretKeyRef:
    name: oidc-config
    key: config.yaml
"#;

const PLUGIN_PATCHES: &str = r#"
apiVersion: configuration.konghq.com/v1
kind: KongPlugin
metadata:
  name: oidc-patched
  namespace: shop
plugin: openid-connect
config:
  issuer: https://idp.example.com/.well-known/openid-configuration
  client_id: [shop]
configPatches:
- path: /client_secret
  valueFrom:
    secretKeyRef:
      name: oidc-secret
      key: client_secret
run_on: first
"#;

const CLUSTER_PLUGIN: &str = r#"
apiVersion: configuration.konghq.com/v1
kind: KongClusterPlugin
metadata:
  name: global-oidc
  labels:
    global: "true"
  annotations:
    kubernetes.io/ingress.class: kong
plugin: openid-connect
configPatches:
- path: /client_secret
  valueFrom:
    secretKeyRef:
      name: oidc-secret
      namespace: kong
      key: client_secret
"#;

const CLUSTER_PLUGIN_FROM: &str = r#"
apiVersion: configuration.konghq.com/v1
kind: KongClusterPlugin
metadata:
  name: lambda
plugin: aws-lambda
configFrom:
  secretKeyRef:
    name: lambda-config
    namespace: kong
    key: config
"#;

const CONSUMER: &str = r#"
apiVersion: configuration.konghq.com/v1
kind: KongConsumer
metadata:
  name: alice
  namespace: shop
  annotations:
    kubernetes.io/ingress.class: kong
    konghq.com/plugins: rate-limit-alice
username: alice
custom_id: "4711"
credentials:
- alice-oauth2
- alice-key
consumerGroups:
- gold
spec:
  tags: [team-a]
"#;

/// KIC's consumer group example, with a Kong name and tags.
const CONSUMER_GROUP: &str = r#"
apiVersion: configuration.konghq.com/v1beta1
kind: KongConsumerGroup
metadata:
  name: gold
  namespace: shop
  annotations:
    kubernetes.io/ingress.class: kong
    konghq.com/plugins: rate-limit-gold
spec:
  name: gold-tier
  tags: [tier, paid]
"#;

fn yaml<T: serde::de::DeserializeOwned>(text: &str) -> T {
    serde_yaml::from_str(text).unwrap()
}

#[test]
fn kong_manifests_deserialise_into_the_types() {
    let p: KongPlugin = yaml(PLUGIN_INLINE);
    assert_eq!(p.plugin, "oauth2");
    assert_eq!(p.config.as_ref().unwrap()["token_expiration"], 7200);
    assert_eq!(p.protocols, ["http", "https"]);
    assert_eq!(p.ordering.unwrap().before["access"], ["rate-limiting"]);
    assert_eq!(p.instance_name.as_deref(), Some("shop-oauth"));

    let p: KongPlugin = yaml(PLUGIN_FROM_SECRET);
    assert!(p.disabled);
    let from = p.config_from.unwrap().secret_key_ref;
    assert_eq!(
        (from.name.as_str(), from.key.as_str()),
        ("oidc-config", "config.yaml")
    );

    let p: KongPlugin = yaml(PLUGIN_PATCHES);
    assert_eq!(p.config_patches[0].path, "/client_secret");
    assert_eq!(
        p.config_patches[0].value_from.secret_key_ref.name,
        "oidc-secret"
    );
    assert_eq!(p.run_on.as_deref(), Some("first"));

    let c: KongClusterPlugin = yaml(CLUSTER_PLUGIN);
    let r = &c.config_patches[0].value_from.secret_key_ref;
    assert_eq!(
        (r.namespace.as_str(), r.name.as_str()),
        ("kong", "oidc-secret")
    );
    let c: KongClusterPlugin = yaml(CLUSTER_PLUGIN_FROM);
    assert_eq!(c.config_from.unwrap().secret_key_ref.namespace, "kong");

    let k: KongConsumer = yaml(CONSUMER);
    assert_eq!(k.username.as_deref(), Some("alice"));
    assert_eq!(k.custom_id.as_deref(), Some("4711"));
    assert_eq!(k.credentials, ["alice-oauth2", "alice-key"]);
    assert_eq!(k.consumer_groups, ["gold"]);

    let g: KongConsumerGroup = yaml(CONSUMER_GROUP);
    assert_eq!(g.spec.name.as_deref(), Some("gold-tier"));
    assert_eq!(g.spec.tags, ["tier", "paid"]);
}

/// Checks `value` against a structural schema the way the API server's
/// pruning and validation would: no field outside the schema (it would be
/// silently dropped), required fields present, enums and types respected.
fn conforms(path: &str, value: &Value, schema: &Value) -> Result<(), String> {
    if schema["x-kubernetes-preserve-unknown-fields"] == true {
        return Ok(());
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        return Err(format!("{path}: {value} not in {allowed:?}"));
    }
    match (schema["type"].as_str(), value) {
        (Some("object"), Value::Object(map)) => {
            for req in schema["required"].as_array().into_iter().flatten() {
                let req = req.as_str().unwrap();
                if !map.contains_key(req) {
                    return Err(format!("{path}: missing required `{req}`"));
                }
            }
            for (k, v) in map {
                let sub = schema["properties"]
                    .get(k)
                    .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()));
                match sub {
                    Some(sub) => conforms(&format!("{path}.{k}"), v, sub)?,
                    // `metadata` is `type: object` without properties: the
                    // API server validates it itself.
                    None if schema["properties"].is_null() => {}
                    None => return Err(format!("{path}.{k}: unknown field would be pruned")),
                }
            }
            Ok(())
        }
        (Some("array"), Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                conforms(&format!("{path}[{i}]"), item, &schema["items"])?;
            }
            Ok(())
        }
        (Some("string"), Value::String(_))
        | (Some("boolean"), Value::Bool(_))
        | (Some("integer"), Value::Number(_)) => Ok(()),
        (ty, v) => Err(format!("{path}: {v} is not of type {ty:?}")),
    }
}

#[test]
fn kong_manifests_fit_the_generated_schemas() {
    let schemas: Vec<(String, Value)> = generate::all()
        .into_iter()
        .map(|crd| {
            let v = serde_json::to_value(&crd.spec.versions[0]).unwrap();
            (crd.spec.names.kind, v["schema"]["openAPIV3Schema"].clone())
        })
        .collect();
    for text in [
        PLUGIN_INLINE,
        PLUGIN_FROM_SECRET,
        PLUGIN_PATCHES,
        CLUSTER_PLUGIN,
        CLUSTER_PLUGIN_FROM,
        CONSUMER,
        CONSUMER_GROUP,
    ] {
        let doc: Value = serde_yaml::from_str(text).unwrap();
        let kind = doc["kind"].as_str().unwrap();
        let (_, schema) = schemas.iter().find(|(k, _)| k == kind).unwrap();
        conforms(kind, &doc, schema).unwrap_or_else(|e| panic!("{e}"));
    }

    // The checker is not vacuous: a misspelt field and a bad enum fail.
    let (_, plugin) = &schemas[0];
    let mut doc: Value = serde_yaml::from_str(PLUGIN_INLINE).unwrap();
    doc["configfrom"] = serde_json::json!({});
    assert!(
        conforms("KongPlugin", &doc, plugin)
            .unwrap_err()
            .contains("pruned")
    );
    let mut doc: Value = serde_yaml::from_str(PLUGIN_INLINE).unwrap();
    doc["protocols"] = serde_json::json!(["http", "ws"]);
    assert!(conforms("KongPlugin", &doc, plugin).is_err());
}
