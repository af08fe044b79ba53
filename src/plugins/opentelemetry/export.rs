//! The per-process side of the plugin: one traces queue and one logs queue
//! per plugin instance (Kong names them `<plugin id>:traces` and `:logs`),
//! each sending OTLP/HTTP protobuf to its endpoint, and the count of
//! entries lost.

use super::span;
use crate::model::plugin::OpentelemetryConfig;
use crate::plugins::queue::{Deliver, Encode, Queue};
use bytes::Bytes;
use futures::future::BoxFuture;
use opentelemetry_proto::tonic::logs::v1::LogRecord as OtlpLog;
use opentelemetry_proto::tonic::trace::v1::Span;
use parking_lot::Mutex;
use prost::Message;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// OTLP/HTTP's protobuf media type (Kong's default `Content-Type`).
const PROTOBUF: &str = "application/x-protobuf";
/// How much of a collector's error body a log line quotes.
const ERROR_BODY_LIMIT: usize = 256;

/// The opentelemetry queues of this process.
#[derive(Clone, Default)]
pub struct State {
    inner: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    traces: Mutex<HashMap<String, Slot<Span>>>,
    logs: Mutex<HashMap<String, Slot<OtlpLog>>>,
    dropped: Arc<AtomicU64>,
    /// `service.instance.id`: this process.
    instance_id: String,
}

/// A queue and the configuration it was built for.
struct Slot<T> {
    config: Arc<OpentelemetryConfig>,
    queue: Queue<T>,
}

/// POSTs batches to one endpoint.
struct Exporter {
    client: reqwest::Client,
    endpoint: String,
    headers: reqwest::header::HeaderMap,
}

/// Which signal a queue carries.
#[derive(Clone, Copy)]
enum Signal {
    Traces,
    Logs,
}

// === impl State ===

impl State {
    /// No queues yet; they start with the first entry of each instance.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Shared {
                instance_id: uuid::Uuid::new_v4().to_string(),
                ..Shared::default()
            }),
        }
    }

    /// Entries lost so far: dropped from a full queue, or given up after
    /// `max_retry_time`.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    /// Queues a finished span for `traces_endpoint`.
    pub(super) fn enqueue_span(&self, config: &Arc<OpentelemetryConfig>, id: &str, span: Span) {
        let size = span.encoded_len();
        let shared = &self.inner;
        let encode = || -> Encode<Span> {
            let resource = span::resource(config.resource_attributes.as_ref(), &shared.instance_id);
            Box::new(move |spans| Bytes::from(span::traces(&resource, spans).encode_to_vec()))
        };
        with_queue(
            &shared.traces,
            config,
            id,
            Signal::Traces,
            shared,
            encode,
            |q| q.push(span, size),
        );
    }

    /// Queues a request's log record for `logs_endpoint`.
    pub(super) fn enqueue_log(&self, config: &Arc<OpentelemetryConfig>, id: &str, log: OtlpLog) {
        let size = log.encoded_len();
        let shared = &self.inner;
        let encode = || -> Encode<OtlpLog> {
            let resource = span::resource(config.resource_attributes.as_ref(), &shared.instance_id);
            Box::new(move |logs| Bytes::from(span::logs(&resource, logs).encode_to_vec()))
        };
        with_queue(
            &shared.logs,
            config,
            id,
            Signal::Logs,
            shared,
            encode,
            |q| q.push(log, size),
        );
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

/// Finds (or starts, or restarts after a configuration change) the queue
/// of instance `id` and runs `push` on it; `encode` makes a new queue's
/// batch encoder.
fn with_queue<T: Send + 'static>(
    queues: &Mutex<HashMap<String, Slot<T>>>,
    config: &Arc<OpentelemetryConfig>,
    id: &str,
    signal: Signal,
    shared: &Shared,
    encode: impl FnOnce() -> Encode<T>,
    push: impl FnOnce(&Queue<T>),
) {
    let mut queues = queues.lock();
    let current = queues
        .get(id)
        .is_some_and(|s| Arc::ptr_eq(&s.config, config) || *s.config == **config);
    if !current {
        let Some(exporter) = Exporter::new(config, signal) else {
            return;
        };
        let name = format!("{id}:{}", signal.as_str());
        warn_deprecated(config, &name);
        let Some(queue) = Queue::start(
            name,
            config.effective_queue(),
            shared.dropped.clone(),
            encode(),
            Arc::new(exporter),
        ) else {
            return;
        };
        // The replaced queue (if any) finishes what it holds, then stops.
        queues.insert(
            id.to_string(),
            Slot {
                config: config.clone(),
                queue,
            },
        );
    }
    if let Some(slot) = queues.get(id) {
        push(&slot.queue);
    }
}

/// Kong's deprecation warnings for the fields `queue` replaced.
fn warn_deprecated(config: &OpentelemetryConfig, name: &str) {
    if config.batch_span_count.is_some_and(|c| c != 200) {
        tracing::warn!(target: "kingress::opentelemetry", queue = %name,
            "the batch_span_count parameter is deprecated, please update your configuration to use queue.max_batch_size instead");
    }
    if config.batch_flush_delay.is_some_and(|d| d != 3) {
        tracing::warn!(target: "kingress::opentelemetry", queue = %name,
            "the batch_flush_delay parameter is deprecated, please update your configuration to use queue.max_coalescing_delay instead");
    }
}

// === impl Signal ===

impl Signal {
    fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Logs => "logs",
        }
    }
}

// === impl Exporter ===

impl Exporter {
    /// An HTTP client with the configured timeouts, for the signal's
    /// endpoint; `None` (logged) when it cannot be built.
    fn new(config: &OpentelemetryConfig, signal: Signal) -> Option<Self> {
        let endpoint = match signal {
            Signal::Traces => config.traces_endpoint.clone(),
            Signal::Logs => config.logs_endpoint.clone(),
        }?;
        let ms = |v: i64| Duration::from_millis(u64::try_from(v).unwrap_or(0));
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in config.headers.iter().flatten() {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes());
            let value = reqwest::header::HeaderValue::from_str(value.0.expose());
            if let (Ok(name), Ok(mut value)) = (name, value) {
                value.set_sensitive(true);
                headers.insert(name, value);
            }
        }
        // Kong's `get_headers`: a configured Content-Type wins.
        headers
            .entry(reqwest::header::CONTENT_TYPE)
            .or_insert(reqwest::header::HeaderValue::from_static(PROTOBUF));
        let client = reqwest::Client::builder()
            .connect_timeout(ms(config.connect_timeout))
            .read_timeout(ms(config.read_timeout))
            // Kong's send and read timeouts bound the whole exchange here.
            .timeout(ms(config.send_timeout) + ms(config.read_timeout))
            .build();
        match client {
            Ok(client) => Some(Self {
                client,
                endpoint,
                headers,
            }),
            Err(e) => {
                tracing::error!(target: "kingress::opentelemetry", "cannot build the OTLP client: {e}");
                None
            }
        }
    }
}

impl Deliver for Exporter {
    fn deliver(&self, body: Bytes) -> BoxFuture<'static, Result<(), String>> {
        let request = self
            .client
            .post(&self.endpoint)
            .headers(self.headers.clone())
            .body(body);
        Box::pin(async move {
            let response = request
                .send()
                .await
                .map_err(|e| format!("failed to send request: {}", e.without_url()))?;
            let status = response.status();
            // Kong counts only 200 as delivered.
            if status == reqwest::StatusCode::OK {
                return Ok(());
            }
            let body = response.text().await.unwrap_or_default();
            let body: String = body.chars().take(ERROR_BODY_LIMIT).collect();
            Err(format!("response error: {}, body: {body}", status.as_u16()))
        })
    }
}
