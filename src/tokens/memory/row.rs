//! The compact form a token takes inside the memory store.
//!
//! An [`IssuedToken`] is convenient at the API but heavy to keep by the
//! million: half a dozen heap strings per row, and the access token stored
//! again as the map key, in the refresh index and in the expiry heap. Rows
//! here keep token values inline ([`Key`]: 32 bytes, no allocation, for the
//! 32-character tokens kingress issues) and share the strings many rows
//! repeat (credential id, service, scope) through an interning set. A
//! [`Grant`] shares those strings, so verifying a token copies none.

use crate::model::Sensitive;
use crate::tokens::{Grant, IssuedToken};
use std::collections::HashSet;
use std::sync::Arc;

/// Longest value kept inline.
const INLINE: usize = 32;

/// A token, refresh token or code value as a map key.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Key {
    /// Up to 32 bytes, zero-padded, with the length.
    Inline([u8; INLINE], u8),
    /// Longer values (never issued by kingress; accepted for completeness).
    Heap(Box<str>),
}

/// A token row without its access token (the map key holds it).
pub(super) struct Row {
    refresh: Option<Key>,
    credential_id: Arc<str>,
    service: Option<Arc<str>>,
    scope: Option<Arc<str>>,
    /// Not interned (rarely repeated), but shared with grants.
    authenticated_userid: Option<Arc<str>>,
    expires_in: u64,
    created_at: u64,
    ttl: Option<u64>,
}

/// Strings shared between rows.
#[derive(Default)]
pub(super) struct Interned(HashSet<Arc<str>>);

// === impl Key ===

impl Key {
    /// The key of `value`; never allocates for values of up to 32 bytes.
    pub(super) fn new(value: &str) -> Key {
        let bytes = value.as_bytes();
        if bytes.len() <= INLINE {
            let mut inline = [0u8; INLINE];
            inline[..bytes.len()].copy_from_slice(bytes);
            Key::Inline(inline, bytes.len() as u8)
        } else {
            Key::Heap(value.into())
        }
    }

    /// The value back as text.
    pub(super) fn as_str(&self) -> &str {
        match self {
            // Built from a `&str` and cut at its own length: valid UTF-8.
            Key::Inline(bytes, len) => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Key::Heap(s) => s,
        }
    }
}

// Token values must never print.
impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

// === impl Row ===

impl Row {
    /// The compact form of `token`, sharing repeated strings through
    /// `interned`.
    pub(super) fn new(token: &IssuedToken, interned: &mut Interned) -> Row {
        Row {
            refresh: token.refresh_token.as_ref().map(|r| Key::new(r.expose())),
            credential_id: interned.get(&token.credential_id),
            service: token.service.as_deref().map(|s| interned.get(s)),
            scope: token.scope.as_deref().map(|s| interned.get(s)),
            authenticated_userid: token.authenticated_userid.as_deref().map(Arc::from),
            expires_in: token.expires_in,
            created_at: token.created_at,
            ttl: token.ttl,
        }
    }

    /// The API form, with or without the refresh token.
    pub(super) fn to_token(&self, access: &Key, with_refresh: bool) -> IssuedToken {
        IssuedToken {
            access_token: Sensitive::new(access.as_str()),
            refresh_token: self
                .refresh
                .as_ref()
                .filter(|_| with_refresh)
                .map(|r| Sensitive::new(r.as_str())),
            credential_id: self.credential_id.to_string(),
            service: self.service.as_deref().map(str::to_string),
            scope: self.scope.as_deref().map(str::to_string),
            authenticated_userid: self.authenticated_userid.as_deref().map(str::to_string),
            expires_in: self.expires_in,
            created_at: self.created_at,
            ttl: self.ttl,
        }
    }

    /// What verification needs, sharing the row's strings.
    pub(super) fn grant(&self) -> Grant {
        Grant {
            credential_id: self.credential_id.clone(),
            service: self.service.clone(),
            scope: self.scope.clone(),
            authenticated_userid: self.authenticated_userid.clone(),
            expires_in: self.expires_in,
            created_at: self.created_at,
        }
    }

    /// The refresh token's key.
    pub(super) fn refresh(&self) -> Option<&Key> {
        self.refresh.as_ref()
    }

    /// The credential the token was issued to.
    pub(super) fn credential_id(&self) -> &str {
        &self.credential_id
    }

    /// The credential the token was issued to, shared.
    pub(super) fn credential(&self) -> &Arc<str> {
        &self.credential_id
    }

    /// When the row's lifetime ends, unix seconds; `None` = never.
    pub(super) fn deadline(&self) -> Option<u64> {
        self.ttl.map(|ttl| self.created_at.saturating_add(ttl))
    }

    /// Whether the row's lifetime has passed at `now`.
    pub(super) fn is_gone(&self, now: u64) -> bool {
        self.deadline().is_some_and(|d| now > d)
    }
}

// === impl Interned ===

impl Interned {
    /// The shared copy of `value`.
    fn get(&mut self, value: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(value) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(value);
        self.0.insert(shared.clone());
        shared
    }

    /// Forgets strings no row uses any more.
    pub(super) fn prune(&mut self) {
        self.0.retain(|s| Arc::strong_count(s) > 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_never_print() {
        for value in ["", "a", "abcdefghijklmnopqrstuvwxyz012345", &"x".repeat(40)] {
            let key = Key::new(value);
            assert_eq!(key.as_str(), value);
            assert_eq!(key, Key::new(value));
            assert_eq!(format!("{key:?}"), "[redacted]");
        }
        assert!(matches!(Key::new(&"x".repeat(32)), Key::Inline(..)));
        assert!(matches!(Key::new(&"x".repeat(33)), Key::Heap(_)));
        assert_ne!(Key::new("a"), Key::new("a\0"));
    }

    #[test]
    fn rows_share_repeated_strings_and_convert_back() {
        let mut interned = Interned::default();
        let token = IssuedToken {
            access_token: Sensitive::new("access"),
            refresh_token: Some(Sensitive::new("refresh")),
            credential_id: "cred".into(),
            service: Some("svc".into()),
            scope: Some("read".into()),
            authenticated_userid: Some("user".into()),
            expires_in: 7200,
            created_at: 10,
            ttl: Some(20),
        };
        let a = Row::new(&token, &mut interned);
        let b = Row::new(&token, &mut interned);
        assert!(Arc::ptr_eq(&a.credential_id, &b.credential_id));
        assert_eq!(a.to_token(&Key::new("access"), true), token);
        let grant = a.grant();
        assert!(Arc::ptr_eq(&grant.credential_id, &b.credential_id));
        assert_eq!(grant, Grant::from(token.clone()));
        let without = a.to_token(&Key::new("access"), false);
        assert_eq!(without.refresh_token, None);
        assert_eq!(a.deadline(), Some(30));
        assert!(a.is_gone(31) && !a.is_gone(30));
        drop((a, b, grant));
        interned.prune();
        assert!(interned.0.is_empty());
    }
}
