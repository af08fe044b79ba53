//! Redis token store: replicas share tokens, codes and refresh tokens, and
//! they survive a kingress restart.
//!
//! Layout (prefix `kingress:`), every key named by the SHA-256 of a value so
//! a copy of the database holds no usable token:
//! - `token:<sha256(access)>` → JSON row, expiring at the row deadline
//!   (Redis `EXAT`, so expiry is Redis TTL);
//! - `refresh:<sha256(refresh)>` → `<sha256(access)>`, same deadline;
//! - `code:<sha256(code)>` → JSON code, expiring 300 s after issue;
//! - `cred:<credential id>` and `cred-expiry:<credential id>`: the
//!   credential's rows by issue time and by deadline, for the
//!   per-credential bound (see `scripts`).
//!
//! A row stores its access token only sealed under its refresh token (an
//! AEAD, `secret::Keyring`), so the refresh step can recover it from the
//! presented refresh token while the database alone reveals nothing; rows
//! and codes carry an AEAD tag over their fields keyed by their own token,
//! so a row edited in Redis is rejected as absent (see `record`). The
//! refresh token is never stored, only its hash.
//!
//! Codes are consumed with `GETDEL`; inserts, refreshes and deletes run as
//! Lua scripts (`scripts`), so each is atomic. Every operation has a short timeout and any
//! failure is [`StoreError::Unavailable`]; the connection manager reconnects
//! on its own, and a store created while Redis is down connects on first use.

#[doc(hidden)]
pub mod fuzz;
mod listing;
mod record;
mod scripts;

use super::ops::OpCounters;
use super::{AuthCode, IssuedToken, StoreError, digest_hex, unix_now};
use crate::metrics::Metrics;
use crate::secret::Keyring;
use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{AsyncCommands, Client, RedisError};
use arc_swap::ArcSwapOption;
use record::{CodeRecord, TokenRecord, open_by_refresh, open_code, open_token, to_json};
use scripts::Scripts;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Key prefix of every kingress key.
const PREFIX: &str = "kingress:";
/// One connection attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// One operation, reconnect wait included: requests never hang on Redis.
const OP_TIMEOUT: Duration = Duration::from_millis(1500);
/// After a failed first connection, fail fast for this long before trying
/// again (a flood of requests must not queue up connection attempts).
const RETRY_GAP: Duration = Duration::from_secs(1);
/// Keys per SCAN step.
const SCAN_COUNT: usize = 1000;

/// Tokens and codes in Redis.
pub struct RedisStore {
    client: Client,
    manager: ArcSwapOption<ConnectionManager>,
    connecting: tokio::sync::Mutex<()>,
    last_failure: parking_lot::Mutex<Option<Instant>>,
    scripts: Scripts,
    max_per_credential: usize,
    ops: OpCounters,
    keys: Keyring,
}

// === impl RedisStore ===

impl RedisStore {
    /// A store for `url` holding at most `max_per_credential` live rows per
    /// credential. Tries to connect once; when Redis is not reachable yet
    /// the store is still returned and connects on first use.
    pub async fn connect(
        url: &str,
        metrics: Option<Metrics>,
        max_per_credential: usize,
    ) -> Result<Self, StoreError> {
        let client = Client::open(url).map_err(|e| StoreError::Config {
            url: super::redact_url(url),
            reason: e.to_string(),
        })?;
        let store = Self {
            client,
            manager: ArcSwapOption::empty(),
            connecting: tokio::sync::Mutex::new(()),
            last_failure: parking_lot::Mutex::new(None),
            scripts: Scripts::new(),
            max_per_credential: max_per_credential.max(1),
            ops: OpCounters::new(metrics, "redis"),
            keys: Keyring::builtin(),
        };
        if let Err(e) = store.conn().await {
            tracing::warn!(error = %e, "redis token store not reachable yet; token requests answer 503 until it is");
        }
        Ok(store)
    }

    /// Seals new rows with `keys`' first key and opens rows under any of
    /// its key ids (the built-in key when never called).
    pub fn with_keys(mut self, keys: Keyring) -> Self {
        self.keys = keys;
        self
    }

    /// The metrics this store reports to.
    pub fn metrics(&self) -> Option<&Metrics> {
        self.ops.metrics()
    }

    pub(super) fn ops(&self) -> &OpCounters {
        &self.ops
    }

    /// Stores a token and its refresh index, evicting the credential's
    /// oldest rows while it holds its maximum.
    pub async fn insert_token(&self, token: &IssuedToken) -> Result<(), StoreError> {
        if token.is_gone(unix_now()) {
            return Ok(());
        }
        let access_hash = digest_hex(token.access_token.expose());
        let (record, refresh_hash) = TokenRecord::seal(token, &self.keys);
        let json = to_json(&record)?;
        let has_refresh = if refresh_hash.is_some() { "1" } else { "0" };
        let keys = [
            key("token", &access_hash),
            key("refresh", refresh_hash.as_deref().unwrap_or_default()),
        ];
        let deadline = token.deadline().unwrap_or(0);
        let credential = token.credential_id.clone();
        let max = self.max_per_credential;
        let script = self.scripts.insert.clone();
        let evicted: usize = self
            .run(move |mut c| async move {
                script
                    .key(&keys[..])
                    .arg(PREFIX)
                    .arg(json)
                    .arg(access_hash)
                    .arg(deadline)
                    .arg(has_refresh)
                    .arg(credential)
                    .arg(max)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        if evicted > 0 {
            super::evicted(self.ops.metrics(), &token.credential_id, evicted);
        }
        Ok(())
    }

    /// By access token, without the refresh token.
    pub async fn token(&self, access_token: &str) -> Result<Option<IssuedToken>, StoreError> {
        let row_key = key("token", &digest_hex(access_token));
        let raw: Option<String> = self
            .run(move |mut c| async move { c.get(row_key).await })
            .await?;
        let token = open_token(raw, access_token, &self.keys);
        Ok(token.filter(|t| !t.is_gone(unix_now())))
    }

    /// By refresh token; the access token is unsealed with it.
    pub async fn token_by_refresh(&self, refresh: &str) -> Result<Option<IssuedToken>, StoreError> {
        let refresh_hash = digest_hex(refresh);
        let index = key("refresh", &refresh_hash);
        let access_hash: Option<String> = self
            .run(move |mut c| async move { c.get(index).await })
            .await?;
        let Some(access_hash) = access_hash else {
            return Ok(None);
        };
        let row_key = key("token", &access_hash);
        let raw: Option<String> = self
            .run(move |mut c| async move { c.get(row_key).await })
            .await?;
        let token = open_by_refresh(raw, refresh, &access_hash, &self.keys);
        Ok(token.filter(|t| !t.is_gone(unix_now())))
    }

    /// Deletes a row and its refresh index.
    pub async fn delete_token(&self, access_token: &str) -> Result<(), StoreError> {
        self.delete_row(key("token", &digest_hex(access_token)))
            .await
    }

    /// Deletes the row at `row_key`, its refresh index and its place in
    /// its credential's sets.
    async fn delete_row(&self, row_key: String) -> Result<(), StoreError> {
        let script = self.scripts.delete.clone();
        self.run(move |mut c| async move {
            script
                .key(row_key)
                .arg(PREFIX)
                .invoke_async::<i64>(&mut c)
                .await
        })
        .await
        .map(drop)
    }

    /// The atomic refresh step; see `TokenStore::replace_token`.
    pub async fn replace_token(
        &self,
        old: &IssuedToken,
        new: &IssuedToken,
    ) -> Result<bool, StoreError> {
        let Some(old_refresh) = &old.refresh_token else {
            return Ok(false);
        };
        let old_access_hash = digest_hex(old.access_token.expose());
        let old_index = key("refresh", &digest_hex(old_refresh.expose()));
        let new_access_hash = digest_hex(new.access_token.expose());
        let (record, new_refresh_hash) = TokenRecord::seal(new, &self.keys);
        let json = to_json(&record)?;
        let new_index = new_refresh_hash
            .as_deref()
            .map(|h| key("refresh", h))
            .unwrap_or_else(|| old_index.clone());
        let has_refresh = if new_refresh_hash.is_some() { "1" } else { "0" };
        let deadline = new.deadline().unwrap_or(0);
        let (old_credential, new_credential) =
            (old.credential_id.clone(), new.credential_id.clone());
        let max = self.max_per_credential;
        let script = self.scripts.replace.clone();
        let keys = [
            key("token", &old_access_hash),
            old_index,
            key("token", &new_access_hash),
            new_index,
        ];
        let done: i64 = self
            .run(move |mut c| async move {
                script
                    .key(&keys[..])
                    .arg(PREFIX)
                    .arg(old_access_hash)
                    .arg(json)
                    .arg(new_access_hash)
                    .arg(deadline)
                    .arg(has_refresh)
                    .arg(old_credential)
                    .arg(new_credential)
                    .arg(max)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(done == 1)
    }

    /// Stores a code until its deadline.
    pub async fn insert_code(&self, code: &AuthCode) -> Result<(), StoreError> {
        let json = to_json(&CodeRecord::seal(code, &self.keys))?;
        let code_key = key("code", &digest_hex(code.code.expose()));
        let deadline = code.deadline();
        self.run(move |mut c| async move {
            set(&code_key, &json, Some(deadline))
                .query_async::<()>(&mut c)
                .await
        })
        .await
    }

    /// Reads a code without consuming it.
    pub async fn code(&self, code: &str) -> Result<Option<AuthCode>, StoreError> {
        let code_key = key("code", &digest_hex(code));
        let raw: Option<String> = self
            .run(move |mut c| async move { c.get(code_key).await })
            .await?;
        Ok(open_code(raw, code, &self.keys))
    }

    /// Takes a code with `GETDEL` (atomic).
    pub async fn take_code(&self, code: &str) -> Result<Option<AuthCode>, StoreError> {
        let code_key = key("code", &digest_hex(code));
        let raw: Option<String> = self
            .run(move |mut c| async move { c.get_del(code_key).await })
            .await?;
        Ok(open_code(raw, code, &self.keys))
    }

    /// Runs one operation with a connection, bounded by [`OP_TIMEOUT`].
    async fn run<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let conn = self.conn().await?;
        match tokio::time::timeout(OP_TIMEOUT, op(conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(unavailable(&e)),
            Err(_) => Err(StoreError::Unavailable(
                "redis did not answer in time".into(),
            )),
        }
    }

    /// The shared connection manager, created on first use. Only one task
    /// connects at a time; the others fail fast instead of queueing.
    async fn conn(&self) -> Result<ConnectionManager, StoreError> {
        if let Some(m) = self.manager.load_full() {
            return Ok(ConnectionManager::clone(&m));
        }
        let Ok(_single) = self.connecting.try_lock() else {
            return Err(StoreError::Unavailable("connecting to redis".into()));
        };
        if let Some(m) = self.manager.load_full() {
            return Ok(ConnectionManager::clone(&m));
        }
        if self
            .last_failure
            .lock()
            .is_some_and(|at| at.elapsed() < RETRY_GAP)
        {
            return Err(StoreError::Unavailable("redis is unreachable".into()));
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_response_timeout(CONNECT_TIMEOUT)
            .set_number_of_retries(1)
            .set_max_delay(200);
        let attempt = tokio::time::timeout(
            OP_TIMEOUT,
            ConnectionManager::new_with_config(self.client.clone(), config),
        )
        .await;
        match attempt {
            Ok(Ok(m)) => {
                self.manager.store(Some(Arc::new(m.clone())));
                *self.last_failure.lock() = None;
                Ok(m)
            }
            Ok(Err(e)) => {
                *self.last_failure.lock() = Some(Instant::now());
                Err(unavailable(&e))
            }
            Err(_) => {
                *self.last_failure.lock() = Some(Instant::now());
                Err(StoreError::Unavailable(
                    "connecting to redis timed out".into(),
                ))
            }
        }
    }
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client's connection info may hold a password: never printed.
        f.debug_struct("RedisStore")
            .field("connected", &self.manager.load().is_some())
            .finish_non_exhaustive()
    }
}

fn key(kind: &str, hash: &str) -> String {
    format!("{PREFIX}{kind}:{hash}")
}

/// `SET key value [EXAT deadline]`.
fn set(key: &str, value: &str, deadline: Option<u64>) -> ::redis::Cmd {
    let mut cmd = ::redis::cmd("SET");
    cmd.arg(key).arg(value);
    if let Some(at) = deadline {
        cmd.arg("EXAT").arg(at);
    }
    cmd
}

fn unavailable(e: &RedisError) -> StoreError {
    StoreError::Unavailable(format!("redis: {e}"))
}
