//! One (service, route, consumer)'s handles on Kong's series, found with
//! one map lookup per request: each handle is a clone sharing the series'
//! value, made the first time a switch asks for it (so a switch that is off
//! exports nothing).

use super::{
    BandwidthLabels, KongSeries, LatencyLabels, MAX_LABEL_SETS, OVERFLOW, PlainCount, StatusLabels,
    WORKSPACE,
};
use parking_lot::RwLock;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// The series of one label set.
#[derive(Debug)]
pub struct LabelSet {
    /// `service` label.
    pub service: String,
    /// `route` label.
    pub route: String,
    /// `consumer` label.
    pub consumer: String,
    kong_latency: OnceLock<Histogram>,
    upstream_latency: OnceLock<Histogram>,
    request_latency: OnceLock<Histogram>,
    ingress: OnceLock<PlainCount>,
    egress: OnceLock<PlainCount>,
    /// `kong_http_requests_total` by (code, from the service).
    requests: RwLock<Vec<(u16, bool, Counter)>>,
}

/// The label sets seen so far, bounded by [`MAX_LABEL_SETS`].
#[derive(Debug, Default)]
pub(super) struct LabelSets {
    known: RwLock<HashMap<String, Arc<LabelSet>>>,
    overflow: OnceLock<Arc<LabelSet>>,
}

impl LabelSets {
    /// The set of (service, route, consumer), or the overflow set once
    /// [`MAX_LABEL_SETS`] others are known.
    pub(super) fn get(&self, service: &str, route: &str, consumer: &str) -> Arc<LabelSet> {
        let key = format!("{service}\0{route}\0{consumer}");
        if let Some(set) = self.known.read().get(&key) {
            return set.clone();
        }
        let mut known = self.known.write();
        if let Some(set) = known.get(&key) {
            return set.clone();
        }
        if known.len() >= MAX_LABEL_SETS {
            return self
                .overflow
                .get_or_init(|| Arc::new(LabelSet::new(OVERFLOW, OVERFLOW, OVERFLOW)))
                .clone();
        }
        let set = Arc::new(LabelSet::new(service, route, consumer));
        known.insert(key, set.clone());
        set
    }
}

impl LabelSet {
    fn new(service: &str, route: &str, consumer: &str) -> Self {
        Self {
            service: service.into(),
            route: route.into(),
            consumer: consumer.into(),
            kong_latency: OnceLock::new(),
            upstream_latency: OnceLock::new(),
            request_latency: OnceLock::new(),
            ingress: OnceLock::new(),
            egress: OnceLock::new(),
            requests: RwLock::new(Vec::new()),
        }
    }

    fn latency(&self) -> LatencyLabels {
        LatencyLabels {
            service: self.service.clone(),
            route: self.route.clone(),
            workspace: WORKSPACE.into(),
        }
    }

    /// `kong_kong_latency_ms`.
    pub fn kong_latency(&self, series: &KongSeries) -> &Histogram {
        self.kong_latency
            .get_or_init(|| series.kong_latency.get_or_create(&self.latency()).clone())
    }

    /// `kong_upstream_latency_ms`.
    pub fn upstream_latency(&self, series: &KongSeries) -> &Histogram {
        self.upstream_latency.get_or_init(|| {
            series
                .upstream_latency
                .get_or_create(&self.latency())
                .clone()
        })
    }

    /// `kong_request_latency_ms`.
    pub fn request_latency(&self, series: &KongSeries) -> &Histogram {
        self.request_latency.get_or_init(|| {
            series
                .request_latency
                .get_or_create(&self.latency())
                .clone()
        })
    }

    /// `kong_bandwidth_bytes` in `direction` (`ingress` when true).
    pub fn bandwidth(&self, series: &KongSeries, ingress: bool) -> &PlainCount {
        let (cell, direction) = if ingress {
            (&self.ingress, "ingress")
        } else {
            (&self.egress, "egress")
        };
        cell.get_or_init(|| {
            let labels = BandwidthLabels {
                service: self.service.clone(),
                route: self.route.clone(),
                direction: direction.into(),
                workspace: WORKSPACE.into(),
                consumer: self.consumer.clone(),
            };
            series.bandwidth.get_or_create(&labels).clone()
        })
    }

    /// `kong_http_requests_total` for `code`, answered by the service or
    /// by Kong.
    pub fn requests(&self, series: &KongSeries, code: u16, from_service: bool) -> Counter {
        let found = self
            .requests
            .read()
            .iter()
            .find(|(c, s, _)| *c == code && *s == from_service)
            .map(|(_, _, counter)| counter.clone());
        if let Some(counter) = found {
            return counter;
        }
        let labels = StatusLabels {
            service: self.service.clone(),
            route: self.route.clone(),
            code: code.to_string(),
            source: if from_service { "service" } else { "kong" }.into(),
            workspace: WORKSPACE.into(),
            consumer: self.consumer.clone(),
        };
        let counter = series.http_requests.get_or_create(&labels).clone();
        self.requests
            .write()
            .push((code, from_service, counter.clone()));
        counter
    }
}
