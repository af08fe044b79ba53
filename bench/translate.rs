//! `translate` at scale: 10,000 Ingresses (two paths each, in 100
//! namespaces) with their Services and EndpointSlices (three endpoints), an
//! oauth2 KongPlugin on every tenth Ingress, an openid-connect KongPlugin on
//! every tenth Service, and 300 KongConsumers with an oauth2 credential each.
//!
//! Also `translate_cached` after one Ingress changed (the control plane's
//! path on an edit): two object sets that differ in one Ingress, translated
//! in turn with one memo.
//!
//! `cargo bench --bench translate` (add `-- --quick` for a short run).
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use criterion::{Criterion, criterion_group, criterion_main};
use kingress::objects::{Object, ObjectSet};
use kingress::translate::{Memo, Options, translate, translate_cached};
use serde_json::{Value, json};
use std::hint::black_box;
use std::sync::Arc;

const INGRESSES: usize = 10_000;
const NAMESPACES: usize = 100;
const CONSUMERS: usize = 300;

fn objects() -> ObjectSet {
    let mut docs: Vec<Value> = Vec::new();
    for n in 0..NAMESPACES {
        let ns = format!("team-{n}");
        docs.push(json!({
            "apiVersion": "configuration.konghq.com/v1", "kind": "KongPlugin",
            "metadata": {"name": "oauth2", "namespace": ns},
            "plugin": "oauth2",
            "config": {"enable_client_credentials": true, "global_credentials": true}
        }));
        docs.push(json!({
            "apiVersion": "configuration.konghq.com/v1", "kind": "KongPlugin",
            "metadata": {"name": "oidc", "namespace": ns},
            "plugin": "openid-connect",
            "config": {
                "issuer": "http://keycloak.test:8080/auth/realms/master",
                "client_id": "kong",
                "client_auth": "private_key_jwt",
                "auth_methods": ["kong_oauth2"],
                "bearer_token_param_type": ["header"]
            }
        }));
    }
    for i in 0..INGRESSES {
        let ns = format!("team-{}", i % NAMESPACES);
        let name = format!("app-{i}");
        let mut ingress_annotations = json!({});
        if i % 10 == 0 {
            ingress_annotations = json!({"konghq.com/plugins": "oauth2"});
        }
        let mut service_annotations = json!({});
        if i % 10 == 5 {
            service_annotations = json!({"konghq.com/plugins": "oidc"});
        }
        let backend = json!({"service": {"name": name, "port": {"number": 80}}});
        docs.push(json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": ns, "annotations": ingress_annotations},
            "spec": {
                "ingressClassName": "kong",
                "rules": [{
                    "host": format!("{name}.example.com"),
                    "http": {"paths": [
                        {"path": "/api", "pathType": "Prefix", "backend": backend},
                        // One regex per namespace: patterns recur, but not all alike.
                        {"path": format!("/~/v[0-9]+/{ns}/items"), "pathType": "ImplementationSpecific",
                         "backend": backend}
                    ]}
                }]
            }
        }));
        docs.push(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "annotations": service_annotations},
            "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}
        }));
        let ip = |k: usize| format!("10.{}.{}.{}", i / 250 % 250, i % 250, k);
        docs.push(json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": format!("{name}-abcde"), "namespace": ns,
                         "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [
                {"addresses": [ip(1)], "conditions": {"ready": true}},
                {"addresses": [ip(2)], "conditions": {"ready": true}},
                {"addresses": [ip(3)], "conditions": {"ready": false}}
            ]
        }));
    }
    for c in 0..CONSUMERS {
        let ns = format!("team-{}", c % NAMESPACES);
        docs.push(json!({
            "apiVersion": "configuration.konghq.com/v1", "kind": "KongConsumer",
            "metadata": {"name": format!("user-{c}"), "namespace": ns,
                         "annotations": {"kubernetes.io/ingress.class": "kong"}},
            "username": format!("user-{c}"),
            "credentials": [format!("user-{c}-oauth2")]
        }));
        docs.push(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": format!("user-{c}-oauth2"), "namespace": ns,
                         "labels": {"konghq.com/credential": "oauth2"}},
            "stringData": {
                "name": format!("app-{c}"),
                "client_id": format!("client-{c}"),
                "client_secret": format!("secret-{c}"),
                "hash_secret": "true",
                "redirect_uris": "https://app.example.com/cb"
            }
        }));
    }
    let mut objects = ObjectSet::default();
    for doc in docs {
        objects.apply(Object::from_value(doc).expect("bench objects are valid"));
    }
    objects
}

fn bench(c: &mut Criterion) {
    let objects = objects();
    let options = Options::default();
    let check = translate(&objects, &options);
    assert_eq!(check.table.routes.len(), INGRESSES);
    assert_eq!(check.table.credentials.oauth2_all().count(), CONSUMERS);
    assert!(check.problems.is_empty(), "{:?}", &check.problems[..1]);
    c.bench_function("translate 10k ingresses, 300 consumers", |b| {
        b.iter(|| translate(black_box(&objects), black_box(&options)))
    });

    // The same objects with one Ingress edited (a path renamed).
    let mut edited = objects.clone();
    let (key, first) = edited.ingresses.iter().next().expect("ingresses");
    let (key, mut ingress) = (key.clone(), first.as_ref().clone());
    let rule = ingress.rules.first_mut().expect("a rule");
    rule.paths[0].path = Some("/edited".into());
    Arc::make_mut(&mut edited.ingresses).insert(key, Arc::new(ingress));
    let mut memo = Memo::new();
    assert_eq!(translate_cached(&objects, &options, &mut memo), check);
    let sets = [&edited, &objects];
    let mut turn = 0;
    c.bench_function("translate_cached, one of 10k ingresses edited", |b| {
        b.iter(|| {
            turn += 1;
            translate_cached(black_box(sets[turn % 2]), black_box(&options), &mut memo)
        })
    });
    // The iteration count (and so which set went last) varies: check the
    // reuse on a known pair of calls.
    translate_cached(&objects, &options, &mut memo);
    translate_cached(&edited, &options, &mut memo);
    assert_eq!(memo.reused().ingresses, INGRESSES - 1);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
