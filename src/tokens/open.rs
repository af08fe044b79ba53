//! Opening the store `--token-store` names: memory, or Redis in any of
//! the forms `redis::connect` reads.

use super::{DEFAULT_MAX_PER_CREDENTIAL, StoreError, TokenStore, memory, redis};
use crate::metrics::Metrics;
use crate::secret::Keyring;
use std::sync::Arc;

// === impl TokenStore ===

impl TokenStore {
    /// [`Self::open`] with the default per-credential bound.
    pub async fn from_url(url: &str, metrics: Metrics) -> Result<Self, StoreError> {
        Self::open(url, metrics, DEFAULT_MAX_PER_CREDENTIAL).await
    }

    /// The store for `--token-store`: `memory`, or a Redis URL
    /// (`redis[s]://`, `redis[s]+sentinel://`, `redis[s]+cluster://`, see
    /// `redis::connect`; TLS against the system's roots), holding at most `max_per_credential` live tokens per
    /// credential. A Redis store that cannot be reached yet is still
    /// returned (requests fail closed with 503 until it answers); only a
    /// malformed URL is an error. A memory store gets a background task that
    /// sweeps expired rows, so this must run inside a Tokio runtime.
    pub async fn open(
        url: &str,
        metrics: Metrics,
        max_per_credential: usize,
    ) -> Result<Self, StoreError> {
        Self::open_with_keys(url, metrics, max_per_credential, Keyring::builtin()).await
    }

    /// [`TokenStore::open`] with the keys a Redis store seals its rows with
    /// (`--token-seal-keys`); the memory store holds no sealed rows.
    pub async fn open_with_keys(
        url: &str,
        metrics: Metrics,
        max_per_credential: usize,
        keys: Keyring,
    ) -> Result<Self, StoreError> {
        if url == "memory" {
            let limits = memory::Limits {
                max_per_credential,
                ..memory::Limits::default()
            };
            let store = Arc::new(memory::MemoryStore::new(limits, Some(metrics)));
            memory::spawn_sweeper(&store);
            return Ok(TokenStore::Memory(store));
        }
        let target = redis::connect::RedisTarget::parse(url, &redis::connect::RedisTls::default())
            .map_err(|e| StoreError::Config {
                url: redact_url(url),
                reason: e.to_string(),
            })?;
        Ok(Self::open_redis(target, metrics, max_per_credential, keys).await)
    }

    /// A Redis store at `target` (its URL and TLS files already read):
    /// returned even while Redis is unreachable, answering
    /// [`StoreError::Unavailable`] until it connects.
    pub async fn open_redis(
        target: redis::connect::RedisTarget,
        metrics: Metrics,
        max_per_credential: usize,
        keys: Keyring,
    ) -> Self {
        let store = redis::RedisStore::connect(target, Some(metrics), max_per_credential)
            .await
            .with_keys(keys);
        TokenStore::Redis(Arc::new(store))
    }
}

/// What a refused URL may show: its scheme and hosts. Everything else may
/// hold a password (user info, a query); cutting at the last `@` first
/// also hides a password whose `/` or `?` was not percent-encoded.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(not a URL)".into();
    };
    let hosts = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let hosts = hosts.split(['/', '?', '#']).next().unwrap_or_default();
    format!("{scheme}://{hosts}")
}
