//! `prometheus` (Kong's `kong/plugins/prometheus/handler.lua` and
//! `exporter.lua`'s `log`): counts each finished request into Kong's series
//! ([`crate::metrics::kong`]) as the switches ask; `/metrics` on the status
//! listener serves them.

use super::log::serialize::{request_size, response_size, source};
use super::{LogRecord, Phases, Runtime};
use crate::model::PluginInstance;
use crate::model::plugin::prometheus::PrometheusConfig;
use std::sync::Arc;
use std::time::Duration;

impl Phases for PrometheusConfig {
    const LOGS: bool = true;
    // Sizes are enough for the bandwidth series.
    const LOG_HEADERS: bool = false;

    fn log(config: &Arc<Self>, _: &PluginInstance, record: &LogRecord, runtime: &Runtime) {
        if !(config.status_code_metrics || config.latency_metrics || config.bandwidth_metrics) {
            return;
        }
        let series = &runtime.metrics.kong;
        // Kong labels with the service's name and the route's name.
        let service = record.service().map_or("", |s| s.name.as_str());
        let consumer = config
            .per_consumer
            .then_some(record.request.authenticated.as_ref())
            .flatten()
            .and_then(|a| a.consumer.username.as_deref())
            .unwrap_or("");
        let set = series.label_set(service, &record.request.route.name, consumer);
        if config.bandwidth_metrics {
            for (ingress, size) in [(true, request_size(record)), (false, response_size(record))] {
                if size > 0 {
                    set.bandwidth(series, ingress).inc_by(size);
                }
            }
        }
        if config.status_code_metrics {
            let code = record.response.status.as_u16();
            set.requests(series, code, source(record) == "service")
                .inc();
        }
        if config.latency_metrics {
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            let response = &record.response;
            set.request_latency(series)
                .observe(ms(response.total_latency));
            if let Some(upstream) = response.upstream_latency {
                set.upstream_latency(series).observe(ms(upstream));
            }
            set.kong_latency(series).observe(ms(record.kong_latency()));
        }
    }
}
