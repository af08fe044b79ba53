//! Sending a request to a service: pick a target round-robin, take an
//! idle connection to it or open one, try the next target when a
//! connection cannot be opened, and bound the wait for the response
//! headers.
//!
//! Upstream TLS (`Scheme::Https`) encrypts without verifying the
//! certificate, as Kong does by default (`tls_verify` off): targets are Pod
//! IPs that no certificate names.

mod pool;

use super::body::{ClientBodyError, Reclaimable, Slot, UpstreamBody};
use super::headers::target_host;
use super::respond::ProxyError;
use crate::model::{Scheme, Service, Target};
use crate::plugins::{BodyRefused, BoxBody, PluginError};
use http::header::HOST;
use http::uri::PathAndQuery;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri, Version};
use parking_lot::Mutex;
use pool::{ConnectError, Pool, Sender};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub(super) use pool::Lease;

/// Round-robin counters above this many services are reset (services that
/// left the table must not accumulate forever).
const MAX_COUNTERS: usize = 65_536;

/// The upstream side of the proxy: the connection pool and per-service
/// round-robin counters. One per proxy.
pub(super) struct Upstreams {
    pool: Pool,
    counters: Mutex<HashMap<String, usize>>,
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
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(unverified::AcceptAny::new()))
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            pool: Pool::new(Arc::new(tls)),
            counters: Mutex::new(HashMap::new()),
        })
    }

    /// Sends `outgoing` to `service`, trying up to `retries` further targets
    /// when a connection cannot be opened. `tried` is set to the index in
    /// `service.targets` of the last target tried, for the access log.
    pub(super) async fn send(
        &self,
        service: &Service,
        outgoing: Outgoing,
        tried: &mut Option<usize>,
    ) -> Result<Response<UpstreamBody>, ProxyError> {
        let targets = &service.targets;
        if targets.is_empty() {
            return Err(ProxyError::NoTargets(service.name.clone()));
        }
        let attempts = (service.retries as usize)
            .saturating_add(1)
            .min(targets.len());
        let first = self.next_index(&service.name, targets.len());
        let connect_timeout = Duration::from_millis(service.connect_timeout_ms);
        let read_timeout = Duration::from_millis(service.read_timeout_ms);
        let Outgoing {
            method,
            path_and_query,
            mut headers,
            host,
            body,
        } = outgoing;
        // Origin form: the connection already names the target. From the
        // `String` itself, so its buffer becomes the URI without a copy.
        let uri = PathAndQuery::try_from(path_and_query)
            .map(Uri::from)
            .map_err(|e| ProxyError::BadGateway(format!("invalid upstream path: {e}")))?;
        let slot = Slot::new(body);
        let mut last = String::new();
        let mut timed_out = false;
        for i in 0..attempts {
            let index = (first + i) % targets.len();
            *tried = Some(index);
            let target = &targets[index];
            let host = host.clone().or_else(|| target_host(target, service.scheme));
            let mut request = Request::new(slot.attempt());
            *request.method_mut() = method.clone();
            *request.uri_mut() = uri.clone();
            // Upstreams speak HTTP/1.1 whatever the client spoke.
            *request.version_mut() = Version::HTTP_11;
            // The last attempt takes the headers; earlier ones copy them.
            *request.headers_mut() = if i + 1 == attempts {
                std::mem::take(&mut headers)
            } else {
                headers.clone()
            };
            if let Some(host) = host {
                request.headers_mut().insert(HOST, host);
            }
            let to = Endpoint {
                scheme: service.scheme,
                target,
                connect_timeout,
                read_timeout,
            };
            match self.attempt(&to, request).await {
                Ok(response) => return Ok(response),
                Err(Failed::Fatal(e)) => return Err(e),
                Err(Failed::Connect(error)) => {
                    tracing::debug!(service = %service.name, %target, detail = %error.detail, "upstream connect failed");
                    last = format!("{target}: {}", error.detail);
                    timed_out = error.timed_out;
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
    async fn attempt(
        &self,
        to: &Endpoint<'_>,
        request: Request<Reclaimable>,
    ) -> Result<Response<UpstreamBody>, Failed> {
        let (sender, reused) = match self.pool.checkout(to.scheme, to.target) {
            Some(sender) => (sender, true),
            None => (self.open(to).await?, false),
        };
        match self.exchange(to, sender, request).await {
            Err(Exchange::Unsent(request)) if reused => {
                let sender = self.open(to).await?;
                self.exchange(to, sender, request)
                    .await
                    .map_err(Exchange::into_failed)
            }
            result => result.map_err(Exchange::into_failed),
        }
    }

    async fn open(&self, to: &Endpoint<'_>) -> Result<Sender, Failed> {
        // Boxed: connecting (TCP, TLS, handshake) is a large future, needed
        // only when no idle connection exists; inline it would size every
        // request's future, which is moved to the heap per request.
        Box::pin(self.pool.connect(to.scheme, to.target, to.connect_timeout))
            .await
            .map_err(Failed::Connect)
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
                let lease = (response.status() != StatusCode::SWITCHING_PROTOCOLS)
                    .then(|| self.pool.lease(sender, to.scheme, to.target));
                Ok(response.map(|body| UpstreamBody::new(body, lease)))
            }
            Ok(Err(mut e)) => match e.take_message() {
                Some(request) => Err(Exchange::Unsent(request)),
                None if let Some(refused) = refused_body(e.error()) => Err(Exchange::Failed(
                    Failed::Fatal(ProxyError::Plugin(PluginError::Plain {
                        status: refused.status,
                        message: refused.message.into(),
                    })),
                )),
                None if client_fault(e.error()) => Err(Exchange::Failed(Failed::Fatal(
                    ProxyError::BadRequest(describe(e.error())),
                ))),
                None => Err(Exchange::Failed(Failed::Fatal(ProxyError::BadGateway(
                    describe(e.error()),
                )))),
            },
            Err(_) => Err(Exchange::Failed(Failed::Fatal(ProxyError::GatewayTimeout(
                format!(
                    "no response headers within {} ms",
                    to.read_timeout.as_millis()
                ),
            )))),
        }
    }

    fn next_index(&self, service: &str, len: usize) -> usize {
        let mut counters = self.counters.lock();
        // Looked up by `&str`: the name is copied only for a new service.
        if !counters.contains_key(service) {
            if counters.len() >= MAX_COUNTERS {
                counters.clear();
            }
            counters.insert(service.to_string(), 0);
        }
        let Some(counter) = counters.get_mut(service) else {
            return 0;
        };
        let index = *counter % len;
        *counter = counter.wrapping_add(1);
        index
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
struct Endpoint<'a> {
    scheme: Scheme,
    target: &'a Target,
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

/// A plugin's refusal of the request body while it streamed, if that is
/// why the exchange failed.
fn refused_body(error: &hyper::Error) -> Option<BodyRefused> {
    use std::error::Error as _;
    let mut current = error.source();
    while let Some(e) = current {
        if let Some(refused) = e.downcast_ref::<BodyRefused>() {
            return Some(*refused);
        }
        current = e.source();
    }
    None
}

/// Whether the exchange failed because the client's request body did
/// (then it is the client's error, 400, not the upstream's).
fn client_fault(error: &hyper::Error) -> bool {
    use std::error::Error as _;
    let mut current = error.source();
    while let Some(e) = current {
        if e.is::<ClientBodyError>() {
            return true;
        }
        current = e.source();
    }
    false
}

/// The error and its causes on one line (hyper's top-level message alone is
/// rarely useful).
fn describe(error: &hyper::Error) -> String {
    use std::error::Error as _;
    let mut text = error.to_string();
    let mut current = error.source();
    while let Some(e) = current {
        text.push_str(": ");
        text.push_str(&e.to_string());
        current = e.source();
    }
    text
}

/// The certificate verifier for upstream TLS: accepts any certificate but
/// still checks the handshake signatures, so the session is encrypted to
/// whoever holds the presented key.
mod unverified {
    use rustls::DigitallySignedStruct;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{
        WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature,
    };
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

    #[derive(Debug)]
    pub(super) struct AcceptAny(WebPkiSupportedAlgorithms);

    impl AcceptAny {
        pub(super) fn new() -> Self {
            Self(rustls::crypto::ring::default_provider().signature_verification_algorithms)
        }
    }

    impl ServerCertVerifier for AcceptAny {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(message, cert, dss, &self.0)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(message, cert, dss, &self.0)
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.supported_schemes()
        }
    }
}
