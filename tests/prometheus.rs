//! Kong's `prometheus` plugin through the real proxy on loopback: Kong's
//! series on the status listener's `/metrics`, read with a Prometheus
//! text-format parser. Cases from Kong's `spec/03-plugins/26-prometheus/`
//! (`02-access_spec.lua`, `05-metrics_spec.lua`,
//! `07-optional_fields_spec.lua`), named per test.
//!
//! - `prometheus/admin.rs`: the Admin API and kong.yml round trip of
//!   prometheus, http-log and file-log with the real binary;
//! - `prometheus/dashboard.rs`: every query of Kong's Grafana dashboard
//!   (`kong/plugins/prometheus/grafana/kong-official.json`) finds series.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

#[path = "prometheus/admin.rs"]
mod admin;
#[path = "prometheus/dashboard.rs"]
mod dashboard;

use kingress::model::plugin::order_plugins;
use kingress::model::{CredentialType, PluginInstance, Table};
use prometheus_parse::{Sample, Scrape, Value as Metric};
use serde_json::{Value, json};
use support::auth::{consumer, credential, get, plugin};
use support::proxy::{TestProxy, route, service, table};
use support::upstream::Upstream;

/// Every switch on.
pub fn all_on() -> Value {
    json!({"per_consumer": true, "status_code_metrics": true, "latency_metrics": true,
           "bandwidth_metrics": true, "upstream_health_metrics": true})
}

/// `/metrics` of the status listener, parsed.
pub async fn scrape(proxy: &TestProxy) -> Scrape {
    let text = support::client::http1()
        .get(proxy.status_url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap()
}

/// The samples called `name` whose labels include `labels`.
pub fn find<'a>(scrape: &'a Scrape, name: &str, labels: &[(&str, &str)]) -> Vec<&'a Sample> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .collect()
}

/// The value of the one sample `name` with `labels`.
pub fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found = find(scrape, name, labels);
    assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
    match &found[0].value {
        Metric::Counter(v) | Metric::Gauge(v) | Metric::Untyped(v) => *v,
        other => panic!("{name} is not a number: {other:?}"),
    }
}

/// The histogram `name` with `labels`: (bucket bounds, cumulative counts).
fn histogram(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> (Vec<f64>, Vec<f64>) {
    let found = find(scrape, name, labels);
    assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
    match &found[0].value {
        Metric::Histogram(buckets) => (
            buckets.iter().map(|b| b.less_than).collect(),
            buckets.iter().map(|b| b.count).collect(),
        ),
        other => panic!("{name} is not a histogram: {other:?}"),
    }
}

fn bob(t: &mut Table) {
    let id = consumer(t, "bob");
    credential(t, CredentialType::KeyAuth, &id, json!({"key": "kong"}));
}

/// The `api` route on `/` with key-auth (anonymous allowed) and
/// prometheus, to a recording upstream.
pub async fn with(config: Value) -> (Upstream, TestProxy) {
    let mut plugins: Vec<PluginInstance> = vec![
        plugin("key-auth", &json!({"anonymous": "anon-id"})),
        plugin("prometheus", &config),
    ];
    order_plugins(&mut plugins);
    let up = Upstream::start("api").await;
    let mut r = route("api", &["/"], "api");
    r.plugins = plugins;
    let mut t = table(vec![r], vec![service("api", &[up.addr])]);
    bob(&mut t);
    consumer(&mut t, "anon");
    kingress::secret::Sealer::new().seal(&mut t);
    (up, TestProxy::start(t).await)
}

/// Waits until the log phase of the last request has run (it runs once the
/// response has been sent, after the client may have read it).
pub async fn settle() {
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
}

#[tokio::test]
async fn increments_the_count_for_proxied_requests() {
    // 02-access_spec: "increments the count for proxied requests"
    let (_up, proxy) = with(all_on()).await;
    assert_eq!(get(&proxy, "/", &[]).await.status, 200);
    settle().await;
    let m = scrape(&proxy).await;
    let labels = [
        ("service", "api"),
        ("route", "api"),
        ("code", "200"),
        ("source", "service"),
        ("workspace", "default"),
        ("consumer", "anon"),
    ];
    assert_eq!(value(&m, "kong_http_requests_total", &labels), 1.0);
    get(&proxy, "/status/200", &[]).await;
    get(&proxy, "/x", &[("apikey", "kong")]).await;
    settle().await;
    let m = scrape(&proxy).await;
    assert_eq!(value(&m, "kong_http_requests_total", &labels), 2.0);
    let bob = [("route", "api"), ("code", "200"), ("consumer", "bob")];
    assert_eq!(value(&m, "kong_http_requests_total", &bob), 1.0);
    // kingress's own series are still there.
    assert!(!find(&m, "kingress_requests_total", &[("route", "api")]).is_empty());
}

#[tokio::test]
async fn latency_histograms_have_kong_buckets() {
    // 05-metrics_spec: kong_kong_latency_ms, kong_upstream_latency_ms,
    // kong_request_latency_ms with Kong's buckets.
    let (_up, proxy) = with(all_on()).await;
    get(&proxy, "/delay/30", &[]).await;
    settle().await;
    let m = scrape(&proxy).await;
    let labels = [
        ("service", "api"),
        ("route", "api"),
        ("workspace", "default"),
    ];
    let (bounds, counts) = histogram(&m, "kong_kong_latency_ms", &labels);
    let kong: Vec<f64> = vec![
        1.,
        2.,
        5.,
        7.,
        10.,
        15.,
        20.,
        30.,
        50.,
        75.,
        100.,
        200.,
        500.,
        750.,
        1000.,
        3000.,
        6000.,
        f64::INFINITY,
    ];
    assert_eq!(bounds, kong);
    assert_eq!(*counts.last().unwrap(), 1.0);
    let upstream: Vec<f64> = vec![
        25.,
        50.,
        80.,
        100.,
        250.,
        400.,
        700.,
        1000.,
        2000.,
        5000.,
        10000.,
        30000.,
        60000.,
        f64::INFINITY,
    ];
    for name in ["kong_upstream_latency_ms", "kong_request_latency_ms"] {
        let (bounds, counts) = histogram(&m, name, &labels);
        assert_eq!(bounds, upstream, "{name}");
        // The upstream waited 30 ms: not in the 25 ms bucket, in all others.
        assert_eq!(counts[0], 0.0, "{name}");
        assert_eq!(*counts.last().unwrap(), 1.0, "{name}");
    }
}

#[tokio::test]
async fn bandwidth_counts_both_directions() {
    // 05-metrics_spec: kong_bandwidth_bytes{direction="ingress"|"egress"}
    let (_up, proxy) = with(all_on()).await;
    get(&proxy, "/", &[]).await;
    settle().await;
    let m = scrape(&proxy).await;
    let egress = value(
        &m,
        "kong_bandwidth_bytes",
        &[
            ("direction", "egress"),
            ("route", "api"),
            ("consumer", "anon"),
        ],
    );
    let ingress = value(
        &m,
        "kong_bandwidth_bytes",
        &[("direction", "ingress"), ("route", "api")],
    );
    assert!(egress > 100.0, "egress {egress}");
    assert!(ingress > 20.0, "ingress {ingress}");
    get(&proxy, "/", &[]).await;
    settle().await;
    let m = scrape(&proxy).await;
    let again = value(
        &m,
        "kong_bandwidth_bytes",
        &[("direction", "egress"), ("route", "api")],
    );
    assert!(again > egress * 1.5, "{again} after {egress}");
}

#[tokio::test]
async fn switches_off_export_no_request_series() {
    // 07-optional_fields_spec: with every switch off, no per-request series.
    let (_up, proxy) = with(json!({})).await;
    get(&proxy, "/", &[]).await;
    settle().await;
    let m = scrape(&proxy).await;
    for name in [
        "kong_http_requests_total",
        "kong_bandwidth_bytes",
        "kong_request_latency_ms",
        "kong_upstream_target_health",
    ] {
        assert!(find(&m, name, &[]).is_empty(), "{name} exported while off");
    }
    // The global series are always there.
    assert_eq!(value(&m, "kong_datastore_reachable", &[]), 1.0);
    assert!(value(&m, "kong_nginx_connections_total", &[("state", "accepted")]) >= 1.0);
}

#[tokio::test]
async fn per_consumer_off_leaves_the_consumer_label_empty() {
    // 07-optional_fields_spec: per_consumer = false
    let (_up, proxy) = with(json!({"status_code_metrics": true, "bandwidth_metrics": true})).await;
    get(&proxy, "/", &[("apikey", "kong")]).await;
    settle().await;
    let m = scrape(&proxy).await;
    assert_eq!(
        value(
            &m,
            "kong_http_requests_total",
            &[("route", "api"), ("consumer", "")]
        ),
        1.0
    );
    assert!(find(&m, "kong_http_requests_total", &[("consumer", "bob")]).is_empty());
    assert!(
        find(&m, "kong_request_latency_ms", &[]).is_empty(),
        "latency off"
    );
}

#[tokio::test]
async fn an_answer_from_kong_has_source_kong() {
    // 02-access_spec: "increments the count for proxied requests" with a
    // failing upstream: Kong answers, source="kong".
    let (up, proxy) = with(all_on()).await;
    drop(up);
    let reply = get(&proxy, "/", &[]).await;
    assert!(reply.status.as_u16() >= 500, "{}", reply.status);
    settle().await;
    let m = scrape(&proxy).await;
    let code = reply.status.as_u16().to_string();
    let labels = [
        ("route", "api"),
        ("code", code.as_str()),
        ("source", "kong"),
    ];
    assert_eq!(value(&m, "kong_http_requests_total", &labels), 1.0);
    // No upstream answered: no upstream latency, but Kong's latency.
    assert!(find(&m, "kong_upstream_latency_ms", &[("route", "api")]).is_empty());
    assert!(!find(&m, "kong_kong_latency_ms", &[("route", "api")]).is_empty());
}

#[tokio::test]
async fn upstream_target_health_reports_healthchecks_off() {
    // 04-status_api_spec: kong_upstream_target_health with every state,
    // `healthchecks_off` set when no health checks run.
    let (up, proxy) = with(all_on()).await;
    let m = scrape(&proxy).await;
    let target = format!("{}", up.addr);
    let base = [
        ("upstream", "api"),
        ("target", target.as_str()),
        ("subsystem", "http"),
    ];
    for (state, expected) in [
        ("healthchecks_off", 1.0),
        ("healthy", 0.0),
        ("unhealthy", 0.0),
        ("dns_error", 0.0),
    ] {
        let mut labels = base.to_vec();
        labels.push(("state", state));
        assert_eq!(
            value(&m, "kong_upstream_target_health", &labels),
            expected,
            "{state}"
        );
    }
}

#[tokio::test]
async fn connection_and_request_totals() {
    // 04-status_api_spec: kong_nginx_connections_total and
    // kong_nginx_requests_total follow the traffic.
    let (_up, proxy) = with(json!({})).await;
    for _ in 0..3 {
        get(&proxy, "/", &[]).await;
    }
    let m = scrape(&proxy).await;
    let total = value(&m, "kong_nginx_connections_total", &[("state", "total")]);
    assert!(total >= 3.0, "{total}");
    assert_eq!(
        value(&m, "kong_nginx_requests_total", &[("subsystem", "http")]),
        total
    );
    let accepted = value(&m, "kong_nginx_connections_total", &[("state", "accepted")]);
    assert_eq!(
        value(&m, "kong_nginx_connections_total", &[("state", "handled")]),
        accepted
    );
    assert!(!find(&m, "kong_nginx_connections_total", &[("state", "active")]).is_empty());
    assert_eq!(find(&m, "kong_node_info", &[]).len(), 1);
}

#[tokio::test]
async fn a_refusal_by_an_earlier_plugin_is_counted() {
    // 02-access_spec: Kong logs with every plugin of the request, also
    // after key-auth (priority 1250) refused it: a 401 with source kong.
    let up = Upstream::start("api").await;
    let mut plugins = vec![
        plugin("key-auth", &json!({})),
        plugin("prometheus", &json!({"status_code_metrics": true})),
    ];
    order_plugins(&mut plugins);
    let mut r = route("api", &["/"], "api");
    r.plugins = plugins;
    let mut t = table(vec![r], vec![service("api", &[up.addr])]);
    bob(&mut t);
    kingress::secret::Sealer::new().seal(&mut t);
    let proxy = TestProxy::start(t).await;
    assert_eq!(get(&proxy, "/", &[]).await.status, 401);
    assert_eq!(get(&proxy, "/", &[("apikey", "kong")]).await.status, 200);
    settle().await;
    let m = scrape(&proxy).await;
    let refused = [("route", "api"), ("code", "401"), ("source", "kong")];
    assert_eq!(value(&m, "kong_http_requests_total", &refused), 1.0);
    let served = [("route", "api"), ("code", "200"), ("source", "service")];
    assert_eq!(value(&m, "kong_http_requests_total", &served), 1.0);
}
