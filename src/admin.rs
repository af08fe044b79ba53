//! The operator's side: the status listener (`/status`, `/healthz`,
//! `/readyz`, `/metrics`) and a Kong-style Admin API. Reads answer from the
//! published table. In standalone mode the Admin API also takes writes
//! (`write`): they go to a declarative file in the watched directory, which
//! is reloaded like any other file, so the table is still only published by
//! the reconcile step. In cluster mode writes are refused.
//!
//! Three parts that do not import each other's internals, imports pointing
//! one way: `status` (the status listener), `read` (Admin API reads, from
//! the table and the Admin API's document) and `write` (Admin API writes,
//! checked through the reconciler); `api` dispatches a request to `read` or
//! `write`; `reply` and `serve` are the leaves all of them share.

mod api;
pub mod guard;
mod page;
mod proxy_cache;
mod read;
mod reply;
mod serve;
mod status;
mod target_health;
mod tokens;
pub mod write;

pub use read::entities;

use crate::listen::{Gate, Limits};
use crate::metrics::Metrics;
use crate::model::Sensitive;
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
    gate: Arc<Gate>,
    state: Arc<status::State>,
}

/// The bound Admin API listener.
pub struct AdminServer {
    listener: TcpListener,
    gate: Arc<Gate>,
    state: api::State,
}

// === impl StatusServer ===

impl StatusServer {
    /// Binds `addr` (port 0 picks a free port); connections get `limits`.
    pub async fn bind(
        addr: SocketAddr,
        table: TableHandle,
        metrics: Metrics,
        limits: Limits,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Self {
            listener,
            gate: Gate::new("status", limits, &metrics),
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
        serve::serve(self.listener, self.gate, move |request| {
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
    /// Binds `addr` (port 0 picks a free port); connections get `limits`
    /// and are counted in `metrics`.
    pub async fn bind(
        addr: SocketAddr,
        table: TableHandle,
        runtime: Runtime,
        metrics: &Metrics,
        limits: Limits,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let listen = listener.local_addr()?;
        Ok(Self {
            listener,
            gate: Gate::new("admin", limits, metrics),
            state: api::State {
                node: read::Node {
                    table,
                    runtime,
                    node_id: uuid::Uuid::new_v4().to_string(),
                    hostname: read::hostname(),
                    listen,
                    started: Instant::now(),
                },
                writes: None,
                guard: guard::Guard::new(listen),
            },
        })
    }

    /// Accepts writes (standalone mode), kept by `writes`. Without this
    /// call every write answers 405.
    pub fn writable(mut self, writes: write::Writes) -> Self {
        self.state.writes = Some(writes);
        self
    }

    /// Requires `Kong-Admin-Token: <token>` on every request when `token`
    /// is set, and also accepts writes addressed to `hosts` (see
    /// [`guard::Guard`]); a host entry that does not parse is the error.
    pub fn guarded(mut self, token: Option<&Sensitive>, hosts: &[String]) -> Result<Self, String> {
        let mut guard = guard::Guard::new(self.state.node.listen).allow_hosts(hosts)?;
        if let Some(token) = token {
            guard = guard.require_token(token);
        }
        self.state.guard = guard;
        Ok(self)
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.state.node.listen
    }

    /// Serves forever.
    pub async fn serve(self) {
        let state = Arc::new(self.state);
        serve::serve(self.listener, self.gate, move |request| {
            let state = state.clone();
            async move {
                if let Err(refusal) = state.guard.check(&request) {
                    return refusal.respond(request.method(), request.uri().path());
                }
                let method = request.method().clone();
                let is_read = method == http::Method::GET || method == http::Method::HEAD;
                // Tokens live in the token store, which may be remote;
                // every other read answers from the table.
                if let Some(answer) = api::proxy_cache(&state, &request) {
                    return answer;
                }
                let upstreams = match &state.writes {
                    Some(writes) if api::is_upstreams(&request) => writes.snapshot().await,
                    _ => None,
                };
                if let Some(answer) = api::target_health(&state, &request, upstreams.as_ref()) {
                    return answer;
                }
                if api::is_tokens(&request) {
                    return api::tokens(&state, request, is_read).await;
                }
                if !is_read {
                    return api::write(&state, request).await;
                }
                let declared = match &state.writes {
                    Some(writes) => writes.snapshot().await,
                    None => None,
                };
                api::handle(&state, &request, declared.as_ref())
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
