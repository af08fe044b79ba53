//! The data plane: two listeners (plain HTTP and HTTPS with SNI from the
//! table), a per-request pipeline (`handle`: check the host (`authority`),
//! normalise the path (`normalise`), route, plugins, forward), the upstream
//! side (`forward`: pooled client, round-robin, retries) and the single
//! place where errors become responses (`respond`).
//!
//! Each request loads the table once; a long-lived connection therefore sees
//! a newly published table on its next request.

mod authority;
mod body;
mod forward;
mod handle;
mod headers;
mod listener;
pub mod normalise;
pub mod respond;
mod rewrite;
pub mod tls;
mod upgrade;

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

/// Where the proxy listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyConfig {
    /// Plain HTTP listener (`--proxy-listen`).
    pub http_listen: SocketAddr,
    /// HTTPS listener (`--proxy-tls-listen`).
    pub https_listen: SocketAddr,
}

/// Bound proxy listeners, not yet serving.
pub struct Proxy {
    http: TcpListener,
    https: TcpListener,
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
        let server_config = tls::server_config(Arc::new(resolver)).map_err(io::Error::other)?;
        let upstreams = forward::Upstreams::new(provider).map_err(io::Error::other)?;
        let http = TcpListener::bind(config.http_listen).await?;
        let https = TcpListener::bind(config.https_listen).await?;
        Ok(Proxy {
            http,
            https,
            acceptor: TlsAcceptor::from(Arc::new(server_config)),
            default_certificate,
            shared: Arc::new(Shared {
                table,
                runtime,
                metrics,
                upstreams,
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

    /// Serves both listeners forever.
    pub async fn serve(self) {
        tokio::join!(
            listener::serve_plain(self.http, self.shared.clone()),
            listener::serve_tls(self.https, self.acceptor, self.shared),
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
