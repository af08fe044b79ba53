//! The data plane: two listeners (plain HTTP and HTTPS with SNI from the
//! table), a per-request pipeline (`handle`: check the host (`authority`),
//! normalise the path (`normalise`), route, plugins, forward), the upstream
//! side (`forward`: pooled client, round-robin, retries) and the single
//! place where errors become responses (`respond`).
//!
//! Each request loads the table once; a long-lived connection therefore sees
//! a newly published table on its next request.

mod affinity;
mod authority;
mod body;
mod forward;
mod grpc;
mod handle;
mod headers;
mod inbound;
mod listener;
mod logged;
mod probe;
mod request_id;
pub mod respond;
mod rewrite;
pub mod tls;
mod upgrade;

use crate::listen::{Gate, Limits};
use crate::metrics::Metrics;
use crate::plugins::Runtime;
use crate::publish::TableHandle;
use handle::Shared;
use rustls::pki_types::CertificateDer;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

pub use respond::ProxyError;

/// Where the proxy listens and what it accepts from clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyConfig {
    /// Plain HTTP listener (`--proxy-listen`).
    pub http_listen: SocketAddr,
    /// HTTPS listener (`--proxy-tls-listen`).
    pub https_listen: SocketAddr,
    /// Connection limits of both listeners (each counts its own).
    pub limits: Limits,
    /// Keep request headers whose names contain `_`
    /// (`--underscores-in-headers`); dropped by default, as nginx does.
    pub underscores_in_headers: bool,
}

impl ProxyConfig {
    /// Both listeners on `http_listen` / `https_listen` with the default
    /// limits and header rules.
    pub fn new(http_listen: SocketAddr, https_listen: SocketAddr) -> Self {
        Self {
            http_listen,
            https_listen,
            limits: Limits::default(),
            underscores_in_headers: false,
        }
    }
}

/// Bound proxy listeners, not yet serving.
pub struct Proxy {
    http: TcpListener,
    https: TcpListener,
    http_gate: Arc<Gate>,
    https_gate: Arc<Gate>,
    acceptor: TlsAcceptor,
    default_certificate: CertificateDer<'static>,
    shared: Arc<Shared>,
}

// === impl Proxy ===

impl Proxy {
    /// Binds both listeners (port 0 picks a free port) and prepares TLS with
    /// a freshly generated default certificate.
    pub async fn bind(
        config: &ProxyConfig,
        table: TableHandle,
        runtime: Runtime,
        metrics: Metrics,
    ) -> io::Result<Proxy> {
        let provider = tls::provider();
        let resolver =
            tls::CertResolver::new(table.clone(), provider.clone()).map_err(io::Error::other)?;
        let default_certificate = resolver.default_certificate().clone();
        let resolver = Arc::new(resolver);
        tokio::spawn(tls::refresh(Arc::downgrade(&resolver), table.subscribe()));
        let server_config = tls::server_config(resolver).map_err(io::Error::other)?;
        let upstreams = forward::Upstreams::new(provider).map_err(io::Error::other)?;
        let http = TcpListener::bind(config.http_listen).await?;
        let https = TcpListener::bind(config.https_listen).await?;
        Ok(Proxy {
            http,
            https,
            http_gate: Gate::new("proxy", config.limits, &metrics),
            https_gate: Gate::new("proxy_tls", config.limits, &metrics),
            acceptor: TlsAcceptor::from(Arc::new(server_config)),
            default_certificate,
            shared: Arc::new(Shared {
                table,
                runtime,
                metrics,
                upstreams,
                underscores_in_headers: config.underscores_in_headers,
            }),
        })
    }

    /// The bound plain HTTP address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http
            .local_addr()
            .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// The bound HTTPS address.
    pub fn https_addr(&self) -> SocketAddr {
        self.https
            .local_addr()
            .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// DER of the self-signed certificate served when no table certificate
    /// matches the SNI name.
    pub fn default_certificate(&self) -> &CertificateDer<'static> {
        &self.default_certificate
    }

    /// Serves both listeners forever, and runs the active health checks.
    pub async fn serve(self) {
        let probes = probe::run(self.shared.clone());
        tokio::join!(
            probes,
            listener::serve_plain(self.http, self.http_gate, self.shared.clone()),
            listener::serve_tls(self.https, self.https_gate, self.acceptor, self.shared),
        );
    }
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("http", &self.http_addr())
            .field("https", &self.https_addr())
            .finish_non_exhaustive()
    }
}
