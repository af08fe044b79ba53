//! kong.yml `upstreams:` and `targets:`: a service whose `host` names an
//! upstream is balanced over its targets with its algorithm and health
//! checks (real loopback upstreams behind the in-process proxy), the Admin
//! API shows the upstream under its own name in Kong's shape, and bad
//! fields refuse the document with Kong's messages.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;
use kingress::kong::Document;
use kingress::model::{Algorithm, HashOn};
use kingress::translate::{Options, Translation, translate};
use std::collections::BTreeMap;
use std::time::Duration;
use support::client;
use support::proxy::TestProxy;
use support::upstream::{Upstream, tally};

fn load(text: &str) -> Translation {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kong.yml"), text).unwrap();
    let objects = kingress::source::files::load(dir.path()).unwrap();
    translate(&objects, &Options::default())
}

/// Upstream `shop.upstream` (active HTTP checks every 100 ms) with targets
/// `a` and `b`, `c` at weight 0; service `shop` uses it by its host.
fn document(a: &Upstream, b: &Upstream, c: &Upstream) -> String {
    format!(
        r#"_format_version: "3.0"
services:
  - name: shop
    host: shop.upstream
    port: 1
    retries: 0
    routes:
      - name: shop
        paths: [/]
upstreams:
  - name: shop.upstream
    algorithm: least-connections
    host_header: shop.example
    healthchecks:
      active:
        http_path: /status/200
        timeout: 0.5
        healthy: {{interval: 0.1, successes: 1}}
        unhealthy: {{interval: 0.1, tcp_failures: 1}}
    targets:
      - target: {a}
      - target: {b}
        weight: 100
targets:
  - target: {c}
    upstream: shop.upstream
    weight: 0
"#,
        a = a.addr,
        b = b.addr,
        c = c.addr
    )
}

async fn admin(proxy: &TestProxy, path: &str) -> serde_json::Value {
    let response = client::http1()
        .get(proxy.admin_url(path))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    client::json(response).await
}

#[tokio::test]
async fn a_service_naming_an_upstream_is_balanced_and_checked_over_its_targets() {
    let a = Upstream::start("a").await;
    let b = Upstream::start("b").await;
    let c = Upstream::start("c").await;
    let t = load(&document(&a, &b, &c));
    assert_eq!(t.problems, vec![]);
    let service = &t.table.services["shop"];
    let balance = service.balance.as_deref().unwrap();
    assert_eq!(balance.algorithm, Algorithm::LeastConnections);
    assert_eq!(balance.hash_on, HashOn::None);
    assert_eq!(balance.healthchecks.active.healthy.interval_ms, 100);
    assert_eq!(service.host_header.as_deref(), Some("shop.example"));
    let a_addr = a.addr;
    let proxy = TestProxy::start(t.table).await;

    // Weight 0 takes `c` out; the port of the service is not used.
    let seen = tally(&proxy, "/", 10).await;
    assert_eq!(
        seen,
        BTreeMap::from([("a".to_string(), 5), ("b".to_string(), 5)])
    );
    assert_eq!(c.requests(), 0);

    // The Admin API shows the upstream under its own name, in Kong's shape.
    let list = admin(&proxy, "/upstreams").await;
    let names = support::upstream::names(&list);
    assert_eq!(names, ["shop.upstream"]);
    let upstream = admin(&proxy, "/upstreams/shop.upstream").await;
    assert_eq!(upstream["algorithm"], "least-connections");
    assert_eq!(upstream["host_header"], "shop.example");
    assert_eq!(
        upstream["healthchecks"]["active"]["http_path"],
        "/status/200"
    );
    assert_eq!(upstream["healthchecks"]["active"]["timeout"], 0.5);
    assert_eq!(
        upstream["healthchecks"]["active"]["unhealthy"]["tcp_failures"],
        1
    );
    let by_id = admin(
        &proxy,
        &format!("/upstreams/{}", upstream["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(by_id["name"], "shop.upstream");
    let targets = admin(&proxy, "/upstreams/shop.upstream/targets").await;
    assert_eq!(targets["data"].as_array().unwrap().len(), 2);
    assert_eq!(targets["data"][0]["upstream"]["id"], upstream["id"]);
    let service = admin(&proxy, "/services/shop").await;
    assert_eq!(service["host"], "shop.upstream");

    // `a` stops: the probes take it out, the health endpoint says so.
    drop(a);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let health = admin(&proxy, "/upstreams/shop.upstream/health").await;
    let states: BTreeMap<String, String> = health["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["target"].as_str().unwrap().to_string(),
                t["health"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(states[&a_addr.to_string()], "UNHEALTHY", "{states:?}");
    assert_eq!(states[&b.addr.to_string()], "HEALTHY", "{states:?}");
    assert_eq!(
        tally(&proxy, "/", 6).await,
        BTreeMap::from([("b".to_string(), 6)])
    );
    // The host the targets see is the upstream's host_header.
    let echo = client::json(
        client::http1()
            .get(proxy.http_url("/"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(echo["headers"]["host"], "shop.example", "{echo}");
}

#[tokio::test]
async fn target_weights_share_the_traffic_and_weight_zero_gets_none() {
    let a = Upstream::start("a").await;
    let b = Upstream::start("b").await;
    let c = Upstream::start("c").await;
    let text = format!(
        r#"_format_version: "3.0"
services:
  - name: shop
    host: shop.upstream
    routes:
      - name: shop
        paths: [/]
upstreams:
  - name: shop.upstream
    targets:
      - target: {a}
        weight: 1
      - target: {b}
        weight: 3
      - target: {c}
        weight: 0
"#,
        a = a.addr,
        b = b.addr,
        c = c.addr
    );
    let t = load(&text);
    assert_eq!(t.problems, vec![], "weights are honoured, not reported");
    let weights: Vec<u32> = t.table.services["shop"]
        .targets
        .iter()
        .map(|t| t.weight)
        .collect();
    assert_eq!(weights, [1, 3]);
    let proxy = TestProxy::start(t.table).await;
    // Kong's round-robin wheel: exactly 1:3 over whole turns.
    assert_eq!(
        tally(&proxy, "/", 400).await,
        BTreeMap::from([("a".to_string(), 100), ("b".to_string(), 300)])
    );
    assert_eq!(c.requests(), 0);
    let targets = admin(&proxy, "/upstreams/shop.upstream/targets").await;
    let shown: Vec<i64> = targets["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["weight"].as_i64().unwrap())
        .collect();
    assert_eq!(shown, [1, 3]);
}

#[tokio::test]
async fn services_sharing_an_upstream_share_its_probes_position_and_health() {
    let a = Upstream::start("a").await;
    let b = Upstream::start("b").await;
    let text = format!(
        r#"_format_version: "3.0"
services:
  - name: shop-a
    host: shop.upstream
    retries: 0
    routes: [{{name: a, paths: [/a]}}]
  - name: shop-b
    host: shop.upstream
    retries: 0
    routes: [{{name: b, paths: [/b]}}]
upstreams:
  - name: shop.upstream
    healthchecks:
      active:
        http_path: /probe
        healthy: {{interval: 0.2, successes: 1}}
        unhealthy: {{interval: 0.2, tcp_failures: 1}}
    targets:
      - target: {a}
      - target: {b}
"#,
        a = a.addr,
        b = b.addr,
    );
    let t = load(&text);
    assert_eq!(t.problems, vec![]);
    let proxy = TestProxy::start(t.table).await;
    // One probe task for the upstream: about five probes a second per
    // target, where a task per service would send ten.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let probes = (a.requests(), b.requests());
    assert!((2..=8).contains(&probes.0), "{probes:?}");
    assert!((2..=8).contains(&probes.1), "{probes:?}");

    // One round-robin position: alternating between the services walks
    // the upstream's wheel once, so each service keeps meeting one target.
    let mut seen = BTreeMap::new();
    for _ in 0..4 {
        for path in ["/a", "/b"] {
            let who = support::upstream::who(&proxy, path, &[]).await;
            *seen.entry((path, who)).or_insert(0) += 1;
        }
    }
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen.values().all(|n| *n == 4), "{seen:?}");

    // One health state: `a` stops, both services leave it.
    drop(a);
    tokio::time::sleep(Duration::from_millis(700)).await;
    for path in ["/a", "/b"] {
        assert_eq!(
            tally(&proxy, path, 4).await,
            BTreeMap::from([("b".to_string(), 4)]),
            "{path}"
        );
    }
    let health = admin(&proxy, "/upstreams/shop.upstream/health").await;
    assert_eq!(health["total"], 2);
    let unhealthy = health["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["health"] == "UNHEALTHY")
        .count();
    assert_eq!(unhealthy, 1, "{health}");
}

#[test]
fn upstreams_round_trip_and_bad_fields_get_kongs_messages() {
    let text = r#"_format_version: "3.0"
upstreams:
  - name: sticky
    hash_on: cookie
    hash_on_cookie: session
    hash_on_cookie_path: /shop
    slots: 100
    targets:
      - target: 10.0.0.1:8080
      - target: example.internal
"#;
    let doc = Document::parse(text, 0).unwrap();
    assert_eq!(doc.upstreams.len(), 1);
    // hash_on other than none: consistent hashing, as Kong's shorthand.
    assert_eq!(doc.upstreams[0].algorithm, "consistent-hashing");
    let targets: Vec<&str> = doc.targets.iter().map(|t| t.target.as_str()).collect();
    assert_eq!(targets, ["10.0.0.1:8080", "example.internal:8000"]);
    let again = Document::parse(&doc.to_yaml(), 0).unwrap();
    assert_eq!(again, doc);

    let bad = r#"_format_version: "3.0"
upstreams:
  - name: bad.upstream
    slots: 5
    hash_on: header
    healthchecks:
      active:
        http_path: nope
        unhealthy: {http_failures: 300}
targets:
  - target: 10.0.0.1:1
    upstream: nowhere
"#;
    let err = Document::parse(bad, 0).unwrap_err().to_string();
    for expected in [
        "upstreams[0] (name 'bad.upstream'): 4 schema violations (",
        "slots: value should be between 10 and 65536",
        "hash_on_header: required field missing",
        "healthchecks.active.http_path: should start with: /",
        "healthchecks.active.unhealthy.http_failures: value should be between 0 and 255",
        "targets[0] (target '10.0.0.1:1'): foreign key violation (upstream: the foreign key \
         'nowhere' does not reference an existing 'upstreams' entity.)",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in {err}");
    }
}
