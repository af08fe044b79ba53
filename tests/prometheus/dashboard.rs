//! Kong's official Grafana dashboard
//! (`kong/plugins/prometheus/grafana/kong-official.json`) against
//! kingress's `/metrics`: each query's metric, with the labels its matchers
//! and `by` clauses use (Prometheus adds `instance` itself), finds series.

use super::{all_on, find, get, scrape, settle, with};

/// A dashboard query: its metric, the labels it reads, the label values it
/// selects.
type Query = (
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

/// Every dashboard query.
const QUERIES: &[Query] = &[
    (
        "kong_http_requests_total",
        &["service", "route", "code"],
        &[],
    ),
    (
        "kong_kong_latency_ms_bucket",
        &["service", "route", "le"],
        &[],
    ),
    (
        "kong_request_latency_ms_bucket",
        &["service", "route", "le"],
        &[],
    ),
    (
        "kong_upstream_latency_ms_bucket",
        &["service", "route", "le"],
        &[],
    ),
    (
        "kong_bandwidth_bytes",
        &["service", "route"],
        &[("direction", "egress")],
    ),
    (
        "kong_bandwidth_bytes",
        &["service"],
        &[("direction", "ingress")],
    ),
    (
        "kong_nginx_connections_total",
        &[],
        &[("state", "accepted")],
    ),
    ("kong_nginx_connections_total", &[], &[("state", "handled")]),
    ("kong_nginx_connections_total", &[], &[("state", "total")]),
    ("kong_nginx_connections_total", &[], &[("state", "active")]),
    (
        "kong_upstream_target_health",
        &["upstream", "target", "address"],
        &[("state", "healthy")],
    ),
    (
        "kong_upstream_target_health",
        &["upstream", "target", "address"],
        &[("state", "healthchecks_off")],
    ),
    (
        "kong_upstream_target_health",
        &["upstream", "target", "address"],
        &[("state", "unhealthy")],
    ),
    (
        "kong_upstream_target_health",
        &["upstream", "target", "address"],
        &[("state", "dns_error")],
    ),
];

/// Dashboard series kingress does not have: the memory of nginx's Lua VMs
/// and shared dicts. kingress runs no Lua; its memory is in
/// `process_*`-style series of the host's exporter.
const NOT_APPLICABLE: &[&str] = &[
    "kong_memory_lua_shared_dict_bytes",
    "kong_memory_lua_shared_dict_total_bytes",
    "kong_memory_workers_lua_vms_bytes",
];

#[tokio::test]
async fn every_dashboard_query_finds_series() {
    let (_up, proxy) = with(all_on()).await;
    get(&proxy, "/", &[]).await;
    settle().await;
    let m = scrape(&proxy).await;
    for (metric, labels, values) in QUERIES {
        // The parser folds `_bucket` samples into one histogram sample.
        let name = metric.strip_suffix("_bucket").unwrap_or(metric);
        let found = find(&m, name, values);
        assert!(!found.is_empty(), "{metric} {values:?}: no series");
        for label in labels.iter().filter(|l| **l != "le") {
            assert!(
                found.iter().all(|s| s.labels.get(label).is_some()),
                "{metric}: label {label} missing"
            );
        }
        if metric.ends_with("_bucket") {
            assert!(
                found
                    .iter()
                    .all(|s| matches!(s.value, prometheus_parse::Value::Histogram(_))),
                "{metric}: not a histogram"
            );
        }
    }
    for name in NOT_APPLICABLE {
        assert!(
            find(&m, name, &[]).is_empty(),
            "{name} appeared: update the list"
        );
    }
}
