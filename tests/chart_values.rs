//! The chart takes values files written for Kong's chart (its common names
//! map onto kingress's), refuses typos through values.schema.json, and
//! renders the production pieces: ServiceMonitor, PodDisruptionBudget,
//! HorizontalPodAutoscaler, security contexts, probes, update strategy and
//! topology spread. Needs `helm`, as tests/chart.rs does.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::chart::helm::*;
use crate::manifests::checks::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{EnvVar, Service};
use k8s_openapi::api::networking::v1::IngressClass;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::RoleBinding;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn kong_values() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chart/kong-values.yaml")
}

fn args(d: &Deployment) -> Vec<String> {
    container(d).args.clone().unwrap_or_default()
}

fn env(d: &Deployment) -> Vec<EnvVar> {
    container(d).env.clone().unwrap_or_default()
}

fn env_value(d: &Deployment, name: &str) -> Option<String> {
    env(d)
        .into_iter()
        .find(|e| e.name == name)
        .and_then(|e| e.value)
}

#[test]
fn a_kong_values_file_lints_and_renders_under_kingress_names() {
    let file = kong_values();
    let (ok, out) = lint(&[&file], &[]);
    assert!(ok, "{out}");

    let docs = render_with(&[&file], &[]);
    let svc: Service = one(&docs, "Service");
    let annotations = svc.metadata.annotations.unwrap();
    assert_eq!(
        annotations["service.beta.kubernetes.io/aws-load-balancer-type"],
        "nlb"
    );
    let spec = svc.spec.unwrap();
    assert_eq!(spec.type_.as_deref(), Some("NodePort"));
    let ports = spec.ports.unwrap();
    // proxy.tls.enabled: false leaves only HTTP, on Kong's servicePort.
    assert_eq!(ports.len(), 1, "{ports:?}");
    assert_eq!(
        (ports[0].name.as_deref(), ports[0].port, ports[0].node_port),
        (Some("http"), 8080, Some(30080))
    );

    let d: Deployment = one(&docs, "Deployment");
    check_deployment(
        &d,
        &[
            "--ingress-class=kong-internal",
            "--watch-namespace=shop,web",
            "--publish-service=kong/kong-proxy",
            "--log-format=json",
            "--proxy-listen=0.0.0.0:8000",
        ],
    );
    // Kong's kong.conf settings become the kingress settings they mean.
    assert_eq!(
        env_value(&d, "KINGRESS_TRUSTED_IPS").as_deref(),
        Some("0.0.0.0/0,::/0")
    );
    // notice is info; proxy_access_log off turns the access log off.
    assert_eq!(
        env_value(&d, "KINGRESS_LOG").as_deref(),
        Some("info,kingress::access=off")
    );
    assert_eq!(
        env_value(&d, "KINGRESS_UNDERSCORES_IN_HEADERS").as_deref(),
        Some("true")
    );
    // nginx reads a bare number as seconds; kingress would read milliseconds.
    assert_eq!(
        env_value(&d, "KINGRESS_KEEPALIVE_TIMEOUT").as_deref(),
        Some("60s")
    );
    // nginx's worker processes are kingress's proxy workers.
    assert_eq!(env_value(&d, "TOKIO_WORKER_THREADS").as_deref(), Some("2"));
    let names: Vec<String> = env(&d).into_iter().map(|e| e.name).collect();
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("KONG_") || n.starts_with("CONTROLLER_")),
        "{names:?}"
    );

    let ic: IngressClass = one(&docs, "IngressClass");
    assert_eq!(ic.metadata.name.as_deref(), Some("kong-internal"));
    check_ingress_class(&ic);
    let mut namespaced: Vec<String> = of_kind::<RoleBinding>(&docs, "RoleBinding")
        .into_iter()
        .filter(|b| b.role_ref.name == "rel-kingress-namespaced")
        .map(|b| b.metadata.namespace.unwrap())
        .collect();
    namespaced.sort();
    assert_eq!(namespaced, ["kingress", "shop", "web"]);

    let notes = notes(&[&file], &[]);
    assert!(notes.contains("IngressClass \"kong-internal\""), "{notes}");
    assert!(notes.contains("(type NodePort)"), "{notes}");
    assert!(notes.contains("podSecurityPolicy is ignored"), "{notes}");
    assert!(
        notes.contains("ingressController.installCRDs has no effect"),
        "{notes}"
    );
    let unused = notes
        .lines()
        .find(|l| l.contains("no kingress equivalent"))
        .unwrap_or_else(|| panic!("{notes}"));
    assert!(!unused.contains("nginx_worker_processes"), "{unused}");
    assert!(
        unused.contains("ingressController.env.kong_admin_tls_skip_verify"),
        "{unused}"
    );
    // database: "off" is what kingress always is: nothing to say.
    assert!(!unused.contains("database"), "{unused}");
}

#[test]
fn without_kong_names_the_notes_say_nothing_about_them() {
    let notes = notes(&[], &[]);
    assert!(notes.contains("IngressClass \"kong\""), "{notes}");
    assert!(!notes.contains("NOTE:"), "{notes}");
}

#[test]
fn kong_names_win_over_kingress_names() {
    let docs = render(&[
        "service.type=ClusterIP",
        "proxy.type=LoadBalancer",
        "service.http.port=81",
        "proxy.http.servicePort=8000",
        "ingressClass.name=edge",
        "ingressController.ingressClass=kong",
        "watchNamespaces={a}",
        "ingressController.watchNamespaces={b}",
        "ingressController.env.ingress_class=from-env",
        "ingressController.env.publish_status_address=203.0.113.9",
    ]);
    let spec = one::<Service>(&docs, "Service").spec.unwrap();
    assert_eq!(spec.type_.as_deref(), Some("LoadBalancer"));
    assert_eq!(spec.ports.unwrap()[0].port, 8000);
    let d: Deployment = one(&docs, "Deployment");
    let a = args(&d);
    // Kong's CONTROLLER_INGRESS_CLASS wins, as the later variable does there.
    assert!(a.contains(&"--ingress-class=from-env".to_string()), "{a:?}");
    assert!(a.contains(&"--watch-namespace=b".to_string()), "{a:?}");
    assert!(
        a.contains(&"--publish-status-address=203.0.113.9".to_string()),
        "{a:?}"
    );
    assert!(
        !a.iter().any(|x| x.starts_with("--publish-service")),
        "{a:?}"
    );
}

#[test]
fn kong_env_levels_durations_and_secret_references_map() {
    let docs = render(&[
        "env.log_level=crit",
        "env.nginx_http_client_header_timeout=2m",
        "env.trusted_ips.valueFrom.secretKeyRef.name=proxy-ips",
        "env.trusted_ips.valueFrom.secretKeyRef.key=cidrs",
    ]);
    let d: Deployment = one(&docs, "Deployment");
    assert_eq!(env_value(&d, "KINGRESS_LOG").as_deref(), Some("error"));
    assert_eq!(
        env_value(&d, "KINGRESS_CLIENT_HEADER_TIMEOUT").as_deref(),
        Some("2m")
    );
    let ips = env(&d)
        .into_iter()
        .find(|e| e.name == "KINGRESS_TRUSTED_IPS")
        .unwrap();
    let key = ips.value_from.unwrap().secret_key_ref.unwrap();
    assert_eq!(
        (key.name.as_str(), key.key.as_str()),
        ("proxy-ips", "cidrs")
    );

    // The controller's level applies when kong.conf's is not set.
    let docs = render(&["ingressController.env.log_level=debug"]);
    let d: Deployment = one(&docs, "Deployment");
    assert_eq!(env_value(&d, "KINGRESS_LOG").as_deref(), Some("debug"));
    // Nothing set: no KINGRESS_LOG (kingress's default, info, applies).
    let d: Deployment = one(&render(&[]), "Deployment");
    assert_eq!(env_value(&d, "KINGRESS_LOG"), None);
}

#[test]
fn typos_kong_only_keys_and_kong_images_fail() {
    let (ok, out) = lint(&[], &["replicaCont=2"]);
    assert!(!ok, "{out}");
    assert!(out.contains("replicaCont"), "{out}");
    let (ok, out) = lint(&[], &["service.http.prot=80"]);
    assert!(!ok && out.contains("prot"), "{out}");
    // Kong's Admin API Service has no kingress counterpart.
    let (ok, out) = lint(&[], &["admin.enabled=true"]);
    assert!(!ok && out.contains("admin"), "{out}");
    let out = render_error(&["image.repository=kong/kong-gateway"]);
    assert!(out.contains("Kong's image"), "{out}");
    let out = render_error(&["image.repository=kong"]);
    assert!(out.contains("Kong's image"), "{out}");
    let (ok, out) = lint(&[], &["logFormat=xml"]);
    assert!(!ok && out.contains("logFormat"), "{out}");
}

#[test]
fn service_monitor_scrapes_a_status_service() {
    assert!(render(&[]).iter().all(|d| d["kind"] != "ServiceMonitor"));
    let docs = render(&[
        "serviceMonitor.enabled=true",
        "serviceMonitor.labels.release=prom",
        "serviceMonitor.interval=15s",
    ]);
    let monitor = docs
        .iter()
        .find(|d| d["kind"] == "ServiceMonitor")
        .expect("a ServiceMonitor");
    assert_eq!(monitor["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(monitor["metadata"]["labels"]["release"], "prom");
    let endpoint = &monitor["spec"]["endpoints"][0];
    assert_eq!(
        (&endpoint["port"], &endpoint["path"], &endpoint["interval"]),
        (
            &Value::from("status"),
            &Value::from("/metrics"),
            &Value::from("15s")
        )
    );
    let services: Vec<Service> = of_kind(&docs, "Service");
    let status = services
        .iter()
        .find(|s| s.metadata.name.as_deref() == Some("rel-kingress-status"))
        .expect("status Service");
    // The monitor's selector picks the status Service, not the proxy one.
    let selector = monitor["spec"]["selector"]["matchLabels"]
        .as_object()
        .unwrap();
    let labels = status.metadata.labels.as_ref().unwrap();
    for (k, v) in selector {
        assert_eq!(labels.get(k).map(String::as_str), v.as_str(), "{k}");
    }
    let proxy = services
        .iter()
        .find(|s| s.metadata.name.as_deref() == Some("rel-kingress-proxy"))
        .unwrap();
    assert!(selector.iter().any(|(k, v)| {
        proxy
            .metadata
            .labels
            .as_ref()
            .unwrap()
            .get(k)
            .map(String::as_str)
            != v.as_str()
    }));
    let spec = status.spec.as_ref().unwrap();
    assert_eq!(spec.type_.as_deref(), Some("ClusterIP"));
    let port = &spec.ports.as_ref().unwrap()[0];
    assert_eq!(
        (port.port, port.target_port.clone()),
        (8100, Some(IntOrString::String("status".into())))
    );
}

#[test]
fn pod_disruption_budget() {
    assert!(
        render(&[])
            .iter()
            .all(|d| d["kind"] != "PodDisruptionBudget")
    );
    let pdb: PodDisruptionBudget = one(
        &render(&["podDisruptionBudget.enabled=true"]),
        "PodDisruptionBudget",
    );
    let spec = pdb.spec.unwrap();
    assert_eq!(spec.max_unavailable, Some(IntOrString::Int(1)));
    assert_eq!(spec.min_available, None);
    let labels = spec.selector.unwrap().match_labels.unwrap();
    assert_eq!(labels["app.kubernetes.io/instance"], "rel");

    let pdb: PodDisruptionBudget = one(
        &render(&[
            "podDisruptionBudget.enabled=true",
            "podDisruptionBudget.minAvailable=50%",
            "podDisruptionBudget.maxUnavailable=null",
        ]),
        "PodDisruptionBudget",
    );
    let spec = pdb.spec.unwrap();
    assert_eq!(spec.min_available, Some(IntOrString::String("50%".into())));
    assert_eq!(spec.max_unavailable, None);

    let out = render_error(&[
        "podDisruptionBudget.enabled=true",
        "podDisruptionBudget.minAvailable=1",
    ]);
    assert!(out.contains("not both"), "{out}");
}

#[test]
fn autoscaling_takes_over_the_replica_count() {
    let docs = render(&[
        "autoscaling.enabled=true",
        "autoscaling.maxReplicas=7",
        "autoscaling.targetMemoryUtilizationPercentage=70",
        "replicaCount=3",
    ]);
    let hpa: HorizontalPodAutoscaler = one(&docs, "HorizontalPodAutoscaler");
    let spec = hpa.spec.unwrap();
    assert_eq!(spec.scale_target_ref.kind, "Deployment");
    assert_eq!(spec.scale_target_ref.name, "rel-kingress");
    assert_eq!((spec.min_replicas, spec.max_replicas), (Some(2), 7));
    let targets: Vec<(String, Option<i32>)> = spec
        .metrics
        .unwrap()
        .into_iter()
        .map(|m| {
            let r = m.resource.unwrap();
            (r.name, r.target.average_utilization)
        })
        .collect();
    assert_eq!(
        targets,
        [
            ("cpu".to_string(), Some(80)),
            ("memory".to_string(), Some(70))
        ]
    );
    let d: Deployment = one(&docs, "Deployment");
    assert_eq!(d.spec.unwrap().replicas, None, "the HPA owns the count");
    let notes = notes(&[], &["autoscaling.enabled=true"]);
    assert!(
        notes.contains("autoscaling with the memory token store"),
        "{notes}"
    );
    let notes = notes_with_redis();
    assert!(!notes.contains("WARNING"), "{notes}");
}

fn notes_with_redis() -> String {
    notes(
        &[],
        &[
            "autoscaling.enabled=true",
            "tokenStore.url=redis://redis:6379/0",
        ],
    )
}

#[test]
fn security_contexts_probes_strategy_and_spread_are_values() {
    // The defaults are hardened (check_deployment asserts non-root,
    // read-only root filesystem, no capabilities, probes on /healthz and
    // /readyz of the status port).
    let d: Deployment = one(&render(&[]), "Deployment");
    check_deployment(&d, &[]);
    let spec = d.spec.as_ref().unwrap();
    assert!(spec.strategy.is_none());
    assert!(
        spec.template
            .spec
            .as_ref()
            .unwrap()
            .topology_spread_constraints
            .is_none()
    );

    let docs = render(&[
        "updateStrategy.type=RollingUpdate",
        "updateStrategy.rollingUpdate.maxUnavailable=0",
        "updateStrategy.rollingUpdate.maxSurge=1",
        "topologySpreadConstraints[0].maxSkew=1",
        "topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone",
        "topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway",
        "readinessProbe.periodSeconds=2",
        "livenessProbe.timeoutSeconds=4",
        "securityContext.fsGroup=65532",
        "containerSecurityContext.runAsUser=65532",
    ]);
    let d: Deployment = one(&docs, "Deployment");
    check_deployment(&d, &[]);
    let spec = d.spec.as_ref().unwrap();
    let strategy = spec.strategy.as_ref().unwrap();
    assert_eq!(strategy.type_.as_deref(), Some("RollingUpdate"));
    let rolling = strategy.rolling_update.as_ref().unwrap();
    assert_eq!(rolling.max_unavailable, Some(IntOrString::Int(0)));
    assert_eq!(rolling.max_surge, Some(IntOrString::Int(1)));
    let pod = spec.template.spec.as_ref().unwrap();
    let spread = pod.topology_spread_constraints.as_ref().unwrap();
    assert_eq!(spread[0].topology_key, "topology.kubernetes.io/zone");
    assert_eq!(spread[0].when_unsatisfiable, "ScheduleAnyway");
    assert_eq!(pod.security_context.as_ref().unwrap().fs_group, Some(65532));
    let c = container(&d);
    assert_eq!(c.readiness_probe.as_ref().unwrap().period_seconds, Some(2));
    assert_eq!(c.liveness_probe.as_ref().unwrap().timeout_seconds, Some(4));
    let sc = c.security_context.as_ref().unwrap();
    assert_eq!(sc.run_as_user, Some(65532));
}
