//! The Helm chart lints and renders what users ask for. Needs `helm`: taken
//! from PATH, else from ~/.cache/kingress-tools/bin (or
//! `$KINGRESS_TOOLS_DIR/bin`), else built there once with
//! `go install helm.sh/helm/v3/cmd/helm@v3.22.0` (a few minutes).
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

#[path = "chart/helm.rs"]
pub(crate) mod helm;

use crate::manifests::checks::*;
use helm::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::IngressClass;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

fn all_rules(docs: &[Value]) -> Vec<k8s_openapi::api::rbac::v1::PolicyRule> {
    let mut rules = Vec::new();
    for r in of_kind::<ClusterRole>(docs, "ClusterRole") {
        rules.extend(r.rules.unwrap_or_default());
    }
    for r in of_kind::<Role>(docs, "Role") {
        rules.extend(r.rules.unwrap_or_default());
    }
    rules
}

#[test]
fn chart_lints() {
    let chart = chart_dir();
    let out = run_helm(&[
        "lint",
        "--strict",
        chart.to_str().unwrap(),
        "--kube-version",
        KUBE_VERSION,
    ]);
    assert!(out.contains("0 chart(s) failed"), "{out}");
}

#[test]
fn defaults_render_a_cluster_wide_install() {
    let docs = render(&[]);
    let crds: Vec<CustomResourceDefinition> = of_kind(&docs, "CustomResourceDefinition");
    assert_eq!(crds, kingress::crd::generate::all());

    let d: Deployment = one(&docs, "Deployment");
    check_deployment(
        &d,
        &[
            "--ingress-class=kong",
            "--publish-service=kingress/rel-kingress-proxy",
            "--token-store=memory",
            "--status-listen=0.0.0.0:8100",
        ],
    );
    assert_eq!(d.spec.as_ref().unwrap().replicas, Some(1));
    let args = container(&d).args.clone().unwrap();
    assert!(
        !args.iter().any(|a| a.starts_with("--watch-namespace")),
        "{args:?}"
    );

    check_rbac(&all_rules(&docs));
    let bindings: Vec<ClusterRoleBinding> = of_kind(&docs, "ClusterRoleBinding");
    let names: Vec<_> = bindings.iter().map(|b| b.role_ref.name.as_str()).collect();
    assert_eq!(names, ["rel-kingress-cluster", "rel-kingress-namespaced"]);
    for b in &bindings {
        let s = &b.subjects.as_ref().unwrap()[0];
        assert_eq!(
            (s.name.as_str(), s.namespace.as_deref()),
            ("rel-kingress", Some("kingress"))
        );
    }

    let svc: Service = one(&docs, "Service");
    assert_eq!(svc.metadata.name.as_deref(), Some("rel-kingress-proxy"));
    let spec = svc.spec.unwrap();
    assert_eq!(spec.type_.as_deref(), Some("LoadBalancer"));
    let ports: Vec<i32> = spec.ports.unwrap().iter().map(|p| p.port).collect();
    assert_eq!(ports, [80, 443]);

    let ic: IngressClass = one(&docs, "IngressClass");
    check_ingress_class(&ic);
    assert!(
        ic.metadata.annotations.is_none(),
        "not the default class unless asked"
    );
}

#[test]
fn values_reach_the_rendered_objects() {
    let docs = render(&[
        "watchNamespaces={shop,web}",
        "replicaCount=2",
        "extraArgs={--debounce=100ms,--trusted-ips=10.0.0.0/8}",
        "tokenStore.existingSecret=redis-url",
        "service.type=NodePort",
        "service.http.port=8080",
        "ingressClass.name=edge",
        "ingressClass.default=true",
        "publishStatusAddress={203.0.113.7}",
        "image.tag=0.2.0",
        "podAnnotations.team=web",
    ]);
    let d: Deployment = one(&docs, "Deployment");
    check_deployment(
        &d,
        &[
            "--ingress-class=edge",
            "--watch-namespace=shop,web",
            "--publish-status-address=203.0.113.7",
            "--debounce=100ms",
            "--trusted-ips=10.0.0.0/8",
        ],
    );
    let c = container(&d);
    let args = c.args.clone().unwrap();
    assert!(
        !args.iter().any(|a| a.starts_with("--publish-service")),
        "{args:?}"
    );
    assert!(
        !args.iter().any(|a| a.starts_with("--token-store")),
        "the URL comes from the Secret"
    );
    let token_env = c
        .env
        .iter()
        .flatten()
        .find(|e| e.name == "KINGRESS_TOKEN_STORE")
        .unwrap();
    let key_ref = token_env
        .value_from
        .as_ref()
        .unwrap()
        .secret_key_ref
        .as_ref()
        .unwrap();
    assert_eq!(
        (key_ref.name.as_str(), key_ref.key.as_str()),
        ("redis-url", "url")
    );
    assert_eq!(c.image.as_deref(), Some("ghcr.io/kingress/kingress:0.2.0"));
    assert_eq!(d.spec.as_ref().unwrap().replicas, Some(2));
    let annotations = d
        .spec
        .as_ref()
        .unwrap()
        .template
        .metadata
        .as_ref()
        .unwrap()
        .annotations
        .clone();
    assert_eq!(
        annotations.unwrap().get("team").map(String::as_str),
        Some("web")
    );

    // Namespaced access only where watched (and the release namespace).
    check_rbac(&all_rules(&docs));
    let cluster_bindings: Vec<ClusterRoleBinding> = of_kind(&docs, "ClusterRoleBinding");
    assert_eq!(cluster_bindings.len(), 1);
    assert_eq!(cluster_bindings[0].role_ref.name, "rel-kingress-cluster");
    let mut namespaced: Vec<String> = of_kind::<RoleBinding>(&docs, "RoleBinding")
        .into_iter()
        .filter(|b| b.role_ref.name == "rel-kingress-namespaced")
        .map(|b| b.metadata.namespace.unwrap())
        .collect();
    namespaced.sort();
    assert_eq!(namespaced, ["kingress", "shop", "web"]);

    let svc: Service = one(&docs, "Service");
    let spec = svc.spec.unwrap();
    assert_eq!(spec.type_.as_deref(), Some("NodePort"));
    assert_eq!(spec.ports.unwrap()[0].port, 8080);

    let ic: IngressClass = one(&docs, "IngressClass");
    assert_eq!(ic.metadata.name.as_deref(), Some("edge"));
    check_ingress_class(&ic);
    let default = ic.metadata.annotations.unwrap();
    assert_eq!(
        default["ingressclass.kubernetes.io/is-default-class"],
        "true"
    );
}

#[test]
fn optional_pieces_can_be_left_out() {
    let docs = render(&[
        "ingressClass.create=false",
        "rbac.create=false",
        "serviceAccount.create=false",
    ]);
    for kind in ["IngressClass", "ClusterRole", "Role", "ServiceAccount"] {
        assert!(docs.iter().all(|d| d["kind"] != kind), "{kind} rendered");
    }
    let d: Deployment = one(&docs, "Deployment");
    let pod = d.spec.unwrap().template.spec.unwrap();
    assert_eq!(pod.service_account_name.as_deref(), Some("default"));
}
