//! Token state: issued access tokens, refresh tokens and authorization codes.
//! Never part of the routing table. `memory` keeps it in the process
//! (bounded, with expiry sweeping); `redis` shares it between replicas and
//! survives restarts, with expiry as Redis TTL.
//!
//! Both stores have the same contract, which the tests check against each:
//! - lookups never return a row whose lifetime (`ttl`) has passed, and a
//!   lookup by access token never reveals the refresh token;
//! - `take_code` and `replace_token` are atomic: of two concurrent callers
//!   exactly one wins;
//! - a credential holds at most `max_per_credential` live tokens: storing
//!   one more evicts its oldest (atomically across replicas for Redis).
//!   Evicting rather than refusing keeps the credential's current clients
//!   working (a refusal would lock them out until tokens expire, two weeks
//!   with Kong's default refresh lifetime) while the tokens that go are the
//!   ones most likely leaked or forgotten;
//! - failures are [`StoreError`]s and callers fail closed.

mod generate;
mod listing;
pub mod memory;
mod open;
mod ops;
pub mod redis;

use crate::metrics::Metrics;
use crate::model::Sensitive;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::Arc;

pub use generate::{TOKEN_LEN, random_token};
pub use listing::TokenChange;

/// Lifetime of an authorization code in seconds (fixed, as in Kong).
pub const CODE_TTL: u64 = 300;

/// Default bound on the live tokens of one credential
/// (`--max-tokens-per-credential`): far above what one client needs, far
/// below the store's own bound.
pub const DEFAULT_MAX_PER_CREDENTIAL: usize = 10_000;

/// An issued access token (Kong's `oauth2_tokens` row).
#[derive(Clone, Debug, PartialEq)]
pub struct IssuedToken {
    /// The access token (32 alphanumerics).
    pub access_token: Sensitive,
    /// The refresh token, if one was issued.
    pub refresh_token: Option<Sensitive>,
    /// Id of the oauth2 credential it was issued to.
    pub credential_id: String,
    /// Bound service name; `None` for global tokens.
    pub service: Option<String>,
    /// Space-separated granted scopes.
    pub scope: Option<String>,
    /// End-user id supplied by the operator's app.
    pub authenticated_userid: Option<String>,
    /// Access-token lifetime in seconds; 0 = never expires.
    pub expires_in: u64,
    /// Issue time, unix seconds.
    pub created_at: u64,
    /// Row lifetime in seconds from `created_at` (refresh_token_ttl); `None`
    /// keeps it until deleted.
    pub ttl: Option<u64>,
}

/// What verifying a request needs of a token row, found by its access
/// token ([`TokenStore::grant`]). The strings are shared with the memory
/// store's row, so a lookup there allocates nothing; no token value is held.
#[derive(Clone, Debug, PartialEq)]
pub struct Grant {
    /// Id of the oauth2 credential the token was issued to.
    pub credential_id: Arc<str>,
    /// Bound service name; `None` for global tokens.
    pub service: Option<Arc<str>>,
    /// Space-separated granted scopes.
    pub scope: Option<Arc<str>>,
    /// End-user id supplied by the operator's app.
    pub authenticated_userid: Option<Arc<str>>,
    /// Access-token lifetime in seconds; 0 = never expires.
    pub expires_in: u64,
    /// Issue time, unix seconds.
    pub created_at: u64,
}

/// An authorization code (Kong's `oauth2_authorization_codes` row), 300 s.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthCode {
    /// The code (32 alphanumerics).
    pub code: Sensitive,
    /// Id of the credential it was issued to.
    pub credential_id: String,
    /// Bound service; `None` when global.
    pub service: Option<String>,
    /// Id of the plugin instance that issued it.
    pub plugin_id: String,
    /// End-user id.
    pub authenticated_userid: Option<String>,
    /// Granted scope.
    pub scope: Option<String>,
    /// PKCE challenge (normalised base64url).
    pub challenge: Option<String>,
    /// PKCE method (`S256`).
    pub challenge_method: Option<String>,
    /// Issue time, unix seconds.
    pub created_at: u64,
}

/// A token as listed by the Admin API: no token value, only a stable id.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TokenSummary {
    /// SHA-256 (hex) of the access token: identifies the row without
    /// revealing the token.
    pub id: String,
    /// Id of the oauth2 credential it was issued to.
    pub credential_id: String,
    /// Bound service; `None` for global tokens.
    pub service: Option<String>,
    /// Granted scope.
    pub scope: Option<String>,
    /// End-user id.
    pub authenticated_userid: Option<String>,
    /// Access-token lifetime in seconds; 0 = never expires.
    pub expires_in: u64,
    /// Issue time, unix seconds.
    pub created_at: u64,
    /// Row lifetime in seconds; `None` = until deleted.
    pub ttl: Option<u64>,
    /// Whether the row carries a refresh token.
    pub has_refresh_token: bool,
}

/// Why the store could not answer. Callers fail closed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backing store is unreachable or too slow.
    #[error("token store unavailable: {0}")]
    Unavailable(String),
    /// The memory store holds its maximum number of rows.
    #[error("token store is full ({limit} entries)")]
    Full {
        /// The configured bound.
        limit: usize,
    },
    /// A Redis row is sealed under its access token: changing it needs the
    /// token itself, not only its id.
    #[error("a token in the Redis store can be changed only through its access token")]
    NeedsToken,
    /// A Redis Cluster keeps a token's keys in its credential's slot, so
    /// it stores only token values drawn for that credential
    /// ([`TokenStore::fresh_token`]).
    #[error(
        "a Redis Cluster token store keeps only token values it generated; \
         omit access_token and refresh_token to have them generated"
    )]
    Unplaceable,
    /// The store URL (`--token-store`) is not usable.
    #[error("invalid token store '{url}': {reason}")]
    Config {
        /// The URL as given (credentials removed).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The token store chosen by `--token-store`.
#[derive(Clone, Debug)]
pub enum TokenStore {
    /// In-process store.
    Memory(Arc<memory::MemoryStore>),
    /// Shared Redis store.
    Redis(Arc<redis::RedisStore>),
}

// === impl IssuedToken ===

impl IssuedToken {
    /// Whether the access token has expired at `now` (Kong: strictly more
    /// than `expires_in` seconds since issue).
    pub fn is_expired(&self, now: u64) -> bool {
        self.expires_in > 0 && now.saturating_sub(self.created_at) > self.expires_in
    }

    /// When the whole row (and its refresh token) goes away, unix seconds.
    pub fn deadline(&self) -> Option<u64> {
        self.ttl.map(|ttl| self.created_at.saturating_add(ttl))
    }

    /// Whether the row's lifetime has passed at `now`.
    pub fn is_gone(&self, now: u64) -> bool {
        self.deadline().is_some_and(|d| now > d)
    }

    /// The Admin API view of this row.
    pub fn summary(&self) -> TokenSummary {
        TokenSummary {
            id: digest_hex(self.access_token.expose()),
            credential_id: self.credential_id.clone(),
            service: self.service.clone(),
            scope: self.scope.clone(),
            authenticated_userid: self.authenticated_userid.clone(),
            expires_in: self.expires_in,
            created_at: self.created_at,
            ttl: self.ttl,
            has_refresh_token: self.refresh_token.is_some(),
        }
    }
}

// === impl Grant ===

impl Grant {
    /// Whether the access token has expired at `now` (as
    /// [`IssuedToken::is_expired`]).
    pub fn is_expired(&self, now: u64) -> bool {
        self.expires_in > 0 && now.saturating_sub(self.created_at) > self.expires_in
    }
}

impl From<IssuedToken> for Grant {
    fn from(t: IssuedToken) -> Self {
        Self {
            credential_id: t.credential_id.into(),
            service: t.service.map(Arc::from),
            scope: t.scope.map(Arc::from),
            authenticated_userid: t.authenticated_userid.map(Arc::from),
            expires_in: t.expires_in,
            created_at: t.created_at,
        }
    }
}

// === impl AuthCode ===

impl AuthCode {
    /// When the code stops being valid, unix seconds.
    pub fn deadline(&self) -> u64 {
        self.created_at.saturating_add(CODE_TTL)
    }

    /// Whether the code has expired at `now`.
    pub fn is_expired(&self, now: u64) -> bool {
        now > self.deadline()
    }
}

// === impl TokenStore ===

impl TokenStore {
    /// A fresh in-memory store with the default bounds and no metrics.
    pub fn memory() -> Self {
        TokenStore::Memory(Arc::new(memory::MemoryStore::new(
            memory::Limits::default(),
            None,
        )))
    }

    /// A new token value (access token, refresh token) for a token of
    /// `credential`: random, and in a Redis Cluster drawn to share the
    /// credential's slot.
    pub fn fresh_token(&self, credential: &str) -> String {
        match self {
            TokenStore::Memory(_) => random_token(),
            TokenStore::Redis(r) => r.fresh_token(credential),
        }
    }

    /// Backend name for logs and metrics.
    pub fn backend(&self) -> &'static str {
        match self {
            TokenStore::Memory(_) => "memory",
            TokenStore::Redis(_) => "redis",
        }
    }

    /// Stores a new token (and its refresh token).
    pub async fn insert_token(&self, token: &IssuedToken) -> Result<(), StoreError> {
        let r = match self {
            TokenStore::Memory(m) => m.insert_token(token.clone()),
            TokenStore::Redis(r) => r.insert_token(token).await,
        };
        self.count(r)
    }

    /// Looks a token up by access token. The returned row never carries the
    /// refresh token (`refresh_token` is `None`): whoever holds an access
    /// token must not learn the refresh token from it.
    pub async fn token(&self, access_token: &str) -> Result<Option<IssuedToken>, StoreError> {
        let r = match self {
            TokenStore::Memory(m) => Ok(m.token(access_token)),
            // Boxed: a Redis call's future is kilobytes and would size the
            // memory store's verification too (see `plugins::access`).
            TokenStore::Redis(r) => Box::pin(r.token(access_token)).await,
        };
        self.count(r)
    }

    /// Looks a token up by access token for verification: the same row as
    /// [`Self::token`] without the token values, cheap to get from memory.
    pub async fn grant(&self, access_token: &str) -> Result<Option<Grant>, StoreError> {
        let r = match self {
            TokenStore::Memory(m) => Ok(m.grant(access_token)),
            // Boxed, as in `token`.
            TokenStore::Redis(r) => Box::pin(r.token(access_token))
                .await
                .map(|t| t.map(Grant::from)),
        };
        self.count(r)
    }

    /// Looks a token up by refresh token (both values are filled in).
    pub async fn token_by_refresh(
        &self,
        refresh_token: &str,
    ) -> Result<Option<IssuedToken>, StoreError> {
        let r = match self {
            TokenStore::Memory(m) => Ok(m.token_by_refresh(refresh_token)),
            TokenStore::Redis(r) => r.token_by_refresh(refresh_token).await,
        };
        self.count(r)
    }

    /// Deletes a token (and its refresh token).
    pub async fn delete_token(&self, access_token: &str) -> Result<(), StoreError> {
        let r = match self {
            TokenStore::Memory(m) => {
                m.delete_token(access_token);
                Ok(())
            }
            TokenStore::Redis(r) => r.delete_token(access_token).await,
        };
        self.count(r)
    }

    /// Atomically replaces `old` (found by [`Self::token_by_refresh`], so
    /// both its values are known) with `new`: the refresh step. Returns
    /// `false`, changing nothing, when `old` is no longer stored under its
    /// refresh token, so of two concurrent refreshes exactly one wins.
    pub async fn replace_token(
        &self,
        old: &IssuedToken,
        new: &IssuedToken,
    ) -> Result<bool, StoreError> {
        let r = match self {
            TokenStore::Memory(m) => m.replace_token(old, new.clone()),
            TokenStore::Redis(r) => r.replace_token(old, new).await,
        };
        self.count(r)
    }

    /// Stores a new authorization code (valid for [`CODE_TTL`] seconds).
    pub async fn insert_code(&self, code: &AuthCode) -> Result<(), StoreError> {
        let r = match self {
            TokenStore::Memory(m) => m.insert_code(code.clone()),
            TokenStore::Redis(r) => r.insert_code(code).await,
        };
        self.count(r)
    }

    /// Reads a code without consuming it (to validate before [`Self::take_code`]).
    pub async fn code(&self, code: &str) -> Result<Option<AuthCode>, StoreError> {
        let r = match self {
            TokenStore::Memory(m) => Ok(m.code(code)),
            TokenStore::Redis(r) => r.code(code).await,
        };
        self.count(r)
    }

    /// Removes and returns a code atomically: of two concurrent callers
    /// exactly one gets it.
    pub async fn take_code(&self, code: &str) -> Result<Option<AuthCode>, StoreError> {
        let r = match self {
            TokenStore::Memory(m) => Ok(m.take_code(code)),
            TokenStore::Redis(r) => r.take_code(code).await,
        };
        self.count(r)
    }

    /// Number of stored token rows. O(1) for memory; for Redis it scans the
    /// key space (O(n)), so call it for diagnostics, not per request.
    pub async fn len(&self) -> Result<usize, StoreError> {
        match self {
            TokenStore::Memory(m) => Ok(m.len()),
            TokenStore::Redis(r) => r.len().await,
        }
    }

    /// Whether no token rows are stored.
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len().await? == 0)
    }

    /// Deletes every token and code whose credential id is not in `keep`
    /// (the cascade of deleting a credential). Returns how many rows went.
    /// Lookups already reject tokens of unknown credentials, so this only
    /// reclaims space; call it with the ids of a fully synced table, since
    /// with Redis every replica shares the rows.
    pub async fn retain_credentials(&self, keep: &HashSet<String>) -> Result<usize, StoreError> {
        match self {
            TokenStore::Memory(m) => Ok(m.retain_credentials(keep)),
            TokenStore::Redis(r) => r.retain_credentials(keep).await,
        }
    }

    fn count<T>(&self, r: Result<T, StoreError>) -> Result<T, StoreError> {
        let ops = match self {
            TokenStore::Memory(m) => m.ops(),
            TokenStore::Redis(r) => r.ops(),
        };
        ops.count(r.is_ok());
        r
    }
}

/// Unix time in seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Accounts for `count` tokens of `credential` evicted by the
/// per-credential bound: counted, and logged at debug level only, since a
/// client issuing in a loop would otherwise write a line per token.
fn evicted(metrics: Option<&Metrics>, credential: &str, count: usize) {
    if let Some(m) = metrics {
        m.tokens_evicted.inc_by(count as u64);
    }
    tracing::debug!(
        credential,
        count,
        "evicted the oldest tokens of a credential at its bound"
    );
}

/// SHA-256 of a token value, lower-case hex: how stores name rows without
/// holding the value as a key.
pub fn digest_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}
