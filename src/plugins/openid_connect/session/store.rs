//! Server-side session records in Redis, through the crate's shared
//! connection builder (`tokens::redis::connect`: ACL users, TLS always
//! verified, one self-repairing connection per server, every operation
//! bounded). One connector per distinct server, made on first use.
//!
//! Keys are `<prefix>kingress:oidc:session:<sha256(sid) hex>`: the id in
//! the cookie is not stored as such, and the record is sealed under it.
//! A record's Redis TTL is the session's time left.

use crate::model::plugin::openid_connect::SessionRedis;
use crate::tokens::redis::connect::{RedisConnector, RedisTarget, RedisTls};
use parking_lot::Mutex;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

/// Servers kept; plugin configurations bound the real number.
const MAX_SERVERS: usize = 64;

/// Why Redis could not be used. Logged, never shown.
#[derive(Debug, thiserror::Error)]
pub(in crate::plugins::openid_connect) enum StoreError {
    /// The record does not make a usable URL.
    #[error("redis settings: {0}")]
    Settings(String),
    /// Redis is unreachable or failed.
    #[error("{0}")]
    Unavailable(String),
}

/// The Redis connectors of every plugin's `redis` settings.
#[derive(Default)]
pub(in crate::plugins::openid_connect) struct Stores {
    servers: Mutex<HashMap<String, Arc<RedisConnector>>>,
}

// === impl Stores ===

impl Stores {
    fn connector(&self, redis: &SessionRedis) -> Result<Arc<RedisConnector>, StoreError> {
        let url = url(redis);
        let mut servers = self.servers.lock();
        if let Some(c) = servers.get(&url) {
            return Ok(c.clone());
        }
        let target = RedisTarget::parse(&url, &RedisTls::default())
            .map_err(|e| StoreError::Settings(e.to_string()))?;
        if servers.len() >= MAX_SERVERS {
            servers.retain(|_, c| Arc::strong_count(c) > 1);
        }
        let connector = Arc::new(RedisConnector::new(target));
        servers.insert(url, connector.clone());
        Ok(connector)
    }

    /// The sealed record of session `sid`, if it exists.
    pub(in crate::plugins::openid_connect) async fn get(
        &self,
        redis: &SessionRedis,
        sid: &str,
    ) -> Result<Option<String>, StoreError> {
        let key = key(redis, sid);
        self.connector(redis)?
            .run(|mut c| async move { redis::cmd("GET").arg(key).query_async(&mut c).await })
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// Stores the sealed record of session `sid` for `ttl` seconds
    /// (`None`: the absolute default of a day, so nothing lives forever).
    pub(in crate::plugins::openid_connect) async fn put(
        &self,
        redis: &SessionRedis,
        sid: &str,
        sealed: String,
        ttl: Option<u64>,
    ) -> Result<(), StoreError> {
        let key = key(redis, sid);
        let ttl = ttl.unwrap_or(86_400).max(1);
        self.connector(redis)?
            .run(|mut c| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(sealed)
                    .arg("EX")
                    .arg(ttl)
                    .query_async::<()>(&mut c)
                    .await
            })
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// Deletes session `sid`.
    pub(in crate::plugins::openid_connect) async fn delete(
        &self,
        redis: &SessionRedis,
        sid: &str,
    ) -> Result<(), StoreError> {
        let key = key(redis, sid);
        self.connector(redis)?
            .run(|mut c| async move { redis::cmd("DEL").arg(key).query_async::<()>(&mut c).await })
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }
}

/// The Redis key of session `sid`.
pub(in crate::plugins::openid_connect) fn key(redis: &SessionRedis, sid: &str) -> String {
    format!(
        "{}kingress:oidc:session:{}",
        redis.prefix.as_deref().unwrap_or(""),
        hex::encode(Sha256::digest(sid.as_bytes()))
    )
}

/// `redis[s]://[user:password@]host:port/database`, parts percent-encoded.
fn url(redis: &SessionRedis) -> String {
    let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    let scheme = if redis.ssl { "rediss" } else { "redis" };
    let auth = match (&redis.username, &redis.password) {
        (Some(u), Some(p)) => format!("{}:{}@", enc(u), enc(p.expose())),
        (None, Some(p)) => format!(":{}@", enc(p.expose())),
        (Some(u), None) => format!("{}@", enc(u)),
        (None, None) => String::new(),
    };
    let host = if redis.host.contains(':') && !redis.host.starts_with('[') {
        format!("[{}]", redis.host)
    } else {
        redis.host.clone()
    };
    format!("{scheme}://{auth}{host}:{}/{}", redis.port, redis.database)
}
