//! Redis token store: replicas share tokens, codes and refresh tokens, and
//! they survive a kingress restart.
//!
//! Layout (prefix `kingress:`), every key named by the SHA-256 of a value so
//! a copy of the database holds no usable token, and hash-tagged (`{ab}`,
//! two hex digits) for Redis Cluster (see [`key`] and `scripts`):
//! - `{ab}:token:<sha256(access)>` → JSON row, expiring at the row deadline
//!   (Redis `EXAT`, so expiry is Redis TTL);
//! - `{ab}:refresh:<sha256(refresh)>` → `<sha256(access)>`, same deadline;
//! - `{ab}:code:<sha256(code)>` → JSON code, expiring 300 s after issue;
//! - `{ab}:cred:<credential id>` and `{ab}:cred-expiry:<credential id>`:
//!   the credential's rows by issue time and by deadline, for the
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
//! Lua scripts (`scripts`), so each is atomic. Every operation has a short
//! timeout and any failure is [`StoreError::Unavailable`]; the connection
//! (`connect`: one server, a Sentinel-watched primary or a cluster) is made
//! again after it breaks, and a store created while Redis is down connects
//! on first use.

pub mod connect;
#[doc(hidden)]
pub mod fuzz;
mod listing;
mod record;
mod scripts;

use super::ops::OpCounters;
use super::{AuthCode, IssuedToken, StoreError, digest_hex, random_token, unix_now};
use crate::metrics::Metrics;
use crate::secret::Keyring;
use ::redis::{AsyncCommands, RedisError};
use connect::{ConnectError, RedisConn, RedisConnector, RedisTarget};
use record::{CodeRecord, TokenRecord, open_by_refresh, open_code, open_token, to_json};
use scripts::Scripts;
use sha2::{Digest, Sha256};
use std::future::Future;

/// Key prefix of every kingress key.
const PREFIX: &str = "kingress:";
/// Keys per SCAN step.
const SCAN_COUNT: usize = 1000;

/// Tokens and codes in Redis.
pub struct RedisStore {
    redis: RedisConnector,
    scripts: Scripts,
    max_per_credential: usize,
    ops: OpCounters,
    keys: Keyring,
}

// === impl RedisStore ===

impl RedisStore {
    /// A store in `target` holding at most `max_per_credential` live rows
    /// per credential. Tries to connect once; when Redis is not reachable
    /// yet the store is still returned and connects on first use.
    pub async fn connect(
        target: RedisTarget,
        metrics: Option<Metrics>,
        max_per_credential: usize,
    ) -> Self {
        let store = Self {
            redis: RedisConnector::new(target),
            scripts: Scripts::new(),
            max_per_credential: max_per_credential.max(1),
            ops: OpCounters::new(metrics, "redis"),
            keys: Keyring::builtin(),
        };
        if let Err(e) = store.redis.conn().await {
            tracing::warn!(
                redis = %store.redis.target().redacted(),
                error = %e,
                "redis token store not reachable yet; token requests answer 503 until it is"
            );
        }
        store
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

    /// A new token value for `credential`. In a cluster it is drawn until
    /// the first byte of its SHA-256 is the credential's tag (256 draws on
    /// average, some 100 µs), so its row, its refresh index and the
    /// credential's sets share one slot; elsewhere any value will do.
    pub fn fresh_token(&self, credential: &str) -> String {
        if !self.redis.target().is_cluster() {
            return random_token();
        }
        let tag = credential_tag(credential);
        loop {
            let t = random_token();
            if Sha256::digest(t.as_bytes())[0] == tag {
                return t;
            }
        }
    }

    /// In a cluster, refuses a token whose values were not drawn by
    /// [`Self::fresh_token`] (an Admin API client chose them): its keys
    /// would span slots and the scripts would fail.
    fn placeable(&self, token: &IssuedToken) -> Result<(), StoreError> {
        if !self.redis.target().is_cluster() {
            return Ok(());
        }
        let credential = &token.credential_id;
        let values = std::iter::once(&token.access_token).chain(&token.refresh_token);
        if values.into_iter().all(|v| has_tag(v.expose(), credential)) {
            Ok(())
        } else {
            Err(StoreError::Unplaceable)
        }
    }

    /// Stores a token and its refresh index, evicting the credential's
    /// oldest rows while it holds its maximum.
    pub async fn insert_token(&self, token: &IssuedToken) -> Result<(), StoreError> {
        if token.is_gone(unix_now()) {
            return Ok(());
        }
        self.placeable(token)?;
        let access_hash = digest_hex(token.access_token.expose());
        let (record, refresh_hash) = TokenRecord::seal(token, &self.keys);
        let json = to_json(&record)?;
        let has_refresh = if refresh_hash.is_some() { "1" } else { "0" };
        let keys = [
            key("token", &access_hash),
            // Without a refresh token the script writes no index; the key
            // named stays in the row's slot, as a cluster requires.
            key("refresh", refresh_hash.as_deref().unwrap_or(&access_hash)),
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
        self.placeable(new)?;
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

    /// Runs one operation on the shared connection (see
    /// [`RedisConnector::run`]).
    async fn run<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(RedisConn) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        self.redis
            .run(op)
            .await
            .map_err(|ConnectError::Unavailable(e)| StoreError::Unavailable(e))
    }
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connector prints its target without passwords.
        f.debug_struct("RedisStore")
            .field("redis", &self.redis)
            .finish_non_exhaustive()
    }
}

/// The key of a row, refresh index or code named by `hash` (a SHA-256 in
/// hex), hash-tagged by the hash's first byte so that a Redis Cluster puts
/// a token's row and refresh index in one slot (see `scripts`).
fn key(kind: &str, hash: &str) -> String {
    format!(
        "{PREFIX}{{{}}}:{kind}:{hash}",
        hash.get(..2).unwrap_or(hash)
    )
}

/// The hash-tag byte a credential's sets carry: the first byte of the
/// SHA-1 of its id, which the scripts compute with `redis.sha1hex`. In a
/// cluster, the credential's tokens are drawn with this same first byte
/// (see [`RedisStore::fresh_token`]).
fn credential_tag(credential: &str) -> u8 {
    use sha1::Digest;
    sha1::Sha1::digest(credential.as_bytes())[0]
}

/// Whether `value` (a token, by the first byte of its SHA-256) carries the
/// hash tag of `credential`'s sets.
fn has_tag(value: &str, credential: &str) -> bool {
    Sha256::digest(value.as_bytes())[0] == credential_tag(credential)
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
