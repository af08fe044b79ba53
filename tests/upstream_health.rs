//! Target health beyond the plain checks of `upstream_policy`: HTTPS probes
//! verifying the target's certificate with the service's trust (Kong's
//! `https_verify_certificate`, `https_sni`), and the Admin API's
//! `/healthy` and `/unhealthy` writes steering real traffic.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;
use kingress::model::{Algorithm, Balance, ProbeKind, Service, Thresholds, UpstreamTls};
use std::sync::Arc;
use std::time::Duration;
use support::client;
use support::pki::Authority;
use support::proxy::{TestProxy, route, service, table};
use support::upstream::Upstream;

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
