//! The Admin API's view of the memory store (`/oauth2_tokens`): rows by
//! their id (the SHA-256 of the access token), listed in id order so that
//! a page's last id is the next page's offset. Every call scans the rows
//! (hashing each value): a diagnostic path, never on a request.

use super::{MemoryStore, TokenSummary, unix_now};
use crate::tokens::{TokenChange, digest_hex};

// === impl MemoryStore ===

impl MemoryStore {
    /// Up to `limit` live rows whose id sorts after `after`, in id order.
    pub fn list_tokens(&self, after: Option<&str>, limit: usize) -> Vec<TokenSummary> {
        let now = unix_now();
        let inner = self.inner.read();
        let mut out: Vec<TokenSummary> = inner
            .tokens
            .iter()
            .filter(|(_, row)| !row.is_gone(now))
            .filter_map(|(access, row)| {
                let id = digest_hex(access.as_str());
                after
                    .is_none_or(|a| id.as_str() > a)
                    .then(|| row.to_token(access, true).summary())
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out.truncate(limit);
        out
    }

    /// The live row whose id is `id`.
    pub fn token_by_id(&self, id: &str) -> Option<TokenSummary> {
        let now = unix_now();
        let inner = self.inner.read();
        inner
            .tokens
            .iter()
            .filter(|(_, row)| !row.is_gone(now))
            .find(|(access, _)| digest_hex(access.as_str()) == id)
            .map(|(access, row)| row.to_token(access, true).summary())
    }

    /// Deletes the row whose id is `id` (and its refresh token) at once;
    /// whether there was one.
    pub fn delete_by_id(&self, id: &str) -> bool {
        let mut inner = self.inner.write();
        let Some(access) = inner
            .tokens
            .keys()
            .find(|access| digest_hex(access.as_str()) == id)
            .cloned()
        else {
            return false;
        };
        inner.remove_token(&access);
        self.report(&inner);
        true
    }

    /// Changes the live row whose id is `id` in place (one lock hold, so a
    /// lookup sees the row before or after, never without it).
    pub fn update_by_id(&self, id: &str, change: &TokenChange) -> Option<TokenSummary> {
        let now = unix_now();
        let mut inner = self.inner.write();
        let (access, mut token) = inner
            .tokens
            .iter()
            .filter(|(_, row)| !row.is_gone(now))
            .find(|(access, _)| digest_hex(access.as_str()) == id)
            .map(|(access, row)| (access.clone(), row.to_token(access, true)))?;
        change.apply(
            &mut token.expires_in,
            &mut token.scope,
            &mut token.authenticated_userid,
        );
        inner.put_token(access, &token);
        Some(token.summary())
    }
}
