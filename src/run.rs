//! Serving modes: wiring of sources, reconcile, servers and shutdown.
//! `standalone` lives here; `cluster` in its own file.

pub mod cluster;

use crate::admin::{AdminServer, StatusServer};
use crate::cli::{ServeArgs, StandaloneArgs};
use crate::metrics::Metrics;
use crate::plugins::Runtime;
use crate::proxy::{Proxy, ProxyConfig};
use crate::publish::TableHandle;
use crate::reconcile::Reconciler;
use crate::source::files;
use crate::tokens::TokenStore;
use crate::translate::Options;
use std::time::Duration;

/// Why a serving mode stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Bad flags or configuration: exit 64 before any port is bound.
    #[error("{0}")]
    Usage(String),
    /// A listener could not be bound, or another I/O failure.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
    /// Cluster-mode failure (client configuration and the like).
    #[error("{0}")]
    Cluster(String),
}

/// The listeners of one process, bound and ready to serve.
pub struct Servers {
    /// The proxy (HTTP and HTTPS).
    pub proxy: Proxy,
    /// Status, health, readiness and metrics.
    pub status: StatusServer,
    /// Kong-style Admin API.
    pub admin: AdminServer,
}

// === impl Servers ===

impl Servers {
    /// Binds every listener named by `args`.
    pub async fn bind(
        args: &ServeArgs,
        handle: TableHandle,
        runtime: Runtime,
        metrics: Metrics,
    ) -> Result<Self, RunError> {
        let io = |what: &str, addr: std::net::SocketAddr| {
            let context = format!("cannot listen on {addr} ({what})");
            move |source| RunError::Io { context, source }
        };
        let config = ProxyConfig {
            http_listen: args.proxy_listen,
            https_listen: args.proxy_tls_listen,
        };
        let proxy = Proxy::bind(&config, handle.clone(), runtime.clone(), metrics.clone())
            .await
            .map_err(io("proxy", args.proxy_listen))?;
        let status = StatusServer::bind(args.status_listen, handle.clone(), metrics.clone())
            .await
            .map_err(io("status", args.status_listen))?;
        let admin = AdminServer::bind(args.admin_listen, handle, runtime)
            .await
            .map_err(io("admin", args.admin_listen))?;
        tracing::info!(
            http = %proxy.http_addr(),
            https = %proxy.https_addr(),
            status = %status.local_addr(),
            admin = %admin.local_addr(),
            "listening"
        );
        Ok(Self {
            proxy,
            status,
            admin,
        })
    }

    /// Serves until the process is asked to stop.
    pub fn spawn(self) {
        tokio::spawn(self.proxy.serve());
        tokio::spawn(self.status.serve());
        tokio::spawn(self.admin.serve());
    }
}

/// Builds the plugin runtime for `args` (token store, trusted IPs).
pub async fn runtime(args: &ServeArgs, metrics: &Metrics) -> Result<Runtime, RunError> {
    let trusted = args.trusted().map_err(RunError::Usage)?;
    let tokens = TokenStore::from_url(&args.token_store, metrics.clone())
        .await
        .map_err(|e| RunError::Usage(format!("--token-store: {e}")))?;
    Ok(Runtime::new(tokens, trusted))
}

/// `kingress standalone -f PATH`: load manifests, serve, reload on change.
pub async fn standalone(args: StandaloneArgs) -> Result<(), RunError> {
    args.serve.validate().map_err(RunError::Usage)?;
    let metrics = Metrics::new();
    let handle = TableHandle::new();
    let options = Options {
        ingress_class: args.serve.ingress_class.clone(),
    };
    let mut reconciler = Reconciler::new(handle.clone(), options, metrics.clone());

    // The first load must succeed: a bad file at start is a usage error.
    let objects = files::load(&args.path)
        .map_err(|e| RunError::Usage(format!("cannot load {}: {e}", args.path.display())))?;
    let runtime = runtime(&args.serve, &metrics).await?;
    reconciler.reconcile(&objects);

    let servers = Servers::bind(&args.serve, handle, runtime, metrics).await?;
    servers.spawn();

    let (_watcher, mut changes) = files::watch(&args.path).map_err(|e| RunError::Io {
        context: format!("cannot watch {}", args.path.display()),
        source: std::io::Error::other(e),
    })?;
    tokio::select! {
        _ = reload_loop(&args.path, args.serve.debounce, &mut changes, &mut reconciler) => {}
        _ = shutdown_signal() => {}
    }
    Ok(())
}

/// Reloads after each burst of file events; a bad file keeps the last good
/// table and logs why.
async fn reload_loop(
    path: &std::path::Path,
    debounce: Duration,
    changes: &mut tokio::sync::mpsc::Receiver<()>,
    reconciler: &mut Reconciler,
) {
    while changes.recv().await.is_some() {
        // Coalesce the burst of events an editor or `cp` produces.
        loop {
            match tokio::time::timeout(debounce, changes.recv()).await {
                Ok(Some(())) => continue,
                Ok(None) => return,
                Err(_) => break,
            }
        }
        match files::load(path) {
            Ok(objects) => {
                reconciler.reconcile(&objects);
            }
            Err(e) => {
                tracing::error!(error = %e, "manifests not reloaded; keeping the last good table")
            }
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("shutting down");
}
