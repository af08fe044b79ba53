//! What Kong's `log` phase knows about a finished request: the facts its
//! log serializer (`kong.log.serialize()`) and the metrics plugins read.
//! The proxy builds a record only when a plugin that ran has a `log` phase,
//! and hands it over once the response has been sent (its last byte
//! written, or the client gone), so sizes and latencies are final.

#[cfg(test)]
pub(crate) mod fixture;
pub mod serialize;

use super::Authenticated;
use crate::model::{Route, Service, Shared};
use http::{HeaderMap, Method, StatusCode, Uri, Version};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

/// One finished request.
pub struct LogRecord {
    /// What was asked.
    pub request: RequestFacts,
    /// What was answered.
    pub response: ResponseFacts,
}

/// The request-side facts, gathered before the response exists.
pub struct RequestFacts {
    /// When the request arrived.
    pub started_at: SystemTime,
    /// The TCP peer.
    pub client_addr: SocketAddr,
    /// The listener address.
    pub local_addr: SocketAddr,
    /// TLS or not.
    pub tls: bool,
    /// Method.
    pub method: Method,
    /// Canonical request target.
    pub uri: Uri,
    /// Protocol version.
    pub version: Version,
    /// Requested host.
    pub host: Option<String>,
    /// The request headers after the plugins' access phase (as Kong's
    /// `kong.request.get_headers()` at log time). Secrets included: a
    /// serializer must redact them. Empty unless a logging plugin of the
    /// request reads headers (`Phases::LOG_HEADERS`).
    pub request_headers: HeaderMap,
    /// The request line and headers as nginx's `$request_length` counts
    /// them (always measured, even when the headers are not copied).
    pub request_head_size: u64,
    /// Declared body size.
    pub request_body_size: u64,
    /// Matched route.
    pub route: Shared<Route>,
    /// The table's services.
    pub services: Shared<BTreeMap<String, Service>>,
    /// Authenticated consumer.
    pub authenticated: Option<Authenticated>,
    /// What the plugins kept for their log phase ([`Exchange::context`](super::Exchange::context)).
    pub context: http::Extensions,
}

/// The response-side facts, known once the response has been sent.
pub struct ResponseFacts {
    /// Path and query sent upstream.
    pub upstream_uri: Option<String>,
    /// The upstream target last tried (`host:port`).
    pub upstream_target: Option<String>,
    /// Status sent.
    pub status: StatusCode,
    /// Headers sent; empty unless a logging plugin reads headers.
    pub response_headers: HeaderMap,
    /// The status line and headers as nginx's `$bytes_sent` counts them.
    pub response_head_size: u64,
    /// Body bytes sent.
    pub response_body_size: u64,
    /// From sending the request upstream to the upstream's response head
    /// (Kong's `latencies.proxy`).
    pub upstream_latency: Option<Duration>,
    /// Arrival to the last byte.
    pub total_latency: Duration,
}

// === impl LogRecord ===

impl LogRecord {
    /// The route's service, if it has one in this table.
    pub fn service(&self) -> Option<&Service> {
        let request = &self.request;
        request
            .route
            .service
            .as_deref()
            .and_then(|name| request.services.get(name))
    }

    /// Time spent in kingress itself: the total minus the wait upstream
    /// (Kong's `latencies.kong`).
    pub fn kong_latency(&self) -> Duration {
        let response = &self.response;
        response
            .total_latency
            .saturating_sub(response.upstream_latency.unwrap_or_default())
    }
}

impl std::fmt::Debug for LogRecord {
    /// Headers carry credentials; the Debug form names the request only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogRecord")
            .field("method", &self.request.method)
            .field("path", &self.request.uri.path())
            .field("route", &self.request.route.name)
            .field("status", &self.response.status)
            .finish_non_exhaustive()
    }
}
