//! The series of Kong's prometheus plugin (`kong/plugins/prometheus/
//! exporter.lua`), with Kong's names, types, labels and buckets, served on
//! the status listener's `/metrics` next to kingress's own.
//!
//! Per-request series are fed by the prometheus plugin's log phase. Label
//! cardinality is bounded: at most [`MAX_LABEL_SETS`] distinct
//! (service, route, consumer) combinations are kept; requests of any
//! further combination are counted under [`OVERFLOW`] in all three labels.

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;
use std::sync::Arc;

/// Kong's `KONG_LATENCY_BUCKETS` (milliseconds).
pub const KONG_LATENCY_BUCKETS: [f64; 17] = [
    1.0, 2.0, 5.0, 7.0, 10.0, 15.0, 20.0, 30.0, 50.0, 75.0, 100.0, 200.0, 500.0, 750.0, 1000.0,
    3000.0, 6000.0,
];

/// Kong's `UPSTREAM_LATENCY_BUCKETS` (milliseconds), also those of
/// `kong_request_latency_ms`.
pub const UPSTREAM_LATENCY_BUCKETS: [f64; 13] = [
    25.0, 50.0, 80.0, 100.0, 250.0, 400.0, 700.0, 1000.0, 2000.0, 5000.0, 10000.0, 30000.0, 60000.0,
];

mod labels;

pub use labels::LabelSet;

/// `(upstream, target, state)` of `kong_upstream_target_health`.
pub type TargetHealth = (String, String, &'static str);

/// Kong's workspace name: kingress has one, Kong's default.
pub const WORKSPACE: &str = "default";

/// Distinct (service, route, consumer) combinations kept.
pub const MAX_LABEL_SETS: usize = 10_000;

/// The label value standing for every combination past [`MAX_LABEL_SETS`].
pub const OVERFLOW: &str = "_overflow";

/// `kong_http_requests_total` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    /// Service name (or host), empty without a service.
    pub service: String,
    /// Route name.
    pub route: String,
    /// Status code.
    pub code: String,
    /// `service` when the upstream answered, else `kong`.
    pub source: String,
    /// Workspace name.
    pub workspace: String,
    /// Consumer username with `per_consumer`, else empty.
    pub consumer: String,
}

/// Latency histogram labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LatencyLabels {
    /// Service name (or host).
    pub service: String,
    /// Route name.
    pub route: String,
    /// Workspace name.
    pub workspace: String,
}

/// `kong_bandwidth_bytes` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BandwidthLabels {
    /// Service name (or host).
    pub service: String,
    /// Route name.
    pub route: String,
    /// `ingress` or `egress`.
    pub direction: String,
    /// Workspace name.
    pub workspace: String,
    /// Consumer username with `per_consumer`, else empty.
    pub consumer: String,
}

/// `kong_nginx_connections_total` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConnectionLabels {
    /// This process (Kong's node id).
    pub node_id: String,
    /// `http`.
    pub subsystem: String,
    /// `accepted`, `handled`, `total` or `active`.
    pub state: String,
}

/// `kong_nginx_requests_total` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SubsystemLabels {
    /// This process (Kong's node id).
    pub node_id: String,
    /// `http`.
    pub subsystem: String,
}

/// `kong_upstream_target_health` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HealthLabels {
    /// The service (Kong's upstream).
    pub upstream: String,
    /// `host:port` of the target.
    pub target: String,
    /// `ip:port`.
    pub address: String,
    /// `healthchecks_off`, `healthy`, `unhealthy` or `dns_error`.
    pub state: String,
    /// `http`.
    pub subsystem: String,
}

/// A count that prints under its own name (`kong_bandwidth_bytes`, as Kong
/// names it) rather than OpenMetrics' `_total`: typed `unknown` so the
/// exposition stays valid OpenMetrics; PromQL's `rate` works the same.
#[derive(Clone, Debug, Default)]
pub struct PlainCount(Counter);

impl PlainCount {
    /// Adds `v`.
    pub fn inc_by(&self, v: u64) {
        self.0.inc_by(v);
    }

    /// The count.
    pub fn get(&self) -> u64 {
        self.0.get()
    }
}

impl TypedMetric for PlainCount {
    const TYPE: MetricType = MetricType::Unknown;
}

impl EncodeMetric for PlainCount {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> Result<(), std::fmt::Error> {
        encoder.encode_gauge(&(self.0.get() as i64))
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Unknown
    }
}

/// Kong's series.
#[derive(Debug)]
pub struct KongSeries {
    /// `kong_http_requests_total`.
    pub http_requests: Family<StatusLabels, Counter>,
    /// `kong_kong_latency_ms`.
    pub kong_latency: Family<LatencyLabels, Histogram>,
    /// `kong_upstream_latency_ms`.
    pub upstream_latency: Family<LatencyLabels, Histogram>,
    /// `kong_request_latency_ms`.
    pub request_latency: Family<LatencyLabels, Histogram>,
    /// `kong_bandwidth_bytes`.
    pub bandwidth: Family<BandwidthLabels, PlainCount>,
    /// `kong_nginx_connections_total` (a gauge, as in Kong).
    pub connections: Family<ConnectionLabels, Gauge>,
    /// `kong_nginx_requests_total` (a gauge, as in Kong).
    pub nginx_requests: Family<SubsystemLabels, Gauge>,
    /// `kong_datastore_reachable`: the token store answered its last
    /// operation (1) or failed it (0).
    pub datastore_reachable: Gauge,
    /// `kong_upstream_target_health`.
    pub upstream_target_health: Family<HealthLabels, Gauge>,
    /// `kong_node_info`.
    pub node_info: Family<NodeLabels, Gauge>,
    /// Every request handled (feeds `state="total"`).
    pub requests_seen: Counter,
    /// Connections accepted by the proxy listeners.
    pub accepted: Counter,
    sets: labels::LabelSets,
}

/// `kong_node_info` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NodeLabels {
    /// This process.
    pub node_id: String,
    /// kingress's version.
    pub version: String,
}

impl KongSeries {
    /// The series, registered in `registry` (which has no prefix: the names
    /// carry Kong's `kong_`).
    pub fn register(registry: &mut Registry) -> Arc<Self> {
        let series = Self {
            http_requests: Family::default(),
            kong_latency: Family::new_with_constructor(kong_histogram),
            upstream_latency: Family::new_with_constructor(upstream_histogram),
            request_latency: Family::new_with_constructor(upstream_histogram),
            bandwidth: Family::default(),
            connections: Family::default(),
            nginx_requests: Family::default(),
            datastore_reachable: Gauge::default(),
            upstream_target_health: Family::default(),
            node_info: Family::default(),
            requests_seen: Counter::default(),
            accepted: Counter::default(),
            sets: labels::LabelSets::default(),
        };
        // A store is reachable until an operation fails.
        series.datastore_reachable.set(1);
        series
            .node_info
            .get_or_create(&NodeLabels {
                node_id: node_id().to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
            })
            .set(1);
        let r = registry;
        r.register(
            "kong_http_requests",
            "HTTP status codes per consumer/service/route in Kong",
            series.http_requests.clone(),
        );
        r.register(
            "kong_kong_latency_ms",
            "Latency added by Kong and enabled plugins for each service/route in Kong",
            series.kong_latency.clone(),
        );
        r.register(
            "kong_upstream_latency_ms",
            "Latency added by upstream response for each service/route in Kong",
            series.upstream_latency.clone(),
        );
        r.register(
            "kong_request_latency_ms",
            "Total latency incurred during requests for each service/route in Kong",
            series.request_latency.clone(),
        );
        r.register(
            "kong_bandwidth_bytes",
            "Total bandwidth (ingress/egress) throughput in bytes",
            series.bandwidth.clone(),
        );
        r.register(
            "kong_nginx_connections_total",
            "Number of connections by subsystem",
            series.connections.clone(),
        );
        r.register(
            "kong_nginx_requests_total",
            "Number of requests total",
            series.nginx_requests.clone(),
        );
        r.register(
            "kong_datastore_reachable",
            "Datastore reachable from Kong, 0 is unreachable",
            series.datastore_reachable.clone(),
        );
        r.register(
            "kong_upstream_target_health",
            "Health status of targets of upstream. States = healthchecks_off|healthy|unhealthy|dns_error, value is 1 when state is populated.",
            series.upstream_target_health.clone(),
        );
        r.register(
            "kong_node_info",
            "Kong Node metadata information",
            series.node_info.clone(),
        );
        Arc::new(series)
    }

    /// The series of (service, route, consumer): themselves while fewer
    /// than [`MAX_LABEL_SETS`] combinations are known, else the
    /// [`OVERFLOW`] set.
    pub fn label_set(&self, service: &str, route: &str, consumer: &str) -> Arc<LabelSet> {
        self.sets.get(service, route, consumer)
    }

    /// Sets the scrape-time gauges: connections from the proxy listeners'
    /// counts, and, when `targets` is given, the four health series of each
    /// `(upstream, target, state)` with 1 on its state (`healthchecks_off`,
    /// `healthy` or `unhealthy`).
    pub fn refresh(&self, active: i64, refused: u64, targets: Option<Vec<TargetHealth>>) {
        let node = node_id();
        let accepted = self.accepted.get();
        let total = i64::try_from(self.requests_seen.get()).unwrap_or(i64::MAX);
        let labels = |state: &str| ConnectionLabels {
            node_id: node.to_string(),
            subsystem: "http".into(),
            state: state.into(),
        };
        let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.connections
            .get_or_create(&labels("accepted"))
            .set(as_i64(accepted));
        self.connections
            .get_or_create(&labels("handled"))
            .set(as_i64(accepted.saturating_sub(refused)));
        self.connections.get_or_create(&labels("total")).set(total);
        self.connections
            .get_or_create(&labels("active"))
            .set(active);
        self.nginx_requests
            .get_or_create(&SubsystemLabels {
                node_id: node.to_string(),
                subsystem: "http".into(),
            })
            .set(total);
        // Kong erases the health series on each scrape, so gone targets go.
        self.upstream_target_health.clear();
        for (upstream, target, current) in targets.into_iter().flatten() {
            for state in ["healthchecks_off", "healthy", "unhealthy", "dns_error"] {
                self.upstream_target_health
                    .get_or_create(&HealthLabels {
                        upstream: upstream.clone(),
                        target: target.clone(),
                        address: target.clone(),
                        state: state.into(),
                        subsystem: "http".into(),
                    })
                    .set(i64::from(state == current));
            }
        }
    }
}

/// A histogram with Kong's latency buckets.
fn kong_histogram() -> Histogram {
    Histogram::new(KONG_LATENCY_BUCKETS)
}

/// A histogram with Kong's upstream latency buckets.
fn upstream_histogram() -> Histogram {
    Histogram::new(UPSTREAM_LATENCY_BUCKETS)
}

/// This process's node id: random per process, as Kong's without a
/// `node_id` file.
pub fn node_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| uuid::Uuid::new_v4().to_string())
}

#[cfg(test)]
mod tests;
