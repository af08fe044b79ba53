//! Kong's `opentelemetry` plugin (`kong/plugins/opentelemetry/*`): the
//! client's trace context is extracted (W3C `traceparent`, B3, Jaeger, OT),
//! kingress's span joins that trace (a new span id, the client's span as
//! its parent) and is injected into the upstream request; once the
//! response has been sent, the request's `kong` span (Kong's root span
//! name and attributes) is queued and exported in batches over OTLP/HTTP
//! (protobuf) to `traces_endpoint`, and a log record of the request to
//! `logs_endpoint`. The queues are bounded and never block the proxy: a
//! full queue drops its oldest entries, counted and logged at WARN.

mod export;
mod propagation;
mod span;
mod trace;

use super::{Access, Exchange, LogRecord, Phases, PluginError, Runtime};
use crate::model::PluginInstance;
use crate::model::plugin::OpentelemetryConfig;
use http::{HeaderName, HeaderValue};
use std::sync::Arc;

pub use export::State;
pub use trace::TraceContext;

impl Phases for OpentelemetryConfig {
    async fn access(
        config: &Arc<Self>,
        _instance: &PluginInstance,
        exchange: &mut Exchange<'_>,
        _runtime: &Runtime,
    ) -> Result<Access, PluginError> {
        let context = trace::propagate(config, exchange);
        if let Some(name) = &config.http_response_header_for_traceid
            && let Ok(name) = HeaderName::from_bytes(name.as_bytes())
            // Kong keeps trace ids as 16 bytes: a 64-bit one is padded.
            && let Ok(value) = HeaderValue::from_str(&hex::encode(propagation::id_size(
                &context.trace_id,
                &[16],
            )))
        {
            exchange.response_headers.append(name, value);
        }
        exchange.context.insert(context);
        Ok(Access::Continue)
    }

    const LOGS: bool = true;

    fn log(config: &Arc<Self>, instance: &PluginInstance, record: &LogRecord, runtime: &Runtime) {
        let Some(context) = record.request.context.get::<TraceContext>() else {
            return;
        };
        let state = &runtime.opentelemetry;
        if config.traces_endpoint.is_some() && context.sampled {
            let span = span::root(record, context);
            state.enqueue_span(config, &instance.id, span);
        }
        if config.logs_endpoint.is_some() {
            let log = span::log(record, context);
            state.enqueue_log(config, &instance.id, log);
        }
    }
}
