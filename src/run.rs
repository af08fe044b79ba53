//! Serving modes: wiring of sources, reconcile, servers and shutdown.
//! `standalone` lives here; `cluster` in its own file.

pub mod check;
pub mod cluster;
pub mod logging;
mod reload;

use crate::admin::{AdminServer, StatusServer};
use crate::cli::{ServeArgs, StandaloneArgs};
use crate::metrics::Metrics;
use crate::model::Problem;
use crate::plugins::Runtime;
use crate::proxy::{Proxy, ProxyConfig};
use crate::publish::TableHandle;
use crate::reconcile::{Change, Outcome, Reconciler};
use crate::secret::Keyring;
use crate::source::files;
use crate::tokens::TokenStore;
use crate::tokens::redis::connect::RedisTarget;
use crate::translate::Options;
use parking_lot::Mutex;
use std::sync::Arc;

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
        crate::listen::raise_fd_limit();
        let limits = args.limits();
        let config = ProxyConfig {
            http_listen: args.proxy_listen,
            https_listen: args.proxy_tls_listen,
            limits,
            underscores_in_headers: args.underscores_in_headers,
            // `main` refused a malformed count before starting.
            workers: workers().unwrap_or(1),
        };
        let proxy = Proxy::bind(&config, handle.clone(), runtime.clone(), metrics.clone())
            .await
            .map_err(io("proxy", args.proxy_listen))?;
        let status =
            StatusServer::bind(args.status_listen, handle.clone(), metrics.clone(), limits)
                .await
                .map_err(io("status", args.status_listen))?;
        let admin = AdminServer::bind(args.admin_listen, handle, runtime, &metrics, limits)
            .await
            .map_err(io("admin", args.admin_listen))?
            .guarded(
                args.admin_token().map_err(RunError::Usage)?.as_ref(),
                &args.admin_allowed_hosts,
            )
            .map_err(RunError::Usage)?;
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

/// The proxy's workers: `TOKIO_WORKER_THREADS` (the variable Tokio's
/// runtime reads, kept with its meaning), else one per CPU.
pub fn workers() -> Result<usize, String> {
    match std::env::var("TOKIO_WORKER_THREADS") {
        Ok(value) => match value.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!(
                "TOKIO_WORKER_THREADS must be a positive whole number, not {value:?}"
            )),
        },
        Err(_) => Ok(std::thread::available_parallelism().map_or(1, usize::from)),
    }
}

/// Builds the plugin runtime for `args` (token store, trusted IPs).
pub async fn runtime(args: &ServeArgs, metrics: &Metrics) -> Result<Runtime, RunError> {
    let trusted = args.trusted().map_err(RunError::Usage)?;
    let real_ip = args.real_ip().map_err(RunError::Usage)?;
    let keys = seal_keys(args).map_err(RunError::Usage)?;
    let url = args.token_store.expose();
    let tokens = if url == "memory" {
        TokenStore::open_with_keys(url, metrics.clone(), args.max_tokens_per_credential, keys)
            .await
            .map_err(|e| RunError::Usage(format!("--token-store: {e}")))?
    } else {
        let target = RedisTarget::parse(url, &args.redis_tls())
            .map_err(|e| RunError::Usage(format!("--token-store: {e}")))?;
        tracing::info!(redis = %target.redacted(), "token store in redis");
        TokenStore::open_redis(
            target,
            metrics.clone(),
            args.max_tokens_per_credential,
            keys,
        )
        .await
    };
    Ok(Runtime::new(tokens, trusted)
        .with_real_ip(real_ip)
        .proxy_cache_bounds(crate::plugins::proxy_cache::Bounds {
            memory: args.proxy_cache_memory,
            max_entry: args.proxy_cache_max_entry,
        })
        .with_metrics(metrics.clone()))
}

/// `--hash-api-keys`: one per-process key, shared by the reconciler's
/// `Sealer` (which digests the table's keys) and the plugins' lookups.
pub fn api_key_digest(args: &ServeArgs) -> Option<crate::secret::DigestKey> {
    args.hash_api_keys.then(crate::secret::DigestKey::random)
}

/// The keys of `--token-seal-keys-file`, or the built-in key.
fn seal_keys(args: &ServeArgs) -> Result<Keyring, String> {
    let Some(path) = &args.token_seal_keys_file else {
        return Ok(Keyring::builtin());
    };
    let context = format!("--token-seal-keys-file {}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| format!("{context}: {e}"))?;
    Keyring::parse(&text).map_err(|e| format!("{context}: {e}"))
}

/// `kingress standalone -f PATH`: load manifests, serve, reload on change.
pub async fn standalone(args: StandaloneArgs) -> Result<(), RunError> {
    args.serve.validate().map_err(RunError::Usage)?;
    let metrics = Metrics::new();
    let handle = TableHandle::new();
    let options = Options {
        ingress_class: args.serve.ingress_class.clone(),
    };
    let api_keys = api_key_digest(&args.serve);
    let mut reconciler = Reconciler::new(handle.clone(), options, metrics.clone());
    if let Some(key) = api_keys.clone() {
        reconciler = reconciler.digest_api_keys(key);
    }
    let loader = files::Loader::new(&args.manifests.path)
        .with_max_size(args.manifests.max_manifest_size)
        .with_metrics(metrics.clone());
    let control = Control::new(loader, reconciler);

    // A bad document at start is reported and the rest served; only a
    // path that cannot be read, or manifests of which nothing loads, is a
    // usage error.
    control
        .blocking(ControlState::first_load)
        .await
        .map_err(|e| {
            RunError::Usage(format!(
                "cannot load {}: {e}",
                args.manifests.path.display()
            ))
        })?;
    let mut runtime = runtime(&args.serve, &metrics).await?;
    if let Some(key) = api_keys {
        runtime = runtime.digest_api_keys(key);
    }

    // Watch before serving: once `/readyz` answers, a user (or a test) may
    // edit a file at once, and an edit made before the watch exists would
    // never be seen.
    let watched = control.inner.lock().loader.watch();
    let (_watcher, mut changes) = watched.map_err(|e| RunError::Io {
        context: format!("cannot watch {}", args.manifests.path.display()),
        source: std::io::Error::other(e),
    })?;

    let mut servers = Servers::bind(&args.serve, handle, runtime, metrics).await?;
    servers.admin = servers.admin.writable(admin_writes(&args, &control));
    servers.spawn();
    tokio::select! {
        _ = reload::reload_loop(args.serve.debounce(), &mut changes, &control) => {}
        _ = shutdown_signal() => {}
    }
    Ok(())
}

/// The standalone control plane: the manifests (cached file by file) and
/// the reconciler that publishes what they hold. Loading and translating thousands of objects
/// takes hundreds of milliseconds of CPU, so each reload runs on Tokio's
/// blocking pool, never on an async worker: with one worker thread the
/// proxy would otherwise stop answering for the whole reload.
#[derive(Clone)]
struct Control {
    inner: Arc<Mutex<ControlState>>,
}

struct ControlState {
    loader: files::Loader,
    reconciler: Reconciler,
}

// === impl Control ===

impl Control {
    fn new(loader: files::Loader, reconciler: Reconciler) -> Self {
        Self {
            inner: Arc::new(Mutex::new(ControlState { loader, reconciler })),
        }
    }

    /// Reads the manifests and reconciles them, off the async workers.
    /// Concurrent calls run one after the other.
    async fn reload(&self) -> Result<Outcome, files::LoadError> {
        self.blocking(ControlState::reload).await
    }

    /// The problems `change` would add to what is served, from the
    /// reconciler's objects and memo (nothing is read from disk).
    async fn check(&self, change: Change) -> Vec<Problem> {
        self.blocking(move |state| state.reconciler.check(change))
            .await
    }

    /// Runs `job` on the control state, on Tokio's blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut ControlState) -> T + Send + 'static,
    ) -> T {
        let inner = self.inner.clone();
        let job = tokio::task::spawn_blocking(move || job(&mut inner.lock()));
        match job.await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Cancelled: the runtime is shutting down, nobody waits for this.
            Err(_) => std::future::pending().await,
        }
    }
}

// === impl ControlState ===

impl ControlState {
    fn reload(&mut self) -> Result<Outcome, files::LoadError> {
        // The loader patches its objects in place only when it holds them
        // alone.
        drop(self.reconciler.release());
        match self.loader.load() {
            Ok(objects) => Ok(self.reconciler.reconcile(objects)),
            Err(e) => {
                self.reconciler.hold(self.loader.objects());
                Err(e)
            }
        }
    }

    /// The first load: as [`ControlState::reload`], but refused when
    /// documents were refused and nothing else loaded (serving an empty
    /// table would hide the mistake behind 404s).
    fn first_load(&mut self) -> Result<Outcome, String> {
        let objects = self.loader.load().map_err(|e| e.to_string())?;
        if objects.is_empty() && !objects.refused.is_empty() {
            let lines: Vec<String> = objects
                .refused
                .iter()
                .map(|r| format!("{}: {}", r.location(), r.message))
                .collect();
            return Err(format!("nothing loads: {}", lines.join("; ")));
        }
        Ok(self.reconciler.reconcile(objects))
    }
}

/// The Admin API's writes: checked by this process's reconciler, kept in
/// the watched directory, applied by a reload of this process's control
/// plane that the write waits for.
fn admin_writes(args: &StandaloneArgs, control: &Control) -> crate::admin::write::Writes {
    let checking = control.clone();
    let check: crate::admin::write::Check = Arc::new(move |change| {
        let control = checking.clone();
        Box::pin(async move { control.check(change).await })
    });
    let control = control.clone();
    let reload: crate::admin::write::Reload = Arc::new(move || {
        let control = control.clone();
        Box::pin(async move { control.reload().await.map(drop).map_err(|e| e.to_string()) })
    });
    crate::admin::write::Writes::new(&args.manifests.path, check, reload)
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
