//! key-auth credentials (`keyauth_credentials`): an API key, unique, and
//! an optional `ttl` (seconds after `created_at`) after which Kong treats
//! the key as gone.

use super::{CredentialBase, CredentialSchema, CredentialType, Fields};
use crate::model::Sensitive;
use serde_json::{Map, Value, json};

/// Kong's `ttl` bound (`typedefs.ttl`).
const MAX_TTL: i64 = 100_000_000;
/// Prefix of the table key of a digested API key, so it never collides with
/// a plain key (a lookup also checks the variant it finds).
const DIGEST_KEY_PREFIX: &str = "\u{0}hmac-sha256:";

/// An API key, as given or as its keyed digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiKey {
    /// The key as the input gave it; `Debug` never prints it.
    Plain(Sensitive),
    /// The hex HMAC-SHA256 of the key under the process's digest key
    /// (`secret::Sealer` replaces plain keys with this when asked).
    Digest(String),
}

/// A key-auth credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyAuthCredential {
    /// Id, owner, source.
    pub base: CredentialBase,
    /// The key.
    pub key: ApiKey,
    /// Seconds after `created_at` the key stops working; `None` (or 0)
    /// never.
    pub ttl: Option<i64>,
}

// === impl ApiKey ===

impl ApiKey {
    /// The table key of a key whose digest (hex) is `hex`.
    pub fn digest_key(hex: &str) -> String {
        format!("{DIGEST_KEY_PREFIX}{hex}")
    }
}

// === impl KeyAuthCredential ===

impl KeyAuthCredential {
    /// When the key stops working (seconds since the epoch), if ever.
    pub fn expires_at(&self) -> Option<i64> {
        self.ttl
            .filter(|t| *t > 0)
            .map(|t| self.base.created_at.saturating_add(t))
    }

    /// Whether the key has expired at `now`.
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at().is_some_and(|at| now >= at)
    }
}

impl CredentialSchema for KeyAuthCredential {
    const TYPE: CredentialType = CredentialType::KeyAuth;

    fn parse(fields: &mut Fields<'_>, base: CredentialBase) -> Option<Self> {
        let key = fields.required_string("key");
        let ttl = fields.integer("ttl", 0, MAX_TTL);
        Some(Self {
            base,
            key: ApiKey::Plain(Sensitive::new(key?)),
            ttl,
        })
    }

    fn base(&self) -> &CredentialBase {
        &self.base
    }

    fn key(&self) -> String {
        match &self.key {
            ApiKey::Plain(k) => k.expose().to_string(),
            ApiKey::Digest(hex) => ApiKey::digest_key(hex),
        }
    }

    fn render(&self) -> Map<String, Value> {
        // Kong prints keys; a digested key has no plaintext left to print.
        let key = match &self.key {
            ApiKey::Plain(k) => json!(k.expose()),
            ApiKey::Digest(_) => json!(crate::model::plugin::schema::MASK),
        };
        let mut map = Map::new();
        map.insert("key".into(), key);
        if let Some(ttl) = self.ttl {
            map.insert("ttl".into(), ttl.into());
        }
        map
    }
}
