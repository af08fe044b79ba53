//! Prometheus metrics shared by both planes, served on `/metrics`: kingress's
//! own (`kingress_*`) and Kong's prometheus plugin's (`kong_*`, [`kong`]).

pub mod kong;

use hashbrown::HashTable;
use parking_lot::RwLock;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::hash::BuildHasher;
use std::sync::Arc;

/// Labels of proxied requests.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// Route name (`none` when no route matched).
    pub route: String,
    /// Response status code.
    pub status: u16,
}

/// `kingress_requests_total`: proxied requests by route and status.
#[derive(Clone, Default)]
pub struct RequestCounts {
    family: Family<RequestLabels, Counter>,
    /// Each series' counter by route and status, found without building
    /// its labels: a request neither copies its route's name nor hashes it
    /// with SipHash under the family's lock (both were in every proxied
    /// request's profile).
    known: Arc<RwLock<HashTable<KnownCount>>>,
    hasher: foldhash::fast::RandomState,
}

/// A route, a status and their series' counter.
type KnownCount = (Box<str>, u16, Counter);

impl RequestCounts {
    /// Counts one request of `route` answered with `status`.
    pub fn inc(&self, route: &str, status: u16) {
        let hash = self.hasher.hash_one((route, status));
        let same = |(r, s, _): &KnownCount| **r == *route && *s == status;
        if let Some((_, _, counter)) = self.known.read().find(hash, same) {
            counter.inc();
            return;
        }
        let counter = self
            .family
            .get_or_create(&RequestLabels {
                route: route.to_string(),
                status,
            })
            .clone();
        counter.inc();
        let mut known = self.known.write();
        if known.find(hash, same).is_none() {
            known.insert_unique(hash, (route.into(), status, counter), |(r, s, _)| {
                self.hasher.hash_one((&**r, *s))
            });
        }
    }
}

/// A label naming a kind (of object, problem or watch event).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// The kind.
    pub kind: String,
}

/// Labels of token-store operations.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreLabels {
    /// Store backend (`memory`, `redis`).
    pub backend: String,
    /// Outcome (`ok`, `error`).
    pub outcome: String,
}

/// The outcome of an attempt.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `ok` or `error`.
    pub outcome: String,
}

/// Labels of client connections: which listener took them.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListenerLabels {
    /// `proxy`, `proxy_tls`, `admin` or `status`.
    pub listener: String,
}

/// Every metric kingress exports.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    kong_registry: Arc<Registry>,
    /// Kong's prometheus plugin's series.
    pub kong: Arc<kong::KongSeries>,
    /// Proxied requests by route and status.
    pub requests: RequestCounts,
    /// Request latency, seconds.
    pub request_duration: Histogram,
    /// Generation of the published table.
    pub table_generation: Gauge,
    /// Duration of a full translate, seconds.
    pub translate_duration: Histogram,
    /// Current problems by object kind.
    pub problems: Family<KindLabels, Gauge>,
    /// Reconciles (translate + publish attempts).
    pub reconciles: Counter,
    /// Reconcile duration (translate + seal + publish), seconds.
    pub reconcile_duration: Histogram,
    /// Watch events by object kind.
    pub watch_events: Family<KindLabels, Counter>,
    /// Status writes (Events, conditions, Ingress status) by kind.
    pub status_writes: Family<KindLabels, Counter>,
    /// Tokens currently held by the memory store.
    pub tokens_stored: Gauge,
    /// Token-store operations by backend and outcome.
    pub token_store_ops: Family<StoreLabels, Counter>,
    /// Tokens evicted because their credential held its maximum.
    pub tokens_evicted: Counter,
    /// Loads of the manifest files (standalone mode) by outcome.
    pub manifest_loads: Family<OutcomeLabels, Counter>,
    /// Manifest files parsed (a file whose content did not change, or
    /// failed before, is not parsed again).
    pub manifest_parses: Counter,
    /// Client connections open, by listener.
    pub connections_open: Family<ListenerLabels, Gauge>,
    /// Client connections closed at accept because the listener was at its
    /// connection cap, by listener.
    pub connections_refused: Family<ListenerLabels, Counter>,
}

// === impl Metrics ===

impl Metrics {
    /// Registers every metric in a fresh registry.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("kingress");
        let requests = RequestCounts::default();
        registry.register(
            "requests",
            "Proxied requests by route and status",
            requests.family.clone(),
        );
        let request_duration = Histogram::new(exponential_buckets(0.0001, 2.0, 18));
        registry.register(
            "request_duration_seconds",
            "Time from request to response headers",
            request_duration.clone(),
        );
        let table_generation = Gauge::default();
        registry.register(
            "table_generation",
            "Generation of the published routing table",
            table_generation.clone(),
        );
        let translate_duration = Histogram::new(exponential_buckets(0.0001, 2.0, 20));
        registry.register(
            "translate_duration_seconds",
            "Duration of a full translate",
            translate_duration.clone(),
        );
        let problems = Family::<KindLabels, Gauge>::default();
        registry.register(
            "problems",
            "Current configuration problems by object kind",
            problems.clone(),
        );
        let reconciles = Counter::default();
        registry.register(
            "reconciles",
            "Reconciles (translate and publish)",
            reconciles.clone(),
        );
        let reconcile_duration = Histogram::new(exponential_buckets(0.0001, 2.0, 20));
        registry.register(
            "reconcile_duration_seconds",
            "Duration of a reconcile",
            reconcile_duration.clone(),
        );
        let watch_events = Family::<KindLabels, Counter>::default();
        registry.register(
            "watch_events",
            "Watch events by object kind",
            watch_events.clone(),
        );
        let status_writes = Family::<KindLabels, Counter>::default();
        registry.register(
            "status_writes",
            "Status writes by kind",
            status_writes.clone(),
        );
        let tokens_stored = Gauge::default();
        registry.register(
            "tokens_stored",
            "Tokens held by the memory token store",
            tokens_stored.clone(),
        );
        let token_store_ops = Family::<StoreLabels, Counter>::default();
        registry.register(
            "token_store_operations",
            "Token store operations",
            token_store_ops.clone(),
        );
        let tokens_evicted = Counter::default();
        registry.register(
            "tokens_evicted",
            "Tokens evicted because their credential held --max-tokens-per-credential",
            tokens_evicted.clone(),
        );
        let manifest_loads = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "manifest_loads",
            "Loads of the manifest files by outcome",
            manifest_loads.clone(),
        );
        let manifest_parses = Counter::default();
        registry.register(
            "manifest_parses",
            "Manifest files parsed",
            manifest_parses.clone(),
        );
        let connections_open = Family::<ListenerLabels, Gauge>::default();
        registry.register(
            "connections_open",
            "Client connections open, by listener",
            connections_open.clone(),
        );
        let connections_refused = Family::<ListenerLabels, Counter>::default();
        registry.register(
            "connections_refused",
            "Client connections closed at accept because the listener was at its cap",
            connections_refused.clone(),
        );
        let mut kong_registry = Registry::default();
        let kong = kong::KongSeries::register(&mut kong_registry);
        Self {
            registry: Arc::new(registry),
            kong_registry: Arc::new(kong_registry),
            kong,
            requests,
            request_duration,
            table_generation,
            translate_duration,
            problems,
            reconciles,
            reconcile_duration,
            watch_events,
            status_writes,
            tokens_stored,
            token_store_ops,
            tokens_evicted,
            manifest_loads,
            manifest_parses,
            connections_open,
            connections_refused,
        }
    }

    /// Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        use prometheus_client::encoding::text::{encode_eof, encode_registry};
        let _ = encode_registry(&mut out, &self.registry);
        let _ = encode_registry(&mut out, &self.kong_registry);
        let _ = encode_eof(&mut out);
        out
    }

    /// Replaces the problem gauges with counts from `problems`.
    pub fn set_problems(&self, problems: &[crate::model::Problem]) {
        self.problems.clear();
        for p in problems {
            self.problems
                .get_or_create(&KindLabels {
                    kind: p.object.kind.clone(),
                })
                .inc();
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_counts_land_in_the_series_of_their_route_and_status() {
        let metrics = Metrics::new();
        for _ in 0..3 {
            metrics.requests.inc("a", 200);
        }
        metrics.requests.inc("a", 404);
        metrics.requests.inc("b", 200);
        let text = metrics.encode();
        for line in [
            r#"kingress_requests_total{route="a",status="200"} 3"#,
            r#"kingress_requests_total{route="a",status="404"} 1"#,
            r#"kingress_requests_total{route="b",status="200"} 1"#,
        ] {
            assert!(text.contains(line), "{line} not in\n{text}");
        }
    }
}
