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
use tokio::net::{TcpListener, TcpSocket};
use tokio_rustls::TlsAcceptor;

/// The upstream response head parser, for `fuzz/`.
#[doc(hidden)]
pub use forward::direct_fuzz;
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
    /// Proxy workers (`TOKIO_WORKER_THREADS`, else one per CPU): with one,
    /// the proxy serves on the caller's runtime; with more, each worker is
    /// a thread with a runtime of its own, its own listening sockets on the
    /// same addresses (`SO_REUSEPORT`: the kernel spreads connections over
    /// them, as nginx's `reuseport`) and its own upstream connection pools,
    /// so a request never waits on, or wakes, another worker.
    pub workers: usize,
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
            workers: 1,
        }
    }
}

/// Bound proxy listeners, not yet serving.
pub struct Proxy {
    http_addr: SocketAddr,
    https_addr: SocketAddr,
    http_gate: Arc<Gate>,
    https_gate: Arc<Gate>,
    acceptor: TlsAcceptor,
    default_certificate: CertificateDer<'static>,
    /// What the health checks use (and the only worker's, with one).
    shared: Arc<Shared>,
    workers: Vec<Worker>,
}

/// A worker's own runtime (none for the only worker).
struct Background(Option<tokio::runtime::Runtime>);

/// One worker's listening sockets and state. With more than one worker it
/// has its own runtime, on which its sockets are registered.
struct Worker {
    runtime: Background,
    http: TcpListener,
    https: TcpListener,
    shared: Arc<Shared>,
}

// === impl Background ===

impl Drop for Background {
    /// A worker dropped before it served (another listener failed to
    /// bind) drops its runtime on the caller's async context, where tokio
    /// refuses to wait for a runtime's shutdown (it panics).
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

// === impl Proxy ===

impl Proxy {
    /// Binds both listeners (port 0 picks a free port; every worker then
    /// listens on that one) and prepares TLS with a freshly generated
    /// default certificate.
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
        let shared = |upstreams| {
            Arc::new(Shared {
                table: table.clone(),
                runtime: runtime.clone(),
                metrics: metrics.clone(),
                upstreams,
                underscores_in_headers: config.underscores_in_headers,
            })
        };
        let upstreams = || forward::Upstreams::new(provider.clone()).map_err(io::Error::other);
        let main = shared(upstreams()?);
        let count = config.workers.max(1);
        let http = sockets(config.http_listen, count)?;
        let https = sockets(config.https_listen, count)?;
        let (http_addr, https_addr) = (http[0].local_addr()?, https[0].local_addr()?);
        let mut workers = Vec::with_capacity(count);
        for (http, https) in http.into_iter().zip(https) {
            workers.push(if count == 1 {
                Worker {
                    runtime: Background(None),
                    http: TcpListener::from_std(http)?,
                    https: TcpListener::from_std(https)?,
                    shared: main.clone(),
                }
            } else {
                // Sockets and timers only: signals (and child processes)
                // are the main runtime's, and their drivers would be
                // polled at every wake-up of every worker.
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_io()
                    .enable_time()
                    .build()?;
                // Registered with the worker's own event loop.
                let _entered = runtime.enter();
                Worker {
                    http: TcpListener::from_std(http)?,
                    https: TcpListener::from_std(https)?,
                    shared: shared(upstreams()?),
                    runtime: Background(Some(runtime)),
                }
            });
        }
        Ok(Proxy {
            http_addr,
            https_addr,
            http_gate: Gate::new("proxy", config.limits, &metrics),
            https_gate: Gate::new("proxy_tls", config.limits, &metrics),
            acceptor: TlsAcceptor::from(Arc::new(server_config)),
            default_certificate,
            shared: main,
            workers,
        })
    }

    /// The bound plain HTTP address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The bound HTTPS address.
    pub fn https_addr(&self) -> SocketAddr {
        self.https_addr
    }

    /// DER of the self-signed certificate served when no table certificate
    /// matches the SNI name.
    pub fn default_certificate(&self) -> &CertificateDer<'static> {
        &self.default_certificate
    }

    /// Serves both listeners forever, and runs the active health checks.
    /// With several workers each serves on its own thread; the health
    /// checks stay on the caller's runtime.
    pub async fn serve(self) {
        let probes = probe::run(self.shared);
        let (http_gate, https_gate, acceptor) = (self.http_gate, self.https_gate, self.acceptor);
        let mut inline = None;
        for (i, mut worker) in self.workers.into_iter().enumerate() {
            let runtime = worker.runtime.0.take();
            let (http_gate, https_gate) = (http_gate.clone(), https_gate.clone());
            let acceptor = acceptor.clone();
            let serve = async move {
                tokio::join!(
                    listener::serve_plain(worker.http, http_gate, worker.shared.clone()),
                    listener::serve_tls(worker.https, https_gate, acceptor, worker.shared),
                );
            };
            let Some(runtime) = runtime else {
                inline = Some(serve);
                continue;
            };
            let spawned = std::thread::Builder::new()
                .name(format!("proxy-worker-{i}"))
                .spawn(move || runtime.block_on(serve));
            if let Err(error) = spawned {
                tracing::error!(worker = i, %error, "cannot start a proxy worker thread; the others serve");
            }
        }
        match inline {
            Some(serve) => {
                tokio::join!(probes, serve);
            }
            None => probes.await,
        }
    }
}

/// `count` listening sockets on `addr` (after the first, on the port it
/// got), with `SO_REUSEPORT` when there are several. `SO_REUSEADDR` as
/// `TcpListener::bind` sets it; the backlog is its too.
fn sockets(addr: SocketAddr, count: usize) -> io::Result<Vec<std::net::TcpListener>> {
    let mut addr = addr;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        socket.set_reuseaddr(true)?;
        if count > 1 {
            socket.set_reuseport(true)?;
        }
        socket.bind(addr)?;
        let listener = socket.listen(1024)?;
        addr = listener.local_addr()?;
        out.push(listener.into_std()?);
    }
    Ok(out)
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("http", &self.http_addr())
            .field("https", &self.https_addr())
            .finish_non_exhaustive()
    }
}
