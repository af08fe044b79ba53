//! The plugins' `log` phase: a response body that counts what it sends and,
//! once hyper is done with it (the last byte written, or the client gone),
//! hands the finished request to every plugin that ran and has a log phase.

use super::handle::{ConnInfo, Shared};
use super::headers;
use crate::model::{PluginInstance, Route};
use crate::plugins::log::serialize::{request_head_size, response_head_size};
use crate::plugins::pipeline;
use crate::plugins::{self, BoxBody, BoxError, Exchange, LogRecord, RequestFacts, ResponseFacts};
use bytes::Bytes;
use http::Response;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

/// What the proxy gathered for the log phase while serving a request.
pub(super) struct PendingLog {
    /// The instances that ran and have a log phase, in the order they ran.
    pub plugins: Vec<PluginInstance>,
    /// The request-side facts (`started_at` is filled in by [`attach`](Self::attach)).
    pub request: RequestFacts,
    /// The path and query sent upstream.
    pub upstream_uri: Option<String>,
    /// The upstream target last tried.
    pub upstream_target: Option<String>,
    /// The wait for the upstream's response head.
    pub upstream_latency: Option<Duration>,
    /// Whether a logging plugin reads the headers (else only their sizes
    /// are kept: copying them was most of prometheus's cost).
    pub headers: bool,
}

/// A response body that runs the log phase when dropped.
struct Logged {
    inner: BoxBody,
    sent: u64,
    finish: Option<Finish>,
}

/// Everything the log phase needs except the byte count.
struct Finish {
    pending: PendingLog,
    response: ResponseFacts,
    started: Instant,
    shared: Arc<Shared>,
}

/// The instances whose log phase runs: those that ran and, when a plugin
/// answered or refused early, the route's later ones too (Kong collects
/// every plugin of the request and logs with each, so a logging plugin sees
/// the refusals of the authentication plugins before it). Only those with
/// a log phase: most requests have none, and an empty list allocates nothing.
pub(super) fn log_plugins<'t>(
    ran: &[&'t PluginInstance],
    route: &'t Route,
    exited: bool,
    https: bool,
) -> Vec<&'t PluginInstance> {
    let mut logging: Vec<&PluginInstance> =
        ran.iter().copied().filter(|p| plugins::logs(p)).collect();
    if exited {
        let skipped = route.plugins.iter().filter(|p| {
            pipeline::runs_on(p, https)
                && plugins::logs(p)
                && !ran.iter().any(|r| std::ptr::eq(*r, *p))
        });
        logging.extend(skipped);
    }
    logging
}

/// The request-side facts for the log phase, gathered only when a plugin
/// that ran has one (most requests pay nothing).
pub(super) fn pending_log(
    ran: &[&PluginInstance],
    exchange: &Exchange<'_>,
    route: &crate::model::Shared<Route>,
    conn: ConnInfo,
    host: &str,
) -> Option<PendingLog> {
    let plugins: Vec<PluginInstance> = ran
        .iter()
        .filter(|p| plugins::logs(p))
        .map(|p| (*p).clone())
        .collect();
    if plugins.is_empty() {
        return None;
    }
    let request = &exchange.request;
    let request_body_size = headers::get(request.headers(), "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let copy_headers = plugins.iter().any(plugins::log_headers);
    Some(PendingLog {
        headers: copy_headers,
        plugins,
        request: RequestFacts {
            started_at: std::time::SystemTime::UNIX_EPOCH,
            // Kong's `client_ip` is `$remote_addr`: the resolved client.
            client_addr: std::net::SocketAddr::new(exchange.forwarded_ip, conn.peer.port()),
            local_addr: conn.local,
            tls: conn.tls,
            method: request.method().clone(),
            uri: request.uri().clone(),
            version: request.version(),
            host: (!host.is_empty()).then(|| host.to_string()),
            request_headers: if copy_headers {
                request.headers().clone()
            } else {
                http::HeaderMap::new()
            },
            request_head_size: request_head_size(
                request.method(),
                request.uri(),
                request.headers(),
            ),
            request_body_size,
            route: route.clone(),
            services: exchange.table.services.clone(),
            authenticated: exchange.authenticated.clone(),
            context: exchange.context.clone(),
        },
        upstream_uri: None,
        upstream_target: None,
        upstream_latency: None,
    })
}

// === impl PendingLog ===

impl PendingLog {
    /// Wraps `response`'s body so that the log phase runs once it has been
    /// sent; the status and headers recorded are the ones the client gets.
    pub(super) fn attach(
        mut self,
        response: Response<BoxBody>,
        shared: Arc<Shared>,
        started: Instant,
    ) -> Response<BoxBody> {
        self.request.started_at = SystemTime::now() - started.elapsed();
        let (parts, inner) = response.into_parts();
        let facts = ResponseFacts {
            upstream_uri: self.upstream_uri.take(),
            upstream_target: self.upstream_target.take(),
            status: parts.status,
            response_headers: if self.headers {
                parts.headers.clone()
            } else {
                http::HeaderMap::new()
            },
            response_head_size: response_head_size(&parts.headers),
            response_body_size: 0,
            upstream_latency: self.upstream_latency,
            total_latency: Duration::ZERO,
        };
        let body = Logged {
            inner,
            sent: 0,
            finish: Some(Finish {
                pending: self,
                response: facts,
                started,
                shared,
            }),
        };
        Response::from_parts(parts, BoxBody::new(body))
    }
}

// === impl Logged ===

impl Body for Logged {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            self.sent += data.len() as u64;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        let Some(finish) = self.finish.take() else {
            return;
        };
        let Finish {
            pending,
            mut response,
            started,
            shared,
        } = finish;
        response.response_body_size = self.sent;
        response.total_latency = started.elapsed();
        let record = LogRecord {
            request: pending.request,
            response,
        };
        for plugin in &pending.plugins {
            plugins::log(plugin, &record, &shared.runtime);
        }
    }
}
