//! deploy/kingress.yaml installs what it should: the namespace, Kong's
//! CRDs, least-privilege RBAC bound to kingress' ServiceAccount, a hardened
//! Deployment, the proxy Service and Kong's IngressClass.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

#[path = "manifests/checks.rs"]
pub(crate) mod checks;

use checks::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::IngressClass;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

fn manifest() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/kingress.yaml");
    documents(&std::fs::read_to_string(path).unwrap())
}

#[test]
fn installs_every_piece_once() {
    let docs = manifest();
    let ns: Namespace = one(&docs, "Namespace");
    assert_eq!(ns.metadata.name.as_deref(), Some("kingress"));
    let crds: Vec<CustomResourceDefinition> = of_kind(&docs, "CustomResourceDefinition");
    assert_eq!(crds, kingress::crd::generate::all());
    let sa: ServiceAccount = one(&docs, "ServiceAccount");
    assert_eq!(sa.metadata.namespace.as_deref(), Some("kingress"));
    // Namespace first and CRDs before anything using them, for a single
    // `kubectl apply -f`.
    assert_eq!(docs[0]["kind"], "Namespace");
    for d in &docs[1..] {
        let namespaced = !matches!(
            d["kind"].as_str().unwrap(),
            "CustomResourceDefinition"
                | "ClusterRole"
                | "ClusterRoleBinding"
                | "IngressClass"
                | "Namespace"
        );
        if namespaced {
            assert_eq!(d["metadata"]["namespace"], "kingress", "{}", d["kind"]);
        }
    }
}

#[test]
fn deployment_is_hardened_and_probed() {
    let docs = manifest();
    let d: Deployment = one(&docs, "Deployment");
    check_deployment(
        &d,
        &[
            "--ingress-class=kong",
            "--publish-service=kingress/kingress-proxy",
        ],
    );
    assert_eq!(
        container(&d).image.as_deref(),
        Some("ghcr.io/kingress/kingress:0.1.0")
    );
    let pod = d.spec.unwrap().template.spec.unwrap();
    assert_eq!(pod.service_account_name.as_deref(), Some("kingress"));
}

#[test]
fn rbac_is_least_privilege_and_bound_to_the_service_account() {
    let docs = manifest();
    let cluster_role: ClusterRole = one(&docs, "ClusterRole");
    let role: Role = one(&docs, "Role");
    let mut rules = cluster_role.rules.clone().unwrap_or_default();
    let lease_rules = role.rules.clone().unwrap_or_default();
    rules.extend(lease_rules.iter().cloned());
    check_rbac(&rules);
    // The Lease grant is namespaced, not cluster-wide.
    assert!(
        grants(&cluster_role.rules.unwrap())
            .keys()
            .all(|(_, r)| r != "leases")
    );
    assert_eq!(grants(&lease_rules).len(), 1);

    let crb: ClusterRoleBinding = one(&docs, "ClusterRoleBinding");
    let rb: RoleBinding = one(&docs, "RoleBinding");
    assert_eq!(crb.role_ref.name, cluster_role.metadata.name.unwrap());
    assert_eq!(rb.role_ref.name, role.metadata.name.unwrap());
    for subjects in [crb.subjects.unwrap(), rb.subjects.unwrap()] {
        assert_eq!(subjects.len(), 1);
        assert_eq!(subjects[0].kind, "ServiceAccount");
        assert_eq!(subjects[0].name, "kingress");
        assert_eq!(subjects[0].namespace.as_deref(), Some("kingress"));
    }
}

#[test]
fn proxy_service_and_ingress_class() {
    let docs = manifest();
    let svc: Service = one(&docs, "Service");
    assert_eq!(svc.metadata.name.as_deref(), Some("kingress-proxy"));
    let spec = svc.spec.unwrap();
    assert_eq!(spec.type_.as_deref(), Some("LoadBalancer"));
    let ports: Vec<(i32, IntOrString)> = spec
        .ports
        .unwrap()
        .into_iter()
        .map(|p| (p.port, p.target_port.unwrap()))
        .collect();
    assert_eq!(
        ports,
        [
            (80, IntOrString::String("proxy".into())),
            (443, IntOrString::String("proxy-tls".into()))
        ]
    );
    let d: Deployment = one(&docs, "Deployment");
    let named: Vec<(String, i32)> = container(&d)
        .ports
        .iter()
        .flatten()
        .map(|p| (p.name.clone().unwrap(), p.container_port))
        .collect();
    assert!(named.contains(&("proxy".into(), 8000)) && named.contains(&("proxy-tls".into(), 8443)));
    assert_eq!(spec.selector, d.spec.unwrap().selector.match_labels);

    let ic: IngressClass = one(&docs, "IngressClass");
    assert_eq!(ic.metadata.name.as_deref(), Some("kong"));
    check_ingress_class(&ic);
}
