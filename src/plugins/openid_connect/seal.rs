//! Sealing the plugin's cookies and server-side session records with the
//! crate's AEAD keyring (`secret::Keyring`, XChaCha20-Poly1305).
//!
//! Each `session_secret` becomes one 32-byte key by HKDF-SHA256 (RFC 5869)
//! and a key id derived from that key, so several secrets form a keyring:
//! the first seals, every one opens — rotating means putting the new
//! secret first and keeping the old one until its sessions have expired.
//! Values are bound to `session_audience` (the per-value key's subject)
//! and to their purpose (associated data), so a session cookie does not
//! open as an authorization cookie, nor under another audience.
//!
//! Without `session_secret` the plugin uses a random per-process secret:
//! sessions then end with the process and are not shared with replicas
//! (logged once per plugin); set `session_secret` (the same on every
//! replica) for anything but a single instance. No secret is built into
//! the binary.

use crate::model::Sensitive;
use crate::model::plugin::OidcConfig;
use crate::secret::Keyring;
use hkdf::Hkdf;
use parking_lot::Mutex;
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Arc;

/// Plugins whose keys are kept; more only while configurations churn.
const MAX_PLUGINS: usize = 1024;

/// HKDF salt: domain separation from every other use of the secret.
const SALT: &[u8] = b"kingress openid-connect session v1";

/// A plugin's sealing keys and audience.
pub(super) struct Sealing {
    keyring: Keyring,
    audience: Vec<u8>,
}

// === impl Sealing ===

impl Sealing {
    /// Keys from `secrets` (first seals), else from `fallback`.
    pub(super) fn new(secrets: &[Sensitive], fallback: &[u8; 32], audience: &str) -> Self {
        let derive = |secret: &[u8]| {
            let hk = Hkdf::<Sha256>::new(Some(SALT), secret);
            let mut key = [0u8; 32];
            let mut id = [0u8; 6];
            // 32 and 6 bytes are far below HKDF-SHA256's 8160-byte limit.
            let _ = hk.expand(b"seal key", &mut key);
            let _ = hk.expand(b"key id", &mut id);
            (hex::encode(id), key)
        };
        let mut keys: Vec<(String, [u8; 32])> = secrets
            .iter()
            .map(|s| derive(s.expose().as_bytes()))
            .collect();
        // The same secret listed twice would repeat its id.
        keys.dedup_by(|a, b| a.0 == b.0);
        if keys.is_empty() {
            keys.push(derive(fallback));
        }
        let keyring = Keyring::new(keys).unwrap_or_else(|_| Keyring::builtin());
        Self {
            keyring,
            audience: audience.as_bytes().to_vec(),
        }
    }

    /// Seals `plain` for `purpose`.
    pub(super) fn seal(&self, purpose: &str, plain: &[u8]) -> String {
        self.keyring.seal(&self.audience, plain, purpose.as_bytes())
    }

    /// Opens a value sealed for `purpose`; `None` when it does not
    /// authenticate (tampered, other secret, audience or purpose).
    pub(super) fn open(&self, purpose: &str, sealed: &str) -> Option<Vec<u8>> {
        self.keyring
            .open(sealed, &self.audience, purpose.as_bytes())
            .ok()
    }
}

/// Each plugin's keys, derived once per configuration rather than per
/// request (HKDF for every secret). A new configuration is a new `Arc`,
/// so a changed secret is never served from here.
#[derive(Default)]
pub(super) struct Sealings {
    /// By plugin id (configuration, not client input: a fast hash; this
    /// is looked up on every request with a session).
    plugins: Mutex<HashMap<String, Derived, foldhash::fast::RandomState>>,
}

/// A plugin's keys and the configuration they were derived from.
struct Derived {
    config: Arc<OidcConfig>,
    sealing: Arc<Sealing>,
}

// === impl Sealings ===

impl Sealings {
    /// The keys of plugin `id` under `config`, made by `derive` when not
    /// known yet.
    pub(super) fn get(
        &self,
        id: &str,
        config: &Arc<OidcConfig>,
        derive: impl FnOnce() -> Sealing,
    ) -> Arc<Sealing> {
        if let Some(known) = self.plugins.lock().get(id)
            && Arc::ptr_eq(&known.config, config)
        {
            return known.sealing.clone();
        }
        let sealing = Arc::new(derive());
        let mut plugins = self.plugins.lock();
        if plugins.len() >= MAX_PLUGINS {
            plugins.clear();
        }
        let derived = Derived {
            config: config.clone(),
            sealing: sealing.clone(),
        };
        plugins.insert(id.to_string(), derived);
        sealing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_audience_and_purpose() {
        let fallback = [7u8; 32];
        let old = Sealing::new(&[Sensitive::new("old-secret-0123456789")], &fallback, "a");
        let sealed = old.seal("session", b"hello");
        let rotated = Sealing::new(
            &[
                Sensitive::new("new-secret-0123456789"),
                Sensitive::new("old-secret-0123456789"),
            ],
            &fallback,
            "a",
        );
        assert_eq!(rotated.open("session", &sealed).unwrap(), b"hello");
        assert!(
            old.open("session", &rotated.seal("session", b"x"))
                .is_none()
        );
        assert!(rotated.open("authorization", &sealed).is_none());
        let other = Sealing::new(&[Sensitive::new("old-secret-0123456789")], &fallback, "b");
        assert!(other.open("session", &sealed).is_none());
        let none = Sealing::new(&[], &fallback, "a");
        assert!(none.open("session", &sealed).is_none());
        assert_eq!(
            none.open("session", &none.seal("session", b"y")).unwrap(),
            b"y"
        );
    }
}
