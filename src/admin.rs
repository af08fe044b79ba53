//! The operator's side: the status listener (`/status`, `/healthz`,
//! `/readyz`, `/metrics`) and a Kong-style Admin API, read-only for now.
//! Both only read the published table; neither can change what the proxy
//! serves.

mod api;
pub mod entities;
mod node;
mod oauth2;
mod read;
mod reply;
mod serve;
mod status;

use crate::metrics::Metrics;
use crate::plugins::Runtime;
use crate::publish::TableHandle;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;

/// The bound status listener.
pub struct StatusServer {
    listener: TcpListener,
    state: Arc<status::State>,
}

/// The bound Admin API listener.
pub struct AdminServer {
    listener: TcpListener,
    state: Arc<api::State>,
}

// === impl StatusServer ===

impl StatusServer {
    /// Binds `addr` (port 0 picks a free port).
    pub async fn bind(addr: SocketAddr, table: TableHandle, metrics: Metrics) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Self {
            listener,
            state: Arc::new(status::State {
                table,
                metrics,
                started: Instant::now(),
            }),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Serves forever.
    pub async fn serve(self) {
        let state = self.state;
        serve::serve(self.listener, move |request| {
            let response = status::handle(&state, &request);
            async move { response }
        })
        .await;
    }
}

impl std::fmt::Debug for StatusServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusServer")
            .field("addr", &self.local_addr())
            .finish_non_exhaustive()
    }
}

// === impl AdminServer ===

impl AdminServer {
    /// Binds `addr` (port 0 picks a free port).
    pub async fn bind(addr: SocketAddr, table: TableHandle, runtime: Runtime) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let listen = listener.local_addr()?;
        Ok(Self {
            listener,
            state: Arc::new(api::State {
                table,
                runtime,
                node_id: uuid::Uuid::new_v4().to_string(),
                hostname: node::hostname(),
                listen,
                started: Instant::now(),
            }),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.state.listen
    }

    /// Serves forever.
    pub async fn serve(self) {
        let state = std::sync::Arc::new(self.state);
        serve::serve(self.listener, move |request| {
            let state = state.clone();
            async move {
                // The token listing reads the token store, which may be
                // remote; every other read answers from the table.
                let path = request.uri().path().trim_end_matches('/');
                if request.method() == http::Method::GET && path == "/oauth2_tokens" {
                    return oauth2::tokens(&state).await;
                }
                api::handle(&state, &request)
            }
        })
        .await;
    }
}

impl std::fmt::Debug for AdminServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminServer")
            .field("addr", &self.local_addr())
            .finish_non_exhaustive()
    }
}
