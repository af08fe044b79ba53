//! Token state: issued access tokens, refresh tokens and authorization codes.
//! Never part of the routing table. `memory` keeps it in the process;
//! `redis` shares it between replicas and survives restarts.

pub mod memory;

use crate::model::Sensitive;

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

/// Why the store could not answer. Callers fail closed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backing store is unreachable.
    #[error("token store unavailable: {0}")]
    Unavailable(String),
}

/// The token store chosen by `--token-store`.
#[derive(Clone, Debug)]
pub enum TokenStore {
    /// In-process store.
    Memory(std::sync::Arc<memory::MemoryStore>),
}

// === impl IssuedToken ===

impl IssuedToken {
    /// Whether the access token has expired at `now` (Kong: strictly more
    /// than `expires_in` seconds since issue).
    pub fn is_expired(&self, now: u64) -> bool {
        self.expires_in > 0 && now.saturating_sub(self.created_at) > self.expires_in
    }
}

// === impl TokenStore ===

impl TokenStore {
    /// A fresh in-memory store.
    pub fn memory() -> Self {
        TokenStore::Memory(std::sync::Arc::new(memory::MemoryStore::default()))
    }

    /// Stores a new token.
    pub async fn insert_token(&self, token: &IssuedToken) -> Result<(), StoreError> {
        match self {
            TokenStore::Memory(m) => {
                m.insert_token(token.clone());
                Ok(())
            }
        }
    }

    /// Looks a token up by access token.
    pub async fn token(&self, access_token: &str) -> Result<Option<IssuedToken>, StoreError> {
        match self {
            TokenStore::Memory(m) => Ok(m.token(access_token)),
        }
    }

    /// Looks a token up by refresh token.
    pub async fn token_by_refresh(
        &self,
        refresh_token: &str,
    ) -> Result<Option<IssuedToken>, StoreError> {
        match self {
            TokenStore::Memory(m) => Ok(m.token_by_refresh(refresh_token)),
        }
    }

    /// Deletes a token (and its refresh token).
    pub async fn delete_token(&self, access_token: &str) -> Result<(), StoreError> {
        match self {
            TokenStore::Memory(m) => {
                m.delete_token(access_token);
                Ok(())
            }
        }
    }

    /// Stores a new authorization code.
    pub async fn insert_code(&self, code: &AuthCode) -> Result<(), StoreError> {
        match self {
            TokenStore::Memory(m) => {
                m.insert_code(code.clone());
                Ok(())
            }
        }
    }

    /// Removes and returns a code atomically: of two concurrent callers
    /// exactly one gets it.
    pub async fn take_code(&self, code: &str) -> Result<Option<AuthCode>, StoreError> {
        match self {
            TokenStore::Memory(m) => Ok(m.take_code(code)),
        }
    }
}
