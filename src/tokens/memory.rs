//! In-process token store.
use super::{AuthCode, IssuedToken};
use parking_lot::Mutex;
use std::collections::HashMap;

/// Tokens and codes in process memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    tokens: HashMap<String, IssuedToken>,
    refresh: HashMap<String, String>,
    codes: HashMap<String, AuthCode>,
}

impl MemoryStore {
    /// Stores a token.
    pub fn insert_token(&self, token: IssuedToken) {
        let mut inner = self.inner.lock();
        if let Some(r) = &token.refresh_token {
            inner
                .refresh
                .insert(r.expose().to_string(), token.access_token.expose().to_string());
        }
        inner
            .tokens
            .insert(token.access_token.expose().to_string(), token);
    }

    /// By access token.
    pub fn token(&self, access_token: &str) -> Option<IssuedToken> {
        self.inner.lock().tokens.get(access_token).cloned()
    }

    /// By refresh token.
    pub fn token_by_refresh(&self, refresh: &str) -> Option<IssuedToken> {
        let inner = self.inner.lock();
        let access = inner.refresh.get(refresh)?;
        inner.tokens.get(access).cloned()
    }

    /// Deletes a token.
    pub fn delete_token(&self, access_token: &str) {
        let mut inner = self.inner.lock();
        if let Some(t) = inner.tokens.remove(access_token) {
            if let Some(r) = t.refresh_token {
                inner.refresh.remove(r.expose());
            }
        }
    }

    /// Stores a code.
    pub fn insert_code(&self, code: AuthCode) {
        self.inner
            .lock()
            .codes
            .insert(code.code.expose().to_string(), code);
    }

    /// Takes a code.
    pub fn take_code(&self, code: &str) -> Option<AuthCode> {
        self.inner.lock().codes.remove(code)
    }
}
