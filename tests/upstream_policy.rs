//! KongUpstreamPolicy over real loopback upstreams: how the algorithms
//! spread requests, consistent-hashing stickiness, active health checks
//! taking a failing target out and back in, passive circuit breaking, and
//! Kong's 503 when no target is healthy.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::prometheus::{scrape, value};
use crate::support;
use kingress::model::{Algorithm, Balance, HashOn, Service, Thresholds};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use support::auth::plugin;
use support::client;
use support::proxy::{TestProxy, route, service, table};
use support::upstream::{Upstream, closed_port, tally, who};

fn with_policy(mut s: Service, balance: Balance) -> Service {
    s.balance = Some(Arc::new(balance));
    s
}

fn policy(algorithm: Algorithm) -> Balance {
    let mut b = Balance::new("default/policy");
    b.algorithm = algorithm;
    b
}

async fn start(service: Service) -> TestProxy {
    TestProxy::start(table(vec![route("r", &["/"], "svc")], vec![service])).await
}

async fn upstreams(names: &[&str]) -> (Vec<Upstream>, Vec<SocketAddr>) {
    let mut ups = Vec::new();
    for n in names {
        ups.push(Upstream::start(n).await);
    }
    let addrs = ups.iter().map(|u| u.addr).collect();
    (ups, addrs)
}

#[tokio::test]
async fn round_robin_spreads_evenly_and_least_connections_avoids_a_busy_target() {
    let (_ups, addrs) = upstreams(&["a", "b", "c"]).await;
    let proxy = start(with_policy(
        service("svc", &addrs),
        policy(Algorithm::RoundRobin),
    ))
    .await;
    let seen = tally(&proxy, "/", 30).await;
    assert_eq!(
        seen.values().copied().collect::<Vec<_>>(),
        [10, 10, 10],
        "{seen:?}"
    );

    let proxy = start(with_policy(
        service("svc", &addrs),
        policy(Algorithm::LeastConnections),
    ))
    .await;
    // A response whose body is still streaming keeps its target busy.
    let busy = client::http1()
        .get(proxy.http_url("/stream?chunks=20&delay_ms=100"))
        .send()
        .await
        .unwrap();
    assert_eq!(busy.status(), 200);
    let seen = tally(&proxy, "/", 12).await;
    assert_eq!(seen.len(), 2, "the busy target gets nothing: {seen:?}");
    assert_eq!(
        seen.values().copied().collect::<Vec<_>>(),
        [6, 6],
        "{seen:?}"
    );
    // The body ended: the target is free again.
    drop(busy);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let seen = tally(&proxy, "/", 12).await;
    assert_eq!(seen.len(), 3, "{seen:?}");
}

#[tokio::test]
async fn consistent_hashing_sticks_per_key_spreads_keys_and_sets_a_generated_cookie() {
    let (_ups, addrs) = upstreams(&["a", "b", "c"]).await;
    let mut sticky = policy(Algorithm::ConsistentHashing);
    sticky.hash_on = HashOn::Header("x-user".into());
    let proxy = start(with_policy(service("svc", &addrs), sticky)).await;
    let mut users_per_upstream: BTreeMap<String, usize> = BTreeMap::new();
    for user in 0..60 {
        let user = format!("user-{user}");
        let first = who(&proxy, "/", &[("x-user", &user)]).await;
        for _ in 0..3 {
            assert_eq!(
                who(&proxy, "/", &[("x-user", &user)]).await,
                first,
                "{user}"
            );
        }
        *users_per_upstream.entry(first).or_default() += 1;
    }
    assert_eq!(users_per_upstream.len(), 3, "{users_per_upstream:?}");
    for n in users_per_upstream.values() {
        assert!((8..=35).contains(n), "uneven: {users_per_upstream:?}");
    }

    let mut by_cookie = policy(Algorithm::ConsistentHashing);
    by_cookie.hash_on = HashOn::Cookie {
        name: "affinity".into(),
        path: "/app".into(),
    };
    let proxy = start(with_policy(service("svc", &addrs), by_cookie)).await;
    let response = client::http1()
        .get(proxy.http_url("/"))
        .send()
        .await
        .unwrap();
    let set = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    let first = client::json(response).await["upstream"]
        .as_str()
        .unwrap()
        .to_string();
    let (pair, attrs) = set.split_once("; ").unwrap();
    assert_eq!(attrs, "Path=/app");
    assert!(pair.starts_with("affinity=") && pair.len() > 30, "{set}");
    for _ in 0..5 {
        let response = client::http1()
            .get(proxy.http_url("/"))
            .header("cookie", pair)
            .send()
            .await
            .unwrap();
        assert!(response.headers().get("set-cookie").is_none());
        assert_eq!(client::json(response).await["upstream"], first.as_str());
    }
}

fn actively_checked() -> Balance {
    let mut b = policy(Algorithm::RoundRobin);
    let active = &mut b.healthchecks.active;
    active.path = "/status/200".into();
    active.timeout_ms = 500;
    active.healthy = Thresholds {
        interval_ms: 100,
        successes: 1,
        statuses: vec![200],
        ..Thresholds::default()
    };
    active.unhealthy = Thresholds {
        interval_ms: 100,
        tcp_failures: 1,
        http_failures: 1,
        statuses: vec![500, 503],
        ..Thresholds::default()
    };
    b
}

async fn health(proxy: &TestProxy) -> Vec<(String, String)> {
    let response = client::http1()
        .get(proxy.admin_url("/upstreams/svc/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = client::json(response).await;
    assert_eq!(body["total"], 2);
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let address = &t["data"]["addresses"][0];
            assert_eq!(address["health"], t["health"]);
            (
                t["target"].as_str().unwrap().to_string(),
                t["health"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn active_checks_take_a_failing_target_out_within_the_interval_and_back_after_recovery() {
    let a = Upstream::start("a").await;
    let b = Upstream::start("b").await;
    let a_addr = a.addr;
    let mut svc = with_policy(service("svc", &[a.addr, b.addr]), actively_checked());
    svc.retries = 0;
    let proxy = start(svc).await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(health(&proxy).await.iter().all(|(_, h)| h == "HEALTHY"));
    assert_eq!(tally(&proxy, "/", 10).await.len(), 2);

    // `a` stops: the next probe (100 ms) finds nothing listening.
    drop(a);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let states = health(&proxy).await;
    assert!(
        states.contains(&(a_addr.to_string(), "UNHEALTHY".into())),
        "{states:?}"
    );
    let seen = tally(&proxy, "/", 10).await;
    assert_eq!(seen, BTreeMap::from([("b".to_string(), 10)]));

    // `a` is back at its address: healthy after one good probe.
    let _a = Upstream::start_at("a", a_addr).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(health(&proxy).await.iter().all(|(_, h)| h == "HEALTHY"));
    let seen = tally(&proxy, "/", 10).await;
    assert_eq!(seen.get("a"), Some(&5), "{seen:?}");
}

#[tokio::test]
async fn passive_checks_break_the_circuit_and_all_unhealthy_is_kongs_503() {
    // A dead target breaks after one failed connection; its requests then
    // go to the live one without a retry.
    let live = Upstream::start("live").await;
    let dead = closed_port().await;
    let mut breaking = policy(Algorithm::RoundRobin);
    breaking.healthchecks.passive.unhealthy.tcp_failures = 1;
    let mut svc = with_policy(service("svc", &[live.addr, dead]), breaking);
    svc.retries = 0;
    let mut r = route("r", &["/"], "svc");
    r.plugins = vec![plugin(
        "prometheus",
        &serde_json::json!({"upstream_health_metrics": true}),
    )];
    let proxy = TestProxy::start(table(vec![r], vec![svc])).await;
    let before = tally(&proxy, "/", 4).await;
    assert_eq!(
        before.get("502"),
        Some(&1),
        "one failure opens the circuit: {before:?}"
    );
    let after = tally(&proxy, "/", 10).await;
    assert_eq!(after, BTreeMap::from([("live".to_string(), 10)]));
    let states = health(&proxy).await;
    assert!(
        states.contains(&(dead.to_string(), "UNHEALTHY".into())),
        "{states:?}"
    );
    let metrics = scrape(&proxy).await;
    for (target, healthy) in [(live.addr, 1.0), (dead, 0.0)] {
        let target = target.to_string();
        for (state, expected) in [
            ("healthy", healthy),
            ("unhealthy", 1.0 - healthy),
            ("healthchecks_off", 0.0),
        ] {
            let labels = [
                ("upstream", "svc"),
                ("target", target.as_str()),
                ("state", state),
            ];
            let got = value(&metrics, "kong_upstream_target_health", &labels);
            assert_eq!(got, expected, "{target} {state}");
        }
    }

    // Both answer 500 twice: both break, and Kong's ring-balancer 503 follows.
    let (_ups, addrs) = upstreams(&["a", "b"]).await;
    let mut on_status = policy(Algorithm::RoundRobin);
    on_status.healthchecks.passive.unhealthy.http_failures = 2;
    let proxy = start(with_policy(service("svc", &addrs), on_status)).await;
    for _ in 0..4 {
        assert_eq!(who(&proxy, "/status/500", &[]).await.len(), 1);
    }
    let response = client::http1()
        .get(proxy.http_url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(
        client::json(response).await,
        serde_json::json!({"message": "failure to get a peer from the ring-balancer"})
    );
}
