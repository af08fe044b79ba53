//! The one place the rate-limiting plugin reaches Redis: Kong's `redis`
//! record becomes a URL for the shared connection builder
//! (`tokens::redis::connect`), which brings ACL users, TLS (always
//! verified) and one shared, self-repairing connection per server.

use super::RedisError;
use crate::model::plugin::rate_limiting::RedisConfig;
use crate::tokens::redis::connect::{
    ConnectError, RedisConn, RedisConnector, RedisTarget, RedisTls,
};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

/// A server's connection, made on first use and remade after failures
/// (or the reason the record cannot be used, reported on every request).
pub(super) struct Link {
    connector: Result<RedisConnector, String>,
}

// === impl Link ===

impl Link {
    pub(super) fn new(redis: &RedisConfig) -> Self {
        let connector = RedisTarget::parse(&url(redis), &RedisTls::default())
            .map(RedisConnector::new)
            .map_err(|e| e.to_string());
        Self { connector }
    }

    /// Runs `op` on the connection within the builder's bounds.
    pub(super) async fn run<T, F, Fut>(&self, op: F) -> Result<T, RedisError>
    where
        F: FnOnce(RedisConn) -> Fut,
        Fut: Future<Output = Result<T, ::redis::RedisError>>,
    {
        let connector = self
            .connector
            .as_ref()
            .map_err(|e| RedisError::Failed(e.clone()))?;
        connector.run(op).await.map_err(|e| match e {
            ConnectError::Unavailable(m) => RedisError::Failed(m),
        })
    }
}

/// `redis[s]://[user:password@]host:port/database`, every part
/// percent-encoded. Kong's `ssl_verify: false` is not honoured: the builder
/// always verifies (and `server_name` is the host's).
pub(super) fn url(redis: &RedisConfig) -> String {
    let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    let scheme = if redis.ssl { "rediss" } else { "redis" };
    let auth = match (&redis.username, &redis.password) {
        (Some(u), Some(p)) => format!("{}:{}@", enc(u), enc(p.expose())),
        (None, Some(p)) => format!(":{}@", enc(p.expose())),
        (Some(u), None) => format!("{}@", enc(u)),
        (None, None) => String::new(),
    };
    let host = redis.host.as_deref().unwrap_or_default();
    // An IPv6 address needs brackets in a URL.
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    format!("{scheme}://{auth}{host}:{}/{}", redis.port, redis.database)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Sensitive;

    fn config() -> RedisConfig {
        RedisConfig {
            host: Some("redis.example".into()),
            port: 6380,
            timeout: 2000,
            username: None,
            password: None,
            database: 2,
            ssl: false,
            ssl_verify: false,
            server_name: None,
        }
    }

    #[test]
    fn the_record_becomes_a_url_the_builder_reads() {
        assert_eq!(url(&config()), "redis://redis.example:6380/2");
        let mut c = config();
        c.username = Some("app".into());
        c.password = Some(Sensitive::new("p@ss:word"));
        c.ssl = true;
        assert_eq!(url(&c), "rediss://app:p%40ss%3Aword@redis.example:6380/2");
        assert!(RedisTarget::parse(&url(&config()), &RedisTls::default()).is_ok());
        c.host = Some("::1".into());
        c.ssl = false;
        assert!(url(&c).contains("@[::1]:6380"));
    }
}
