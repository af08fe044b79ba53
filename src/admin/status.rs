//! The status listener: `/status`, `/healthz`, `/readyz` (also Kong's
//! `/status/ready`) and `/metrics`.

use super::reply;
use crate::metrics::Metrics;
use crate::publish::{Published, TableHandle};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use serde_json::{Value, json};
use std::time::Instant;

/// OpenMetrics text, what `prometheus-client` writes.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What the status listener reads.
#[derive(Debug)]
pub(super) struct State {
    /// The routing table.
    pub table: TableHandle,
    /// Metrics to expose.
    pub metrics: Metrics,
    /// Process start, for uptime.
    pub started: Instant,
}

/// Answers one request.
pub(super) fn handle<B>(state: &State, request: &Request<B>) -> Response<Full<Bytes>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return reply::method_not_allowed();
    }
    match request.uri().path() {
        "/status" => reply::ok(&summary(&state.table.load(), state.started)),
        "/healthz" => reply::ok(&json!({ "message": "ok" })),
        "/readyz" | "/status/ready" => ready(state.table.generation()),
        "/metrics" => {
            // The gauge follows the table even if nothing else set it.
            state
                .metrics
                .table_generation
                .set(i64::try_from(state.table.generation()).unwrap_or(i64::MAX));
            kong_gauges(state);
            reply::with_type(StatusCode::OK, OPENMETRICS, state.metrics.encode())
        }
        _ => reply::not_found(),
    }
}

/// Sets Kong's scrape-time gauges: connections of the proxy listeners and,
/// when a prometheus instance asks for them (Kong: any instance), one
/// health series set per service target.
fn kong_gauges(state: &State) {
    use crate::metrics::ListenerLabels;
    use crate::model::PluginConfig;
    let metrics = &state.metrics;
    let (mut active, mut refused) = (0, 0);
    for listener in ["proxy", "proxy_tls"] {
        let label = ListenerLabels {
            listener: listener.to_string(),
        };
        active += metrics.connections_open.get_or_create(&label).get();
        refused += metrics.connections_refused.get_or_create(&label).get();
    }
    let published = state.table.load();
    let table = &published.table;
    let attached = table.routes.iter().flat_map(|r| r.plugins.iter());
    let health = table
        .plugins
        .values()
        .chain(attached)
        .any(|p| matches!(&p.config, PluginConfig::Prometheus(c) if c.upstream_health_metrics));
    let targets = health.then(|| {
        // One series per upstream target: services sharing an upstream
        // share its balancer.
        published
            .balancers
            .iter()
            .flat_map(|(_, b)| {
                b.targets().iter().enumerate().map(move |(i, t)| {
                    let state = match b.checked() {
                        false => "healthchecks_off",
                        true if b.is_healthy(i) => "healthy",
                        true => "unhealthy",
                    };
                    (
                        b.upstream().to_string(),
                        format!("{}:{}", t.host, t.port),
                        state,
                    )
                })
            })
            .collect()
    });
    metrics.kong.refresh(active, refused, targets);
}

/// Ready once the first table is published (the first full sync).
fn ready(generation: u64) -> Response<Full<Bytes>> {
    if generation > 0 {
        reply::ok(&json!({ "message": "ready", "generation": generation }))
    } else {
        reply::json(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({ "message": "no configuration published yet", "generation": 0 }),
        )
    }
}

/// The status document, also served by the admin API's `/status`.
pub(super) fn summary(published: &Published, started: Instant) -> Value {
    let table = &published.table;
    json!({
        "generation": published.generation,
        "ready": published.generation > 0,
        // Kong reports all zeros until a configuration is loaded.
        "configuration_hash": format!("{:032x}", published.generation),
        "database": { "reachable": true },
        "routes": table.routes.len(),
        "services": table.services.len(),
        "consumers": table.consumers.len(),
        "plugins": table.plugins.len(),
        "certificates": table.certificates.len(),
        "server": {
            "name": "kingress",
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_seconds": started.elapsed().as_secs(),
        },
    })
}
