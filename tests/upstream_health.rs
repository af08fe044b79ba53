//! Target health beyond the plain checks of `upstream_policy`: HTTPS probes
//! verifying the target's certificate with the service's trust (Kong's
//! `https_verify_certificate`, `https_sni`), and the Admin API's
//! `/healthy` and `/unhealthy` writes steering real traffic.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::prometheus::{scrape, value};
use crate::support;
use kingress::model::{Algorithm, Balance, ProbeKind, Service, Thresholds, UpstreamTls};
use prometheus_parse::Scrape;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use support::auth::plugin;
use support::client;
use support::pki::Authority;
use support::proxy::{TestProxy, route, service, table};
use support::upstream::{Upstream, tally};

const NAME: &str = "probe.example";

/// Active HTTPS probes every 100 ms; one failure or success flips a target.
fn https_probes(verify: bool, sni: Option<&str>) -> Balance {
    let mut b = Balance::new("default/probes");
    b.algorithm = Algorithm::RoundRobin;
    let active = &mut b.healthchecks.active;
    active.kind = ProbeKind::Https;
    active.timeout_ms = 500;
    active.verify_certificate = verify;
    active.https_sni = sni.map(str::to_string);
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
        statuses: vec![500],
        ..Thresholds::default()
    };
    b
}

fn checked(name: &str, up: &Upstream, balance: Balance, tls: UpstreamTls) -> Service {
    let mut svc = service(name, &[up.addr]);
    svc.balance = Some(Arc::new(balance));
    svc.tls = Arc::new(tls);
    svc
}

/// `HEALTHY`/`UNHEALTHY` of each target of upstream `name`.
pub async fn health(proxy: &TestProxy, name: &str) -> Vec<(String, String)> {
    let response = client::http1()
        .get(proxy.admin_url(&format!("/upstreams/{name}/health")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = client::json(response).await;
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["target"].as_str().unwrap().to_string(),
                t["health"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn only_state(proxy: &TestProxy, name: &str) -> String {
    let states = health(proxy, name).await;
    assert_eq!(states.len(), 1, "{states:?}");
    states[0].1.clone()
}

#[tokio::test]
async fn https_probes_verify_the_certificate_with_the_services_trust_unless_told_not_to() {
    let ca = Authority::new("probe");
    let other = Authority::new("other");
    // The targets would take h2: probes, which speak HTTP/1.1, must not
    // offer it.
    let served = || {
        ca.server(&[NAME])
            .server_config(&[b"h2", b"http/1.1"], None)
    };
    let untrusted = Upstream::start_tls_with("untrusted", served()).await;
    let unverified = Upstream::start_tls_with("unverified", served()).await;
    let trusted = Upstream::start_tls_with("trusted", served()).await;
    let misnamed = Upstream::start_tls_with("misnamed", served()).await;
    let trust = |authority: &Authority| UpstreamTls {
        ca_certificates: vec![authority.root_pem()],
        ..UpstreamTls::default()
    };
    let services = vec![
        // Verification on (Kong's default) against a CA that did not sign
        // the target's certificate: the handshake fails, the target is out.
        checked(
            "untrusted",
            &untrusted,
            https_probes(true, Some(NAME)),
            trust(&other),
        ),
        // The same certificate with verification off: probes get through.
        checked(
            "unverified",
            &unverified,
            https_probes(false, Some(NAME)),
            trust(&other),
        ),
        // The service's CA signed it and the SNI names it. The service's own
        // `tls_verify` is off: the probe's setting decides.
        checked(
            "trusted",
            &trusted,
            https_probes(true, Some(NAME)),
            trust(&ca),
        ),
        // Trusted CA, but without `https_sni` the name checked is the
        // target's address, which the certificate does not name.
        checked("misnamed", &misnamed, https_probes(true, None), trust(&ca)),
    ];
    let routes = services
        .iter()
        .map(|s| route(&s.name, &[&format!("/{}", s.name)], &s.name))
        .collect();
    let proxy = TestProxy::start(table(routes, services)).await;
    tokio::time::sleep(Duration::from_millis(600)).await;

    assert_eq!(only_state(&proxy, "untrusted").await, "UNHEALTHY");
    assert_eq!(
        untrusted.requests(),
        0,
        "no request after a failed handshake"
    );
    assert_eq!(only_state(&proxy, "misnamed").await, "UNHEALTHY");
    assert_eq!(misnamed.requests(), 0);
    for (name, up) in [("unverified", &unverified), ("trusted", &trusted)] {
        assert_eq!(only_state(&proxy, name).await, "HEALTHY", "{name}");
        // Healthy because probes succeeded, not because none ran.
        assert!(up.requests() >= 2, "{name}: {} probes", up.requests());
        let seen = up.handshakes();
        assert_eq!(seen[0].sni.as_deref(), Some(NAME), "{name}: {seen:?}");
        assert_eq!(seen[0].alpn.as_deref(), Some("http/1.1"), "{name}");
    }
    // Unhealthy means no traffic: Kong's 503.
    let response = client::http1()
        .get(proxy.http_url("/untrusted"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
}

#[tokio::test]
async fn a_new_ca_bundle_reaches_the_probes_of_an_unchanged_upstream() {
    let ca = Authority::new("probe");
    let other = Authority::new("other");
    let up = Upstream::start_tls_with("a", ca.server(&[NAME]).server_config(&[], None)).await;
    let with_ca = |authority: &Authority| {
        let tls = UpstreamTls {
            ca_certificates: vec![authority.root_pem()],
            ..UpstreamTls::default()
        };
        let svc = checked("svc", &up, https_probes(true, Some(NAME)), tls);
        table(vec![route("r", &["/"], "svc")], vec![svc])
    };
    let proxy = TestProxy::start(with_ca(&other)).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(only_state(&proxy, "svc").await, "UNHEALTHY");
    // Same targets and policy, so the same balancer; only the CA changed.
    proxy.table.publish(with_ca(&ca));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(only_state(&proxy, "svc").await, "HEALTHY");
}

/// Passive checks only (one TCP failure breaks a target): the balancer
/// keeps health, and nothing changes it while the targets answer.
fn passively_checked() -> Balance {
    let mut b = Balance::new("default/passive");
    b.healthchecks.passive.unhealthy.tcp_failures = 1;
    b
}

async fn send(proxy: &TestProxy, method: reqwest::Method, path: &str) -> (u16, String) {
    let response = client::http1()
        .request(method, proxy.admin_url(path))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

fn health_metric(metrics: &Scrape, target: &str, state: &str) -> f64 {
    let labels = [("upstream", "svc"), ("target", target), ("state", state)];
    value(metrics, "kong_upstream_target_health", &labels)
}

#[tokio::test]
async fn admin_health_writes_take_a_target_out_of_traffic_and_back() {
    let a = Upstream::start("a").await;
    let b = Upstream::start("b").await;
    let (a_name, b_name) = (a.addr.to_string(), b.addr.to_string());
    let mut svc = service("svc", &[a.addr, b.addr]);
    svc.balance = Some(Arc::new(passively_checked()));
    let mut r = route("r", &["/"], "svc");
    r.plugins = vec![plugin(
        "prometheus",
        &serde_json::json!({"upstream_health_metrics": true}),
    )];
    let proxy = TestProxy::start(table(vec![r], vec![svc])).await;
    assert_eq!(tally(&proxy, "/", 10).await.len(), 2);

    // Kong 3's PUT, by `host:port`: 204 without a body.
    let (status, body) = send(
        &proxy,
        reqwest::Method::PUT,
        &format!("/upstreams/svc/targets/{a_name}/unhealthy"),
    )
    .await;
    assert_eq!((status, body.as_str()), (204, ""));
    let states = health(&proxy, "svc").await;
    assert!(
        states.contains(&(a_name.clone(), "UNHEALTHY".into())),
        "{states:?}"
    );
    assert!(states.contains(&(b_name.clone(), "HEALTHY".into())));
    assert_eq!(
        tally(&proxy, "/", 10).await,
        BTreeMap::from([("b".to_string(), 10)])
    );
    assert_eq!(a.requests(), 5, "a got nothing after the write");
    let metrics = scrape(&proxy).await;
    assert_eq!(health_metric(&metrics, &a_name, "unhealthy"), 1.0);
    assert_eq!(health_metric(&metrics, &a_name, "healthy"), 0.0);
    assert_eq!(health_metric(&metrics, &b_name, "healthy"), 1.0);

    // Kong 2's POST, by the target's id and with its address: back in.
    let targets = client::json(
        client::http1()
            .get(proxy.admin_url("/upstreams/svc/targets"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let id = targets["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["target"] == a_name.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = send(
        &proxy,
        reqwest::Method::POST,
        &format!("/upstreams/svc/targets/{id}/127.0.0.1/healthy"),
    )
    .await;
    assert_eq!(status, 204);
    assert!(
        health(&proxy, "svc")
            .await
            .iter()
            .all(|(_, h)| h == "HEALTHY")
    );
    assert_eq!(
        tally(&proxy, "/", 10).await,
        BTreeMap::from([("a".to_string(), 5), ("b".to_string(), 5)])
    );
    let metrics = scrape(&proxy).await;
    assert_eq!(health_metric(&metrics, &a_name, "healthy"), 1.0);
    assert_eq!(health_metric(&metrics, &a_name, "unhealthy"), 0.0);

    // Kong's refusals.
    let not_found = r#"{"message":"Not found"}"#;
    for path in [
        format!("/upstreams/nope/targets/{a_name}/unhealthy"),
        "/upstreams/svc/targets/127.0.0.1:1/unhealthy".to_string(),
    ] {
        let (status, body) = send(&proxy, reqwest::Method::PUT, &path).await;
        assert_eq!((status, body.as_str()), (404, not_found), "{path}");
    }
    let (status, body) = send(
        &proxy,
        reqwest::Method::PUT,
        &format!("/upstreams/svc/targets/{a_name}/10.9.9.9/unhealthy"),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = send(
        &proxy,
        reqwest::Method::GET,
        &format!("/upstreams/svc/targets/{a_name}/unhealthy"),
    )
    .await;
    assert_eq!(status, 405);
    assert!(
        health(&proxy, "svc")
            .await
            .iter()
            .all(|(_, h)| h == "HEALTHY")
    );
}

#[tokio::test]
async fn an_upstream_without_health_checks_refuses_as_kong_and_probes_overrule_a_write() {
    let a = Upstream::start("a").await;
    let a_name = a.addr.to_string();
    let plain = service("plain", &[a.addr]);
    let mut probed = service("svc", &[a.addr]);
    let mut balance = Balance::new("default/active");
    balance.healthchecks.active.healthy = Thresholds {
        interval_ms: 200,
        successes: 3,
        statuses: vec![200],
        ..Thresholds::default()
    };
    balance.healthchecks.active.unhealthy = Thresholds {
        interval_ms: 200,
        tcp_failures: 1,
        ..Thresholds::default()
    };
    probed.balance = Some(Arc::new(balance));
    let routes = vec![route("p", &["/plain"], "plain"), route("r", &["/"], "svc")];
    let proxy = TestProxy::start(table(routes, vec![plain, probed])).await;

    let (status, body) = send(
        &proxy,
        reqwest::Method::PUT,
        &format!("/upstreams/plain/targets/{a_name}/unhealthy"),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (400, r#"{"message":"no healthchecker found for plain"}"#)
    );

    // Marked unhealthy by hand, the target is out until the probes (which
    // see it answer) count three successes.
    let (status, _) = send(
        &proxy,
        reqwest::Method::PUT,
        &format!("/upstreams/svc/targets/{a_name}/unhealthy"),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(only_state(&proxy, "svc").await, "UNHEALTHY");
    assert_eq!(
        tally(&proxy, "/", 1).await,
        BTreeMap::from([("503".into(), 1)])
    );
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(only_state(&proxy, "svc").await, "HEALTHY");
    assert_eq!(
        tally(&proxy, "/", 2).await,
        BTreeMap::from([("a".into(), 2)])
    );
}
