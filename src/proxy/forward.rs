//! Sending a request to a service: pick a target round-robin, connect
//! through a pooled client, try the next target when the connection fails,
//! and bound the wait for the response headers.
//!
//! One pooled client exists per distinct connect timeout (in practice one or
//! two), because the connector's timeout is fixed at construction.
//! Upstream TLS (`Scheme::Https`) encrypts without verifying the
//! certificate, as Kong does by default (`tls_verify` off): targets are Pod
//! IPs that no certificate names.

use super::body::{Reclaimable, Slot};
use super::headers::target_host;
use super::respond::ProxyError;
use crate::model::{Scheme, Service, Target};
use crate::plugins::BoxBody;
use http::header::HOST;
use http::{HeaderMap, HeaderValue, Method, Request, Response, Uri, Version};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

type Pooled = Client<HttpsConnector<HttpConnector>, Reclaimable>;

/// Round-robin counters above this many services are reset (services that
/// left the table must not accumulate forever).
const MAX_COUNTERS: usize = 65_536;

/// The upstream side of the proxy: pooled clients and per-service
/// round-robin counters. One per proxy.
pub struct Upstreams {
    /// Behind an `Arc`: a request clones one pointer, not the client's
    /// connector and pool handles.
    clients: Mutex<HashMap<u64, Arc<Pooled>>>,
    counters: Mutex<HashMap<String, usize>>,
    tls: Arc<rustls::ClientConfig>,
}

/// The request to send, already rewritten for the upstream (path, headers
/// without `Host`).
pub struct Outgoing {
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
    Connect { timed_out: bool, detail: String },
    /// Anything else.
    Fatal(ProxyError),
}

// === impl Upstreams ===

impl Upstreams {
    /// Creates the pool (no connection is opened yet).
    pub fn new(provider: Arc<rustls::crypto::CryptoProvider>) -> Result<Self, rustls::Error> {
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(unverified::AcceptAny::new()))
            .with_no_client_auth();
        Ok(Self {
            clients: Mutex::new(HashMap::new()),
            counters: Mutex::new(HashMap::new()),
            tls: Arc::new(tls),
        })
    }

    /// Sends `outgoing` to `service`, trying up to `retries` further targets
    /// when a connection cannot be opened.
    pub async fn send(
        &self,
        service: &Service,
        outgoing: Outgoing,
    ) -> Result<Response<Incoming>, ProxyError> {
        let targets = &service.targets;
        if targets.is_empty() {
            return Err(ProxyError::NoTargets(service.name.clone()));
        }
        let attempts = (service.retries as usize)
            .saturating_add(1)
            .min(targets.len());
        let first = self.next_index(&service.name, targets.len());
        let client = self.client(service.connect_timeout_ms);
        let read_timeout = Duration::from_millis(service.read_timeout_ms);
        let Outgoing {
            method,
            path_and_query,
            mut headers,
            host,
            body,
        } = outgoing;
        let slot = Slot::new(body);
        let mut last = String::new();
        let mut timed_out = false;
        for i in 0..attempts {
            let target = &targets[(first + i) % targets.len()];
            let host = host.clone().or_else(|| target_host(target, service.scheme));
            let uri = upstream_uri(service.scheme, target, &path_and_query)?;
            let mut request = Request::new(slot.attempt());
            *request.method_mut() = method.clone();
            *request.uri_mut() = uri;
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
            match attempt(&client, request, read_timeout).await {
                Ok(response) => return Ok(response),
                Err(Failed::Fatal(e)) => return Err(e),
                Err(Failed::Connect {
                    timed_out: t,
                    detail,
                }) => {
                    tracing::debug!(service = %service.name, %target, %detail, "upstream connect failed");
                    last = format!("{target}: {detail}");
                    timed_out = t;
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

    fn client(&self, connect_timeout_ms: u64) -> Arc<Pooled> {
        let mut clients = self.clients.lock();
        clients
            .entry(connect_timeout_ms)
            .or_insert_with(|| {
                let mut http = HttpConnector::new();
                http.enforce_http(false);
                http.set_nodelay(true);
                http.set_connect_timeout(Some(Duration::from_millis(connect_timeout_ms)));
                let connector = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config((*self.tls).clone())
                    .https_or_http()
                    .enable_http1()
                    .wrap_connector(http);
                Arc::new(
                    Client::builder(TokioExecutor::new())
                        .pool_timer(TokioTimer::new())
                        .pool_idle_timeout(Duration::from_secs(60))
                        .build(connector),
                )
            })
            .clone()
    }
}

impl std::fmt::Debug for Upstreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstreams").finish_non_exhaustive()
    }
}

fn upstream_uri(scheme: Scheme, target: &Target, path_and_query: &str) -> Result<Uri, ProxyError> {
    let scheme = match scheme {
        Scheme::Http => "http",
        Scheme::Https => "https",
    };
    // From the `String` itself: its buffer becomes the URI without a copy.
    Uri::try_from(format!("{scheme}://{target}{path_and_query}"))
        .map_err(|e| ProxyError::BadGateway(format!("invalid upstream URI for {target}: {e}")))
}

async fn attempt(
    client: &Pooled,
    request: Request<Reclaimable>,
    read_timeout: Duration,
) -> Result<Response<Incoming>, Failed> {
    // The pool hides when the connection is ready, so the read timeout
    // counts from the hand-over; the connect timeout is the connector's.
    match tokio::time::timeout(read_timeout, client.request(request)).await {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(e)) if e.is_connect() => Err(Failed::Connect {
            timed_out: caused_by_timeout(&e),
            detail: describe(&e),
        }),
        Ok(Err(e)) => Err(Failed::Fatal(ProxyError::BadGateway(describe(&e)))),
        Err(_) => Err(Failed::Fatal(ProxyError::GatewayTimeout(format!(
            "no response headers within {} ms",
            read_timeout.as_millis()
        )))),
    }
}

fn caused_by_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return true;
        }
        current = e.source();
    }
    false
}

/// The error and its causes on one line (hyper's top-level message alone is
/// rarely useful).
fn describe(error: &hyper_util::client::legacy::Error) -> String {
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
    pub struct AcceptAny(WebPkiSupportedAlgorithms);

    impl AcceptAny {
        pub fn new() -> Self {
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
