//! The one place the rate-limiting plugin connects to Redis, and the
//! connection each server keeps. (A shared Redis connection builder with
//! ACL, TLS, Sentinel and Cluster is being built under `tokens::redis`;
//! this function is what switches to it.)

use super::RedisError;
use crate::model::plugin::rate_limiting::RedisConfig;
use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, ConnectionAddr, ConnectionInfo, RedisConnectionInfo};
use arc_swap::ArcSwapOption;
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// After a failed connect, requests fail fast for this long instead of
/// each waiting for its own connect timeout.
const RETRY_GAP: Duration = Duration::from_millis(500);

/// A server's connection, made on first use and remade after failures.
pub(super) struct Link {
    conn: ArcSwapOption<ConnectionManager>,
    connecting: tokio::sync::Mutex<()>,
    last_failure: Mutex<Option<Instant>>,
}

// === impl Link ===

impl Link {
    pub(super) fn new() -> Self {
        Self {
            conn: ArcSwapOption::empty(),
            connecting: tokio::sync::Mutex::new(()),
            last_failure: Mutex::new(None),
        }
    }

    /// The connection (the manager reconnects by itself once made).
    pub(super) async fn get(&self, redis: &RedisConfig) -> Result<ConnectionManager, RedisError> {
        if let Some(c) = self.conn.load_full() {
            return Ok(ConnectionManager::clone(&c));
        }
        let _single = self.connecting.lock().await;
        if let Some(c) = self.conn.load_full() {
            return Ok(ConnectionManager::clone(&c));
        }
        if self
            .last_failure
            .lock()
            .is_some_and(|at| at.elapsed() < RETRY_GAP)
        {
            return Err(RedisError::Failed("redis is unreachable".into()));
        }
        match connect(redis).await {
            Ok(c) => {
                self.conn.store(Some(Arc::new(c.clone())));
                *self.last_failure.lock() = None;
                Ok(c)
            }
            Err(e) => {
                *self.last_failure.lock() = Some(Instant::now());
                Err(e)
            }
        }
    }
}

/// Connects to the server of Kong's `redis` record: host, port, database,
/// ACL user and password, within `timeout`.
pub(super) async fn connect(redis: &RedisConfig) -> Result<ConnectionManager, RedisError> {
    if redis.ssl {
        // The redis crate is built without TLS here; the shared builder
        // brings it.
        return Err(RedisError::Failed(
            "redis.ssl is not supported by this build of kingress".into(),
        ));
    }
    let host = redis.host.clone().unwrap_or_default();
    let info = ConnectionInfo {
        addr: ConnectionAddr::Tcp(host, redis.port),
        redis: RedisConnectionInfo {
            db: redis.database,
            username: redis.username.clone(),
            password: redis.password.as_ref().map(|p| p.expose().to_string()),
            ..RedisConnectionInfo::default()
        },
    };
    let client = Client::open(info).map_err(|e| RedisError::Failed(e.to_string()))?;
    let timeout = Duration::from_millis(u64::from(redis.timeout));
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(timeout)
        .set_response_timeout(timeout)
        .set_number_of_retries(1)
        .set_max_delay(200);
    match tokio::time::timeout(timeout, ConnectionManager::new_with_config(client, config)).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(RedisError::Failed(e.to_string())),
        Err(_) => Err(RedisError::Timeout(redis.timeout)),
    }
}
