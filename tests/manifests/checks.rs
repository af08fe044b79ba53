//! Checks shared by tests/manifests.rs (deploy/kingress.yaml) and
//! tests/chart.rs (the rendered Helm chart): both must install the same
//! hardened Deployment, least-privilege RBAC and Kong's IngressClass.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Container;
use k8s_openapi::api::networking::v1::IngressClass;
use k8s_openapi::api::rbac::v1::PolicyRule;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The documents of a multi-document YAML stream (empty ones skipped).
pub fn documents(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).unwrap())
        .filter(|v: &Value| !v.is_null())
        .collect()
}

/// Every document of `kind`, typed.
pub fn of_kind<T: DeserializeOwned>(docs: &[Value], kind: &str) -> Vec<T> {
    docs.iter()
        .filter(|d| d["kind"] == kind)
        .map(|d| serde_json::from_value(d.clone()).unwrap_or_else(|e| panic!("{kind}: {e}")))
        .collect()
}

/// The one object of `kind`.
pub fn one<T: DeserializeOwned>(docs: &[Value], kind: &str) -> T {
    let mut all = of_kind(docs, kind);
    assert_eq!(all.len(), 1, "expected one {kind}");
    all.remove(0)
}

/// The kingress container of a Deployment.
pub fn container(d: &Deployment) -> &Container {
    let pod = d.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
    pod.containers
        .iter()
        .find(|c| c.name == "kingress")
        .expect("kingress container")
}

/// Probes, resources, non-root and read-only, POD_NAME/POD_NAMESPACE,
/// scrape annotations, and `args` containing each of `args`.
pub fn check_deployment(d: &Deployment, args: &[&str]) {
    let c = container(d);
    let have = c.args.clone().unwrap_or_default();
    assert_eq!(have.first().map(String::as_str), Some("run"), "{have:?}");
    for a in args {
        assert!(have.iter().any(|h| h == a), "missing arg {a} in {have:?}");
    }
    assert!(
        c.image
            .as_deref()
            .unwrap()
            .starts_with("ghcr.io/kingress/kingress:")
    );

    let status_port = c
        .ports
        .iter()
        .flatten()
        .find(|p| p.name.as_deref() == Some("status"))
        .expect("status port");
    assert_eq!(status_port.container_port, 8100);
    for (probe, path) in [
        (&c.liveness_probe, "/healthz"),
        (&c.readiness_probe, "/readyz"),
    ] {
        let get = probe
            .as_ref()
            .and_then(|p| p.http_get.as_ref())
            .expect("http probe");
        assert_eq!(get.path.as_deref(), Some(path));
        assert_eq!(get.port, IntOrString::String("status".into()));
    }
    let requests = c
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .expect("requests");
    assert!(requests.contains_key("cpu") && requests.contains_key("memory"));

    let sc = c
        .security_context
        .as_ref()
        .expect("container securityContext");
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(
        sc.capabilities.as_ref().unwrap().drop,
        Some(vec!["ALL".to_string()])
    );
    let pod = d.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
    let psc = pod.security_context.as_ref().expect("pod securityContext");
    assert_eq!(psc.run_as_non_root, Some(true));
    assert!(psc.run_as_user.is_some_and(|u| u != 0));

    let env: BTreeMap<&str, Option<&str>> = c
        .env
        .iter()
        .flatten()
        .map(|e| {
            let field = e
                .value_from
                .as_ref()
                .and_then(|v| v.field_ref.as_ref())
                .map(|f| f.field_path.as_str());
            (e.name.as_str(), field)
        })
        .collect();
    assert_eq!(env.get("POD_NAME"), Some(&Some("metadata.name")));
    assert_eq!(env.get("POD_NAMESPACE"), Some(&Some("metadata.namespace")));

    let meta = d.spec.as_ref().unwrap().template.metadata.as_ref().unwrap();
    let annotations = meta.annotations.clone().unwrap_or_default();
    assert_eq!(
        annotations.get("prometheus.io/scrape").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        annotations.get("prometheus.io/port").map(String::as_str),
        Some("8100")
    );
}

/// Kong's controller name, so IngressClass-based manifests keep working.
pub fn check_ingress_class(ic: &IngressClass) {
    let controller = ic.spec.as_ref().and_then(|s| s.controller.as_deref());
    assert_eq!(controller, Some("ingress-controllers.konghq.com/kong"));
}

/// `(apiGroup, resource)` to verbs, over all rules given.
pub fn grants(rules: &[PolicyRule]) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut out: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for r in rules {
        for g in r.api_groups.iter().flatten() {
            for res in r.resources.iter().flatten() {
                out.entry((g.clone(), res.clone()))
                    .or_default()
                    .extend(r.verbs.iter().cloned());
            }
        }
    }
    out
}

/// Least privilege: no wildcards, read-only on watched kinds, writes only
/// on status subresources, Events and the Lease.
pub fn check_rbac(rules: &[PolicyRule]) {
    let g = grants(rules);
    for ((group, res), verbs) in &g {
        assert!(
            !verbs.contains("*") && res != "*" && group != "*",
            "wildcard grant on {group}/{res}"
        );
    }
    let verbs = |group: &str, res: &str| -> Vec<String> {
        g.get(&(group.to_string(), res.to_string()))
            .map(|v| v.iter().cloned().collect())
            .unwrap_or_default()
    };
    let read = ["get", "list", "watch"];
    for (group, res) in [
        ("", "services"),
        ("", "secrets"),
        ("discovery.k8s.io", "endpointslices"),
        ("networking.k8s.io", "ingresses"),
        ("networking.k8s.io", "ingressclasses"),
        ("configuration.konghq.com", "kongplugins"),
        ("configuration.konghq.com", "kongclusterplugins"),
        ("configuration.konghq.com", "kongconsumers"),
        ("configuration.konghq.com", "kongconsumergroups"),
        ("configuration.konghq.com", "kongupstreampolicies"),
    ] {
        assert_eq!(verbs(group, res), read, "{group}/{res}");
    }
    for (group, res) in [
        ("networking.k8s.io", "ingresses/status"),
        ("configuration.konghq.com", "kongplugins/status"),
        ("configuration.konghq.com", "kongclusterplugins/status"),
        ("configuration.konghq.com", "kongconsumers/status"),
        ("configuration.konghq.com", "kongconsumergroups/status"),
    ] {
        assert!(
            verbs(group, res).contains(&"patch".to_string()),
            "{group}/{res}"
        );
    }
    assert_eq!(verbs("events.k8s.io", "events"), ["create", "patch"]);
    let leases = verbs("coordination.k8s.io", "leases");
    for v in ["get", "create", "update"] {
        assert!(leases.contains(&v.to_string()), "leases need {v}");
    }
    let writable: Vec<_> = g
        .iter()
        .filter(|(_, v)| v.iter().any(|v| !read.contains(&v.as_str())))
        .map(|((_, r), _)| r.as_str())
        .collect();
    for r in writable {
        assert!(
            r.ends_with("/status") || r == "events" || r == "leases",
            "write access to {r}"
        );
    }
}
