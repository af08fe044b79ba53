//! ClusterSource against the loopback fake API server: list, watch, the
//! Secret selection, namespaces, and an API outage.

use super::fake_api::FakeApi;
use super::*;
use serde_json::{Value, json};
use std::time::Duration;

pub(crate) fn ingress(ns: &str, name: &str, tls_secret: &str) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "ingressClassName": "kong",
            "tls": [{"hosts": ["a.example"], "secretName": tls_secret}],
            "rules": [{"host": "a.example", "http": {"paths": [{
                "path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": "web", "port": {"number": 80}}},
            }]}}],
        },
    })
}

pub(crate) fn secret(ns: &str, name: &str, credential: Option<&str>) -> Value {
    let labels = credential
        .map(|c| json!({"konghq.com/credential": c}))
        .unwrap_or(json!({}));
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "data": {"k": "dmFsdWU="},
    })
}

pub(crate) fn cluster_fixture(api: &FakeApi) {
    api.apply(json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
        "metadata": {"name": "kong"},
        "spec": {"controller": "ingress-controllers.konghq.com/kong"},
    }));
    api.apply(ingress("shop", "web", "web-tls"));
    api.apply(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"ports": [{"port": 80}]},
    }));
    api.apply(json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-1", "namespace": "shop", "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["127.0.0.1"]}],
        "ports": [{"port": 8080}],
    }));
    api.apply(json!({
        "apiVersion": "configuration.konghq.com/v1", "kind": "KongPlugin",
        "metadata": {"name": "oidc", "namespace": "shop"},
        "plugin": "openid-connect",
        "configFrom": {"secretKeyRef": {"name": "oidc-config", "key": "config"}},
    }));
    api.apply(json!({
        "apiVersion": "configuration.konghq.com/v1", "kind": "KongClusterPlugin",
        "metadata": {"name": "global", "annotations": {"kubernetes.io/ingress.class": "kong"}},
        "plugin": "cors",
    }));
    api.apply(json!({
        "apiVersion": "configuration.konghq.com/v1", "kind": "KongConsumer",
        "metadata": {"name": "alice", "namespace": "shop", "annotations": {"kubernetes.io/ingress.class": "kong"}},
        "username": "alice",
        "credentials": ["alice-oauth2"],
        "consumerGroups": ["gold"],
    }));
    api.apply(json!({
        "apiVersion": "configuration.konghq.com/v1beta1", "kind": "KongConsumerGroup",
        "metadata": {"name": "gold", "namespace": "shop", "annotations": {"kubernetes.io/ingress.class": "kong"}},
        "spec": {"name": "gold-tier"},
    }));
    api.apply(secret("shop", "web-tls", None));
    api.apply(secret("shop", "oidc-config", None));
    api.apply(secret("shop", "alice-oauth2", Some("oauth2")));
    // Not referenced, not labelled: must never be read.
    api.apply(secret("shop", "sh.helm.release.v1.web.v1", None));
}

pub(crate) fn options(namespaces: &[&str]) -> ClusterOptions {
    ClusterOptions {
        namespaces: namespaces.iter().map(|s| s.to_string()).collect(),
        ingress_class: "kong".into(),
        publish_service: None,
        skip_consumer_groups: false,
        skip_upstream_policies: false,
        skip_kong_ingresses: false,
        unserved: Vec::new(),
    }
}

/// Waits (bounded) until the snapshot satisfies `f`.
async fn until(source: &mut ClusterSource, what: &str, f: impl Fn(&ObjectSet) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !f(&source.snapshot()) {
        tokio::time::timeout_at(deadline, source.changed())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
    }
}

fn secret_names(set: &ObjectSet) -> Vec<String> {
    set.secrets.keys().map(|(_, n)| n.clone()).collect()
}

async fn ready(api: &FakeApi, options: ClusterOptions, metrics: Metrics) -> ClusterSource {
    let mut source = ClusterSource::start(api.client(), options, metrics);
    tokio::time::timeout(Duration::from_secs(20), source.wait_ready())
        .await
        .expect("source becomes ready");
    source
}

#[tokio::test]
async fn lists_every_kind_and_only_the_secrets_it_needs() {
    let api = FakeApi::start().await;
    cluster_fixture(&api);
    let metrics = Metrics::new();
    let source = ready(&api, options(&[]), metrics.clone()).await;

    // Ready means the referenced Secrets are in, not just the listed kinds.
    let set = source.snapshot();
    assert_eq!(
        secret_names(&set),
        ["alice-oauth2", "oidc-config", "web-tls"]
    );
    assert_eq!(set.ingress_classes.len(), 1);
    assert_eq!(set.ingresses.len(), 1);
    assert_eq!(set.services.len(), 1);
    assert_eq!(set.endpoint_slices.len(), 1);
    assert_eq!(set.kong_plugins.len(), 1);
    assert_eq!(set.kong_cluster_plugins.len(), 1);
    assert_eq!(set.kong_consumers.len(), 1);
    let group = set.kong_consumer_groups.values().next().expect("a group");
    // KIC names the Kong group after the object; `spec.name` is kept.
    assert_eq!(group.kong_name(), "gold");
    assert_eq!(group.spec.name.as_deref(), Some("gold-tier"));
    assert!(
        set.ingresses
            .contains_key(&("shop".to_string(), "web".to_string()))
    );
    let (held, named, known) = source.referenced_secrets();
    assert_eq!(
        (held, named),
        (2, 0),
        "no per-name watch inside watched namespaces"
    );
    assert_eq!(known, 4, "the metadata watch knows every Secret");

    // Secrets are only ever read whole through the credential label or a
    // GET by name of a referenced one; the rest is metadata.
    let secret_reads: Vec<_> = api
        .requests()
        .into_iter()
        .filter(|r| r.contains("/secrets"))
        .collect();
    let mut gets: Vec<_> = secret_reads
        .iter()
        .filter(|r| !r.contains('?'))
        .cloned()
        .collect();
    gets.sort();
    assert_eq!(
        gets,
        [
            "GET /api/v1/namespaces/shop/secrets/oidc-config",
            "GET /api/v1/namespaces/shop/secrets/web-tls",
        ]
    );
    for r in &secret_reads {
        assert!(
            r.contains("labelSelector=konghq.com%2Fcredential")
                || r.ends_with("(metadata)")
                || gets.contains(r),
            "unselected secret read: {r}"
        );
    }
    assert!(
        secret_reads
            .iter()
            .filter(|r| r.ends_with("(metadata)"))
            .count()
            >= 2,
        "one metadata list and watch: {secret_reads:?}"
    );
    let text = metrics.encode();
    assert!(
        text.contains("kingress_watch_events_total{kind=\"Ingress\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn follows_changes_and_referenced_secrets() {
    let api = FakeApi::start().await;
    cluster_fixture(&api);
    let mut source = ready(&api, options(&[]), Metrics::new()).await;
    // Nothing changed: a second snapshot copies no store.
    let (first, second) = (source.snapshot(), source.snapshot());
    assert!(Arc::ptr_eq(&first.ingresses, &second.ingresses));
    assert!(Arc::ptr_eq(&first.secrets, &second.secrets));

    // A new Ingress names a Secret that does not exist yet (cert-manager
    // creates it later): the Ingress shows up, then the Secret.
    api.apply(ingress("shop", "api", "api-tls"));
    until(&mut source, "new ingress", |s| s.ingresses.len() == 2).await;
    api.apply(secret("shop", "api-tls", None));
    until(&mut source, "late secret", |s| {
        secret_names(s).contains(&"api-tls".into())
    })
    .await;

    // Rotation of a referenced Secret is seen.
    let mut rotated = secret("shop", "api-tls", None);
    rotated["data"]["k"] = json!("cm90YXRlZA==");
    api.apply(rotated);
    until(&mut source, "rotated secret", |s| {
        let key = ("shop".to_string(), "api-tls".to_string());
        s.secrets[&key].get("k") == Some(&b"rotated"[..])
    })
    .await;
    assert!(!Arc::ptr_eq(&first.secrets, &source.snapshot().secrets));
    assert_eq!(first.secrets.len(), 3, "an old snapshot keeps its Secrets");

    // When nothing names it any more, the Secret is forgotten.
    api.delete("networking.k8s.io/v1", "Ingress", "shop", "api");
    until(&mut source, "forgotten secret", |s| {
        s.ingresses.len() == 1 && !secret_names(s).contains(&"api-tls".into())
    })
    .await;
    assert_eq!(source.referenced_secrets().0, 2, "dropped from memory");

    // A new consumer group is seen, at its v1beta1 path.
    api.apply(json!({
        "apiVersion": "configuration.konghq.com/v1beta1", "kind": "KongConsumerGroup",
        "metadata": {"name": "silver", "namespace": "shop"},
    }));
    until(&mut source, "new group", |s| {
        s.kong_consumer_groups.len() == 2
    })
    .await;
    assert!(
        api.requests()
            .iter()
            .any(|r| r.contains("/apis/configuration.konghq.com/v1beta1/kongconsumergroups")),
        "groups are read at v1beta1"
    );

    // A credential Secret appears through the label watch.
    api.apply(secret("shop", "bob-key", Some("key-auth")));
    until(&mut source, "credential", |s| {
        secret_names(s).contains(&"bob-key".into())
    })
    .await;
}

#[tokio::test]
async fn watch_namespaces_limit_namespaced_kinds_only() {
    let api = FakeApi::start().await;
    cluster_fixture(&api);
    api.apply(ingress("other", "elsewhere", "other-tls"));
    api.apply(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "proxy", "namespace": "kong"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
    }));
    // A cluster-scoped plugin may name a Secret in any namespace.
    api.apply(json!({
        "apiVersion": "configuration.konghq.com/v1", "kind": "KongClusterPlugin",
        "metadata": {"name": "lambda", "annotations": {"kubernetes.io/ingress.class": "kong"}},
        "plugin": "aws-lambda",
        "configFrom": {"secretKeyRef": {"name": "lambda", "namespace": "kong", "key": "config"}},
    }));
    api.apply(secret("kong", "lambda", None));
    let mut opts = options(&["shop"]);
    opts.publish_service = Some(("kong".into(), "proxy".into()));
    let source = ready(&api, opts, Metrics::new()).await;

    let set = source.snapshot();
    assert_eq!(
        set.ingresses
            .keys()
            .map(|k| k.0.as_str())
            .collect::<Vec<_>>(),
        ["shop"]
    );
    assert_eq!(
        set.kong_cluster_plugins.len(),
        2,
        "cluster-scoped kinds are cluster-wide"
    );
    // Outside the watched namespaces a referenced Secret has its own
    // per-name watch; inside, the namespace's metadata watch serves.
    assert!(
        set.secrets
            .contains_key(&("kong".to_string(), "lambda".to_string()))
    );
    assert!(
        set.secrets
            .contains_key(&("shop".to_string(), "web-tls".to_string()))
    );
    assert_eq!(source.referenced_secrets().1, 1);
    let services: Vec<_> = set.services.keys().cloned().collect();
    let key = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(services, [key("kong", "proxy"), key("shop", "web")]);
    for r in api.requests() {
        assert!(
            !r.starts_with("GET /apis/networking.k8s.io/v1/ingresses")
                && !r.starts_with("GET /api/v1/secrets"),
            "cluster-wide read: {r}"
        );
    }
}

#[tokio::test]
async fn outage_keeps_the_last_state_and_catches_up() {
    let api = FakeApi::start().await;
    cluster_fixture(&api);
    let mut source = ready(&api, options(&[]), Metrics::new()).await;
    let before = source.snapshot();

    api.set_down(true);
    let failed_from = api.requests().len();
    // Wait for the watches to notice (their retries hit the dead server).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while api.requests().len() < failed_from + 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "watchers did not retry"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let during = source.snapshot();
    assert_eq!(during.len(), before.len(), "the last state stays usable");
    assert!(source.is_ready());

    api.apply(ingress("shop", "while-down", "web-tls"));
    api.set_down(false);
    until(&mut source, "catch-up", |s| s.ingresses.len() == 2).await;
}

#[tokio::test]
async fn a_missing_consumer_group_crd_is_left_out_and_the_rest_becomes_ready() {
    let api = FakeApi::start().await;
    cluster_fixture(&api);
    assert!(super::consumer_groups_installed(&api.client()).await);
    api.uninstall("configuration.konghq.com/v1beta1", "KongConsumerGroup");
    assert!(!super::consumer_groups_installed(&api.client()).await);

    // Watching it anyway never lists: the source would never be ready.
    let mut stuck = ClusterSource::start(api.client(), options(&[]), Metrics::new());
    let waited = tokio::time::timeout(Duration::from_secs(2), stuck.wait_ready()).await;
    assert!(
        waited.is_err(),
        "a kind the server does not serve cannot list"
    );

    drop(stuck);

    let api = FakeApi::start().await;
    cluster_fixture(&api);
    api.uninstall("configuration.konghq.com/v1beta1", "KongConsumerGroup");
    let mut skipping = options(&[]);
    skipping.skip_consumer_groups = true;
    let source = ready(&api, skipping, Metrics::new()).await;
    let set = source.snapshot();
    assert!(set.kong_consumer_groups.is_empty());
    assert!(!set.ingresses.is_empty(), "the other kinds are read");
    assert!(
        !api.requests()
            .iter()
            .any(|r| r.contains("kongconsumergroups")),
        "the missing kind is not asked for: {:?}",
        api.requests()
    );
}

#[tokio::test]
async fn a_throttled_start_up_waits_as_asked_and_becomes_ready() {
    let api = FakeApi::start().await;
    cluster_fixture(&api);
    // API Priority and Fairness turns the first requests away.
    api.throttle(12, 1);
    let started = std::time::Instant::now();
    let client = super::honour_retry_after(api.client());
    let mut source = ClusterSource::start(client, options(&[]), Metrics::new());
    tokio::time::timeout(Duration::from_secs(20), source.wait_ready())
        .await
        .expect("ready despite 429s");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(
        secret_names(&source.snapshot()),
        ["alice-oauth2", "oidc-config", "web-tls"]
    );
}

#[tokio::test]
async fn config_maps_are_read_where_services_name_them_as_ca_bundles() {
    let api = FakeApi::start().await;
    cluster_fixture(&api);
    let map = |name: &str, pem: &str| {
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "shop"},
            "data": {"ca.crt": pem},
        })
    };
    api.apply(map("root-ca", "first"));
    // Named by nothing: never read.
    api.apply(map("kube-root-ca.crt", "cluster"));
    let mut source = ready(&api, options(&[]), Metrics::new()).await;
    assert!(source.snapshot().config_maps.is_empty());

    // A Service names the bundle: it is read, and followed when it changes.
    api.apply(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop",
                     "annotations": {"konghq.com/ca-certificates-configmaps": "root-ca"}},
        "spec": {"ports": [{"port": 80}]},
    }));
    let key = ("shop".to_string(), "root-ca".to_string());
    let pem = |s: &ObjectSet| {
        s.config_maps
            .get(&key)
            .and_then(|m| m.data.as_ref()?.get("ca.crt").cloned())
    };
    until(&mut source, "named config map", |s| {
        pem(s).as_deref() == Some("first")
    })
    .await;
    api.apply(map("root-ca", "rotated"));
    until(&mut source, "rotated config map", |s| {
        pem(s).as_deref() == Some("rotated")
    })
    .await;
    assert_eq!(source.snapshot().config_maps.len(), 1);
    assert!(
        !api.requests().iter().any(|r| r.contains("kube-root-ca.crt")
            || (r.contains("/configmaps") && !r.contains("metadata.name%3Droot-ca"))),
        "only the named ConfigMap is asked for: {:?}",
        api.requests()
    );
}
