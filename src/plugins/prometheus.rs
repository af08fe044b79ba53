//! `prometheus` (Kong's `kong/plugins/prometheus/handler.lua` and
//! `exporter.lua`'s `log`): counts each finished request into Kong's series
//! ([`crate::metrics::kong`]) as the switches ask; `/metrics` on the status
//! listener serves them.

use super::log::serialize::{WORKSPACE, request_size, response_size, source};
use super::{LogRecord, Phases, Runtime};
use crate::metrics::kong::{BandwidthLabels, LatencyLabels, StatusLabels};
use crate::model::PluginInstance;
use crate::model::plugin::prometheus::PrometheusConfig;
use std::sync::Arc;

impl Phases for PrometheusConfig {
    const LOGS: bool = true;

    fn log(config: &Arc<Self>, _: &PluginInstance, record: &LogRecord, runtime: &Runtime) {
        let series = &runtime.metrics.kong;
        // Kong labels with the service's name (else its host) and the
        // route's name.
        let service = record.service().map_or("", |s| s.name.as_str());
        let consumer = config
            .per_consumer
            .then_some(record.request.authenticated.as_ref())
            .flatten()
            .and_then(|a| a.consumer.username.as_deref())
            .unwrap_or("");
        let (service, route, consumer) =
            series.bounded(service, &record.request.route.name, consumer);
        if config.bandwidth_metrics {
            let labels = |direction: &str| BandwidthLabels {
                service: service.clone(),
                route: route.clone(),
                direction: direction.into(),
                workspace: WORKSPACE.into(),
                consumer: consumer.clone(),
            };
            for (direction, size) in [
                ("ingress", request_size(record)),
                ("egress", response_size(record)),
            ] {
                if size > 0 {
                    series
                        .bandwidth
                        .get_or_create(&labels(direction))
                        .inc_by(size);
                }
            }
        }
        if config.status_code_metrics {
            let from_service = source(record) == "service";
            series
                .http_requests
                .get_or_create(&StatusLabels {
                    service: service.clone(),
                    route: route.clone(),
                    code: record.response.status.as_u16().to_string(),
                    source: if from_service { "service" } else { "kong" }.into(),
                    workspace: WORKSPACE.into(),
                    consumer,
                })
                .inc();
        }
        if config.latency_metrics {
            let labels = LatencyLabels {
                service,
                route,
                workspace: WORKSPACE.into(),
            };
            let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
            let response = &record.response;
            series
                .request_latency
                .get_or_create(&labels)
                .observe(ms(response.total_latency));
            if let Some(upstream) = response.upstream_latency {
                series
                    .upstream_latency
                    .get_or_create(&labels)
                    .observe(ms(upstream));
            }
            series
                .kong_latency
                .get_or_create(&labels)
                .observe(ms(record.kong_latency()));
        }
    }
}
