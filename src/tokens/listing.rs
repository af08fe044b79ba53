//! The Admin API's view of the token store (`/oauth2_tokens`): rows by
//! id (the SHA-256 of the access token) or by the token itself, listed in
//! id order for Kong-style pages, revoked at once.

use super::{StoreError, TokenStore, TokenSummary, digest_hex};

/// What `PATCH /oauth2_tokens/{key}` changes; `None` keeps a field, and
/// `Some(None)` clears an optional one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenChange {
    /// A new access-token lifetime in seconds.
    pub expires_in: Option<u64>,
    /// A new scope.
    pub scope: Option<Option<String>>,
    /// A new end-user id.
    pub authenticated_userid: Option<Option<String>>,
}

// === impl TokenChange ===

impl TokenChange {
    /// Applies the change to a row's fields.
    pub(super) fn apply(
        &self,
        expires_in: &mut u64,
        scope: &mut Option<String>,
        authenticated_userid: &mut Option<String>,
    ) {
        if let Some(e) = self.expires_in {
            *expires_in = e;
        }
        if let Some(s) = &self.scope {
            scope.clone_from(s);
        }
        if let Some(u) = &self.authenticated_userid {
            authenticated_userid.clone_from(u);
        }
    }
}

// === impl TokenStore ===

impl TokenStore {
    /// Up to `limit` live token rows for the Admin API (`GET /oauth2_tokens`),
    /// without token values, in id order, after the id `after` (the offset
    /// of the page before).
    pub async fn list_tokens(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TokenSummary>, StoreError> {
        match self {
            TokenStore::Memory(m) => Ok(m.list_tokens(after, limit)),
            TokenStore::Redis(r) => r.list_tokens(after, limit).await,
        }
    }

    /// The live row whose id ([`TokenSummary::id`]) or access token is
    /// `key`, for the Admin API (`/oauth2_tokens/{id or token}`).
    pub async fn find(&self, key: &str) -> Result<Option<TokenSummary>, StoreError> {
        for id in candidate_ids(key) {
            let found = match self {
                TokenStore::Memory(m) => m.token_by_id(&id),
                TokenStore::Redis(r) => r.token_by_id(&id).await?,
            };
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// Changes the live row whose id or access token is `key`; the row as
    /// changed, `None` when there is none.
    pub async fn update(
        &self,
        key: &str,
        change: &TokenChange,
    ) -> Result<Option<TokenSummary>, StoreError> {
        for id in candidate_ids(key) {
            // `key` is the access token itself when its digest is the id.
            let access = (id != key).then_some(key);
            let changed = match self {
                TokenStore::Memory(m) => m.update_by_id(&id, change),
                TokenStore::Redis(r) => r.update_by_id(&id, change, access).await?,
            };
            if changed.is_some() {
                return Ok(changed);
            }
        }
        Ok(None)
    }

    /// Revokes the row whose id or access token is `key`, at once for
    /// every replica sharing the store; whether there was one.
    pub async fn revoke(&self, key: &str) -> Result<bool, StoreError> {
        for id in candidate_ids(key) {
            let gone = match self {
                TokenStore::Memory(m) => m.delete_by_id(&id),
                TokenStore::Redis(r) => r.delete_by_id(&id).await?,
            };
            if gone {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// The ids an Admin API key may name: itself when it has the shape of an
/// id (64 lower-case hex digits), then the id of the access token it may be.
fn candidate_ids(key: &str) -> Vec<String> {
    let is_id = key.len() == 64 && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let mut ids = Vec::with_capacity(2);
    if is_id {
        ids.push(key.to_string());
    }
    ids.push(digest_hex(key));
    ids
}
