//! Connections to Redis, for every kingress part that keeps state there
//! (the token store today; sessions and rate-limit counters take the same
//! URL and flags): [`RedisTarget::parse`] reads the URL and TLS files once,
//! [`RedisConnector`] keeps one shared connection to it and replaces it when
//! it breaks.
//!
//! A broken connection is dropped and the next operation connects again,
//! which is also how a Sentinel failover is followed: connecting asks the
//! Sentinels for the current primary (and checks its `ROLE`), so after the
//! old primary dies or answers `READONLY`, the next connection goes to the
//! promoted replica. A cluster connection follows `MOVED`/`ASK` and slot
//! changes by itself.
//!
//! Every operation is bounded ([`OP_TIMEOUT`], connecting included), so a
//! request never waits on Redis for longer; only one task connects at a
//! time and, after a failed attempt, the others fail fast for
//! [`RETRY_GAP`] instead of queueing connection attempts.

mod conn;
mod target;

use arc_swap::ArcSwapOption;
use redis::cluster::ClusterClientBuilder;
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{
    AsyncConnectionConfig, Client, ConnectionAddr, ConnectionInfo, ErrorKind, RedisConnectionInfo,
    RedisError, TlsMode,
};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use target::{Auth, Host, Topology};

pub use conn::{Primary, RedisConn};
pub use target::{RedisTarget, RedisTls, TargetError};

/// One connection attempt (TCP, TLS and AUTH), and one reply.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// One operation, connecting included: requests never hang on Redis.
pub const OP_TIMEOUT: Duration = Duration::from_millis(1500);
/// After a failed connection attempt, fail fast for this long before trying
/// again (a flood of requests must not queue up connection attempts).
const RETRY_GAP: Duration = Duration::from_millis(500);

/// Why an operation got no answer from Redis. Callers fail closed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Redis is unreachable, too slow, or answered with an error.
    #[error("{0}")]
    Unavailable(String),
}

/// The shared connection to one [`RedisTarget`].
pub struct RedisConnector {
    target: RedisTarget,
    /// The live connection and the generation it was made in.
    current: ArcSwapOption<(u64, RedisConn)>,
    generation: AtomicU64,
    /// Kept between connections: it caches its Sentinel connections.
    sentinel: tokio::sync::Mutex<Option<SentinelClient>>,
    connecting: tokio::sync::Mutex<()>,
    last_failure: parking_lot::Mutex<Option<Instant>>,
}

// === impl RedisConnector ===

impl RedisConnector {
    /// A connector for `target`; nothing connects until first use.
    pub fn new(target: RedisTarget) -> Self {
        Self {
            target,
            current: ArcSwapOption::empty(),
            generation: AtomicU64::new(0),
            sentinel: tokio::sync::Mutex::new(None),
            connecting: tokio::sync::Mutex::new(()),
            last_failure: parking_lot::Mutex::new(None),
        }
    }

    /// What this connector reaches.
    pub fn target(&self) -> &RedisTarget {
        &self.target
    }

    /// Whether a connection is up (as far as this process knows).
    pub fn is_connected(&self) -> bool {
        self.current.load().is_some()
    }

    /// Runs one operation on the shared connection, bounded by
    /// [`OP_TIMEOUT`] with connecting. A failure that means the connection
    /// is gone or no longer the primary drops it, so the next operation
    /// connects afresh.
    pub async fn run<T, F, Fut>(&self, op: F) -> Result<T, ConnectError>
    where
        F: FnOnce(RedisConn) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        // Connected (the usual case): the operation alone is bounded, and
        // no clock is read for it.
        let (generation, conn, left) = match self.current.load_full() {
            Some(c) => (c.0, c.1.clone(), OP_TIMEOUT),
            None => {
                let started = Instant::now();
                let (generation, conn) = self.conn().await?;
                (
                    generation,
                    conn,
                    OP_TIMEOUT.saturating_sub(started.elapsed()),
                )
            }
        };
        match tokio::time::timeout(left, op(conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                if breaks_connection(&e) {
                    self.drop_connection(generation);
                }
                Err(ConnectError::Unavailable(format!("redis: {e}")))
            }
            Err(_) => {
                self.drop_connection(generation);
                Err(ConnectError::Unavailable(
                    "redis did not answer in time".into(),
                ))
            }
        }
    }

    /// The shared connection, made on first use. Only one task connects at
    /// a time; the others fail fast instead of queueing.
    pub async fn conn(&self) -> Result<(u64, RedisConn), ConnectError> {
        if let Some(c) = self.current.load_full() {
            return Ok((c.0, c.1.clone()));
        }
        let Ok(_single) = self.connecting.try_lock() else {
            return Err(ConnectError::Unavailable("connecting to redis".into()));
        };
        if let Some(c) = self.current.load_full() {
            return Ok((c.0, c.1.clone()));
        }
        if self
            .last_failure
            .lock()
            .is_some_and(|at| at.elapsed() < RETRY_GAP)
        {
            return Err(ConnectError::Unavailable("redis is unreachable".into()));
        }
        let attempt = tokio::time::timeout(OP_TIMEOUT, self.connect()).await;
        let failure = match attempt {
            Ok(Ok(conn)) => {
                let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
                self.current
                    .store(Some(Arc::new((generation, conn.clone()))));
                *self.last_failure.lock() = None;
                return Ok((generation, conn));
            }
            Ok(Err(e)) => format!("redis: {e}"),
            Err(_) => "connecting to redis timed out".to_string(),
        };
        *self.last_failure.lock() = Some(Instant::now());
        Err(ConnectError::Unavailable(failure))
    }

    /// Forgets the connection of `generation` (a newer one stays).
    fn drop_connection(&self, generation: u64) {
        let current = self.current.load();
        if current.as_ref().is_some_and(|c| c.0 == generation) {
            self.current.store(None);
            tracing::debug!(redis = %self.target.redacted(), "redis connection dropped; reconnecting on next use");
        }
    }

    async fn connect(&self) -> Result<RedisConn, RedisError> {
        // No response timeout of the crate's own: `run` bounds every
        // operation (and `conn` the handshake), and a second timer per
        // command would be set and cancelled on every request.
        let config = AsyncConnectionConfig::new().set_connection_timeout(CONNECT_TIMEOUT);
        let target = &self.target;
        match &target.topology {
            Topology::Single(host) => {
                let client = client(node_info(host, &target.auth, target.db, target), target)?;
                let conn = client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await?;
                Ok(RedisConn::Node(conn))
            }
            Topology::Sentinel {
                sentinels,
                master,
                auth,
            } => {
                let mut guard = self.sentinel.lock().await;
                let sentinel = match guard.as_mut() {
                    Some(s) => s,
                    None => guard.insert(sentinel_client(target, sentinels, master, auth)?),
                };
                let conn = sentinel.get_async_connection_with_config(&config).await?;
                Ok(RedisConn::Node(conn))
            }
            Topology::Cluster(seeds) => {
                let nodes: Vec<ConnectionInfo> = seeds
                    .iter()
                    .map(|h| node_info(h, &Auth::default(), 0, target))
                    .collect();
                let mut builder = ClusterClientBuilder::new(nodes)
                    .connection_timeout(CONNECT_TIMEOUT)
                    .response_timeout(CONNECT_TIMEOUT)
                    .retries(1);
                if let Some(user) = &target.auth.username {
                    builder = builder.username(user.clone());
                }
                if let Some(password) = target.auth.password() {
                    builder = builder.password(password);
                }
                if let Some(certs) = &target.tls {
                    builder = builder.tls(TlsMode::Secure).certs(certs.clone());
                }
                let conn = builder.build()?.get_async_connection().await?;
                Ok(RedisConn::Cluster(conn))
            }
        }
    }
}

impl std::fmt::Debug for RedisConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConnector")
            .field("target", &self.target)
            .field("connected", &self.is_connected())
            .finish()
    }
}

/// Whether `e` means the connection is no use any more: the socket broke,
/// or the node is no longer a writable primary (a failover happened).
fn breaks_connection(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || e.is_unrecoverable_error()
        || matches!(e.kind(), ErrorKind::ReadOnly | ErrorKind::MasterDown)
}

/// Address and handshake of one data node.
fn node_info(host: &Host, auth: &Auth, db: i64, target: &RedisTarget) -> ConnectionInfo {
    let addr = if target.tls.is_some() {
        ConnectionAddr::TcpTls {
            host: host.name.clone(),
            port: host.port,
            insecure: false,
            tls_params: None,
        }
    } else {
        ConnectionAddr::Tcp(host.name.clone(), host.port)
    };
    ConnectionInfo {
        addr,
        redis: RedisConnectionInfo {
            db,
            username: auth.username.clone(),
            password: auth.password(),
            ..RedisConnectionInfo::default()
        },
    }
}

/// A client for one node, with the target's TLS certificates.
fn client(info: ConnectionInfo, target: &RedisTarget) -> Result<Client, RedisError> {
    match &target.tls {
        Some(certs) => Client::build_with_tls(info, certs.clone()),
        None => Client::open(info),
    }
}

fn sentinel_client(
    target: &RedisTarget,
    sentinels: &[Host],
    master: &str,
    sentinel_auth: &Auth,
) -> Result<SentinelClient, RedisError> {
    let addrs = sentinels
        .iter()
        .map(|h| ConnectionAddr::Tcp(h.name.clone(), h.port));
    let mut builder =
        SentinelClientBuilder::new(addrs, master.to_string(), SentinelServerType::Master)?
            .set_client_to_redis_db(target.db);
    if let Some(user) = &target.auth.username {
        builder = builder.set_client_to_redis_username(user.clone());
    }
    if let Some(password) = target.auth.password() {
        builder = builder.set_client_to_redis_password(password);
    }
    if let Some(user) = &sentinel_auth.username {
        builder = builder.set_client_to_sentinel_username(user.clone());
    }
    if let Some(password) = sentinel_auth.password() {
        builder = builder.set_client_to_sentinel_password(password);
    }
    if let Some(certs) = &target.tls {
        builder = builder
            .set_client_to_redis_tls_mode(TlsMode::Secure)
            .set_client_to_redis_certificates(certs.clone())
            .set_client_to_sentinel_tls_mode(TlsMode::Secure)
            .set_client_to_sentinel_certificates(certs.clone());
    }
    builder.build()
}
