//! Sending a request to a service: the target its balancer picks, take an
//! idle connection to it or open one, try the next target when a
//! connection cannot be opened, and bound the wait for the response
//! headers.
//!
//! HTTP upstreams get HTTP/1.1 on pooled connections (`pool`), read and
//! written by the request itself when it has no body (`direct`); gRPC
//! upstreams get HTTP/2 on shared, multiplexed ones (`multiplex`); HTTPS
//! upstreams get whichever they choose by ALPN (WebSocket upgrades offer
//! only HTTP/1.1).
//!
//! Upstream TLS (`Scheme::Https`, `Scheme::Grpcs`) encrypts without
//! verifying the certificate unless the service asks for it, as Kong does
//! (`tls_verify` off by default); SNI and the verified name are the host
//! the upstream sees, as Kong's `proxy_ssl_name $upstream_host`.

mod connectors;
mod direct;
mod failure;
mod form;
mod multiplex;
mod passive;
mod pool;
mod unverified;
mod verifier;

use super::affinity::Affinity;
use super::body::{Reclaimable, Slot, UpstreamBody};
use super::headers::{is_upgrade, target_host};
use super::respond::ProxyError;
use crate::model::{Scheme, Service, Target, UpstreamTls};
use crate::plugins::BoxBody;
use crate::publish::balance::{Balancer, Pick};
use connectors::{Alpn, Channel, Connectors, PLAIN};
use failure::{exchange_error, headers_timeout, unprocessed};
use form::{absolute, bare_host, copy_head, into_h2};
use http::header::{HOST, SET_COOKIE, TE};
use http::uri::PathAndQuery;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri, Version};
use http_body::Body as _;
use multiplex::{InFlight, Multiplex};
use pool::{ConnectError, Opened, Pool, Pooled, Sender};

pub(crate) use direct::Body as DirectBody;
#[doc(hidden)]
pub use direct::fuzz as direct_fuzz;
pub(crate) use multiplex::Body as H2Body;
use std::sync::Arc;
use std::time::Duration;

/// What a response body holds of its connection until the body ends.
pub(crate) enum Lease {
    /// An HTTP/1.1 connection, returned to the pool by [`Lease::release`].
    Pooled(pool::Lease),
    /// A stream of a shared HTTP/2 connection.
    Stream {
        /// Frees the stream's slot when dropped.
        _held: InFlight,
    },
}

impl Lease {
    /// The body ended: an HTTP/1.1 connection serves the next request,
    /// an HTTP/2 stream frees its slot.
    pub(crate) fn release(self) {
        match self {
            Lease::Pooled(lease) => lease.release(),
            Lease::Stream { .. } => {}
        }
    }
}

/// The upstream side of the proxy: the connection pools. One per proxy;
/// which target a request goes to is its service's balancer's choice.
pub(super) struct Upstreams {
    pool: Pool,
    multiplex: Multiplex,
    connectors: Connectors,
}

/// The request to send, already rewritten for the upstream (path, headers
/// without `Host`).
pub(super) struct Outgoing {
    /// Method.
    pub method: Method,
    /// Upstream path and query.
    pub path_and_query: String,
    /// Headers; `Host` is added per target.
    pub headers: HeaderMap,
    /// A fixed `Host` (preserve_host or host_header); `None` means the
    /// target's host:port.
    pub host: Option<HeaderValue>,
    /// The body, streamed.
    pub body: BoxBody,
    /// The client's `grpc-timeout`, which bounds the wait for the response
    /// headers when shorter than the service's read timeout.
    pub deadline: Option<Duration>,
    /// The consistent-hashing key, and the cookie to set for it.
    pub affinity: Affinity,
    /// The response goes to the client as it came, nothing reads its
    /// fields: they may stay bytes (`listen::fields::RawFields`).
    pub raw_response: bool,
}

/// How an attempt ended when it did not produce a response.
enum Failed {
    /// Nothing was sent; the next target may be tried.
    Connect(ConnectError),
    /// Anything else.
    Fatal(ProxyError),
}

// === impl Upstreams ===

impl Upstreams {
    /// Creates the pool (no connection is opened yet). Must be called inside
    /// the Tokio runtime.
    pub(super) fn new(
        provider: Arc<rustls::crypto::CryptoProvider>,
    ) -> Result<Self, rustls::Error> {
        Ok(Self {
            pool: Pool::new(),
            multiplex: Multiplex::new(),
            connectors: Connectors::new(provider),
        })
    }

    /// The TLS client of a service's HTTPS health check probes: the trust
    /// its proxied traffic uses (its CAs, else the system's; its depth
    /// limit and client certificate), verifying when `verify` (Kong's
    /// `https_verify_certificate`, on by default) whatever the service's
    /// own `tls_verify` says; why not when that trust is not usable.
    pub(super) fn probe_tls(
        &self,
        service: &UpstreamTls,
        verify: bool,
    ) -> Result<tokio_rustls::TlsConnector, String> {
        let settings = UpstreamTls {
            verify,
            ..service.clone()
        };
        self.connectors.http1(&Arc::new(settings))
    }

    /// Sends `outgoing` to `service`, to the target its balancer picks,
    /// trying up to `retries` further targets (the balancer's next picks)
    /// when a connection cannot be opened. `tried` is set to the index in
    /// `service.targets` of the last target tried, for the access log.
    pub(super) async fn send(
        &self,
        service: &Service,
        balancer: Option<&Arc<Balancer>>,
        outgoing: Outgoing,
        tried: &mut Option<usize>,
    ) -> Result<Response<UpstreamBody>, ProxyError> {
        let targets = &service.targets;
        let Some(balancer) = balancer.filter(|_| !targets.is_empty()) else {
            return Err(ProxyError::NoTargets(service.name.clone()));
        };
        let attempts = (service.retries as usize)
            .saturating_add(1)
            .min(targets.len());
        let connect_timeout = Duration::from_millis(service.connect_timeout_ms);
        let mut read_timeout = Duration::from_millis(service.read_timeout_ms);
        let Outgoing {
            method,
            path_and_query,
            mut headers,
            host,
            body,
            deadline,
            affinity,
            raw_response,
        } = outgoing;
        if let Some(deadline) = deadline {
            read_timeout = read_timeout.min(deadline);
        }
        let h2 = service.scheme.is_grpc();
        // An upgrade (WebSocket) needs HTTP/1.1; any other HTTPS request
        // lets the upstream choose.
        let alpn = match service.scheme {
            Scheme::Https if !is_upgrade(&headers) => Alpn::Either,
            Scheme::Grpc | Scheme::Grpcs => Alpn::H2,
            Scheme::Http | Scheme::Https => Alpn::Http1,
        };
        if h2 {
            // gRPC servers use it to detect proxies that drop trailers.
            headers.insert(TE, HeaderValue::from_static("trailers"));
        }
        // Origin form: the connection already names the target. From the
        // `String` itself, so its buffer becomes the URI without a copy.
        let uri = PathAndQuery::try_from(path_and_query)
            .map(Uri::from)
            .map_err(|e| ProxyError::BadGateway(format!("invalid upstream path: {e}")))?;
        let target_form = uri.path_and_query().map_or("/", PathAndQuery::as_str);
        // A request without a body to a plain-HTTP upstream goes on a direct
        // connection (see `direct`); anything else through hyper's client.
        let direct =
            service.scheme == Scheme::Http && body.is_end_stream() && !is_upgrade(&headers);
        let slot = Slot::new(body);
        let mut last = String::new();
        let mut timed_out = false;
        // Filled only after a failure: the common request allocates nothing.
        let mut failed: Vec<usize> = Vec::new();
        for i in 0..attempts {
            let index = match balancer.pick(affinity.hash, &failed) {
                Pick::Target(index) => index,
                Pick::NoneHealthy => return Err(ProxyError::NoHealthyTarget(service.name.clone())),
                Pick::Exhausted => break,
            };
            *tried = Some(index);
            let target = &targets[index];
            let host = host.clone().or_else(|| target_host(target, service.scheme));
            let tls = service.scheme.is_tls().then(|| {
                let name = host.as_ref().and_then(|h| h.to_str().ok());
                let name = name.map_or(target.host.as_str(), bare_host);
                self.connectors.channel(&service.tls, name)
            });
            let to = Endpoint {
                scheme: service.scheme,
                target,
                key: tls.as_ref().map_or(PLAIN, |c| c.key),
                tls,
                alpn,
                connect_timeout,
                read_timeout,
            };
            let attempted = match host.as_ref().filter(|_| direct) {
                Some(host) => {
                    let in_flight = balancer.start(index);
                    let head = direct::encode(&method, target_form, host, &headers);
                    let attempted = self.attempt_direct(&to, &method, &head, raw_response);
                    (attempted.await, in_flight)
                }
                None => {
                    let mut request = Request::new(slot.attempt());
                    *request.method_mut() = method.clone();
                    // HTTP/1.1 upstreams (whatever the client spoke) take the
                    // origin form; HTTP/2 ones the absolute form, whose
                    // authority becomes `:authority` (there is no `Host` in
                    // HTTP/2).
                    if h2 {
                        *request.version_mut() = Version::HTTP_2;
                        *request.uri_mut() = absolute(service.scheme, host.as_ref(), &uri)?;
                    } else {
                        *request.version_mut() = Version::HTTP_11;
                        *request.uri_mut() = uri.clone();
                    }
                    // The last attempt takes the headers; earlier ones copy them.
                    *request.headers_mut() = if i + 1 == attempts {
                        std::mem::take(&mut headers)
                    } else {
                        headers.clone()
                    };
                    if let Some(host) = host.filter(|_| !h2) {
                        request.headers_mut().insert(HOST, host);
                    }
                    let in_flight = balancer.start(index);
                    // Boxed: hyper's client path is a future of some 3 KB
                    // that a request on the direct path never polls; inline
                    // it sized every request's future, which `handle` copies
                    // to the heap whole (7.3 KB per plain request).
                    let attempted = if h2 {
                        Box::pin(self.attempt_h2(&to, request, None)).await
                    } else {
                        Box::pin(self.attempt(&to, request)).await
                    };
                    (attempted, in_flight)
                }
            };
            let (attempted, in_flight) = attempted;
            passive::report(balancer, index, &attempted);
            match attempted {
                Ok(mut response) => {
                    response.body_mut().hold(in_flight);
                    if let Some(cookie) = affinity.set_cookie {
                        response.headers_mut().append(SET_COOKIE, cookie);
                    }
                    return Ok(response);
                }
                Err(Failed::Fatal(e)) => return Err(e),
                Err(Failed::Connect(error)) => {
                    if error.tls {
                        tracing::warn!(service = %service.name, %target, reason = %error.detail, "upstream TLS handshake failed");
                    } else {
                        tracing::debug!(service = %service.name, %target, detail = %error.detail, "upstream connect failed");
                    }
                    last = format!("{target}: {}", error.detail);
                    timed_out = error.timed_out;
                    failed.push(index);
                    if !slot.is_intact() {
                        break;
                    }
                }
            }
        }
        Err(if timed_out {
            ProxyError::GatewayTimeout(last)
        } else {
            ProxyError::BadGateway(last)
        })
    }

    /// One target: an idle connection when there is one, else a new one.
    /// A reused connection that turns out closed before the request left
    /// (the upstream ended it while idle) is replaced by a new one, once.
    /// An HTTPS upstream that chose HTTP/2 gets the request on its shared
    /// HTTP/2 connection.
    async fn attempt(
        &self,
        to: &Endpoint<'_>,
        request: Request<Reclaimable>,
    ) -> Result<Response<UpstreamBody>, Failed> {
        if to.alpn == Alpn::Either
            && let Some(chosen) = self.multiplex.existing(to.key, to.target)
        {
            let request = into_h2(to.scheme, request).map_err(Failed::Fatal)?;
            return self.attempt_h2(to, request, Some(chosen)).await;
        }
        let Some(sender) = self.pool.checkout(to.key, to.target) else {
            return self.fresh(to, request).await;
        };
        match self.exchange(to, sender, request).await {
            Err(Exchange::Unsent(request)) => self.fresh(to, request).await,
            result => result.map_err(Exchange::into_failed),
        }
    }

    /// The request on a new connection: HTTP/1.1, or HTTP/2 when the
    /// upstream chose it by ALPN.
    async fn fresh(
        &self,
        to: &Endpoint<'_>,
        request: Request<Reclaimable>,
    ) -> Result<Response<UpstreamBody>, Failed> {
        // Boxed: connecting (TCP, TLS, handshake) is a large future, needed
        // only when no idle connection exists; inline it would size every
        // request's future, which is moved to the heap per request.
        let opened =
            Box::pin(
                self.pool
                    .connect(to.tls.as_ref(), to.alpn, to.target, to.connect_timeout),
            )
            .await
            .map_err(Failed::Connect)?;
        match opened {
            Opened::Http1(sender) => self
                .exchange(to, sender, request)
                .await
                .map_err(Exchange::into_failed),
            Opened::Http2(stream) => {
                let chosen = self
                    .multiplex
                    .adopt(to.key, to.target, stream)
                    .await
                    .map_err(Failed::Connect)?;
                let request = into_h2(to.scheme, request).map_err(Failed::Fatal)?;
                Box::pin(self.attempt_h2(to, request, Some(chosen))).await
            }
        }
    }

    async fn exchange(
        &self,
        to: &Endpoint<'_>,
        mut sender: Sender,
        request: Request<Reclaimable>,
    ) -> Result<Response<UpstreamBody>, Exchange> {
        // The read timeout counts from the hand-over to the connection.
        match tokio::time::timeout(to.read_timeout, sender.try_send_request(request)).await {
            Ok(Ok(response)) => {
                // An upgraded connection becomes the tunnel: never reused.
                let lease = (response.status() != StatusCode::SWITCHING_PROTOCOLS).then(|| {
                    Lease::Pooled(self.pool.lease(Pooled::Hyper(sender), to.key, to.target))
                });
                Ok(response.map(|body| UpstreamBody::new(body, lease)))
            }
            Ok(Err(mut e)) => match e.take_message() {
                Some(request) => Err(Exchange::Unsent(request)),
                None => Err(Exchange::Failed(Failed::Fatal(exchange_error(e.error())))),
            },
            Err(_) => Err(Exchange::Failed(Failed::Fatal(headers_timeout(to)))),
        }
    }

    /// One target over HTTP/2: `chosen`, else the least busy shared
    /// connection, or a new one. A stream the upstream refused or that a
    /// `GOAWAY` cut off before it was processed is sent once more on a new
    /// connection, when its body has not been read yet.
    async fn attempt_h2(
        &self,
        to: &Endpoint<'_>,
        request: Request<Reclaimable>,
        chosen: Option<multiplex::Chosen>,
    ) -> Result<Response<UpstreamBody>, Failed> {
        let chosen = match chosen {
            Some(chosen) => chosen,
            None => Box::pin(
                self.multiplex
                    .choose(to.tls.as_ref(), to.target, to.connect_timeout),
            )
            .await
            .map_err(Failed::Connect)?,
        };
        let spare = chosen.reused.then(|| copy_head(&request));
        match self.exchange_h2(to, chosen, request).await {
            Err((error, Some(request))) => {
                let request = spare.map(|head| head.with_body(request)).ok_or(error)?;
                self.multiplex.forget_closed(to.key, to.target);
                let chosen = Box::pin(self.multiplex.choose(
                    to.tls.as_ref(),
                    to.target,
                    to.connect_timeout,
                ))
                .await
                .map_err(Failed::Connect)?;
                self.exchange_h2(to, chosen, request)
                    .await
                    .map_err(|(error, _)| error)
            }
            Err((error, None)) => Err(error),
            Ok(response) => Ok(response),
        }
    }

    /// Sends on one HTTP/2 connection. On failure the body comes back when
    /// the stream was never processed (so it may be retried elsewhere).
    async fn exchange_h2(
        &self,
        to: &Endpoint<'_>,
        chosen: multiplex::Chosen,
        request: Request<Reclaimable>,
    ) -> Result<Response<UpstreamBody>, (Failed, Option<Reclaimable>)> {
        let multiplex::Chosen {
            sender, in_flight, ..
        } = chosen;
        let body_slot = request.body().slot();
        // Boxed: the exchange (h2 stream handles, the body pump) would grow
        // every request's future, which is moved several times per request.
        let exchange = Box::pin(sender.exchange(request));
        match tokio::time::timeout(to.read_timeout, exchange).await {
            Ok(Ok(response)) => {
                let lease = Lease::Stream { _held: in_flight };
                Ok(response.map(|body| UpstreamBody::h2(body, lease)))
            }
            Ok(Err(multiplex::Failure::Unsent(e, body))) => {
                Err((Failed::Fatal(exchange_error(&e)), Some(body)))
            }
            Ok(Err(multiplex::Failure::Failed(e))) => {
                let retry =
                    (unprocessed(&*e) && body_slot.is_intact()).then(|| body_slot.attempt());
                Err((Failed::Fatal(exchange_error(&*e)), retry))
            }
            Err(_) => Err((Failed::Fatal(headers_timeout(to)), None)),
        }
    }
}

impl std::fmt::Debug for Upstreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstreams")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

/// Where one attempt goes, and its time limits.
pub(super) struct Endpoint<'a> {
    scheme: Scheme,
    target: &'a Target,
    /// The pool key: the TLS channel's, or `PLAIN`.
    key: u32,
    tls: Option<Channel>,
    alpn: Alpn,
    connect_timeout: Duration,
    read_timeout: Duration,
}

/// How one exchange on a connection ended without a response.
enum Exchange {
    /// The connection was closed before the request was written; the
    /// request comes back for another connection.
    Unsent(Request<Reclaimable>),
    /// Anything else.
    Failed(Failed),
}

impl Exchange {
    fn into_failed(self) -> Failed {
        match self {
            Exchange::Unsent(_) => Failed::Fatal(ProxyError::BadGateway(
                "upstream closed a new connection before the request was sent".into(),
            )),
            Exchange::Failed(failed) => failed,
        }
    }
}
