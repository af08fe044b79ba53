//! The one keyed digest: HMAC-SHA256 over length-prefixed parts, so
//! `("ab", "c")` and `("a", "bc")` never collide. Memo and cache keys that
//! are derived from secrets use it with a per-process random key (nothing
//! in memory can then be brute-forced faster than the secret's own hash);
//! sealing derives its per-record keys with it.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A key for [`DigestKey::digest`]. `Debug` never prints the key.
#[derive(Clone)]
pub struct DigestKey([u8; 32]);

// === impl DigestKey ===

impl DigestKey {
    /// A fresh random key, for digests that live as long as the process.
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut key);
        Self(key)
    }

    /// A key from fixed bytes (a configured or derived key).
    pub fn from_bytes(key: [u8; 32]) -> Self {
        Self(key)
    }

    /// HMAC-SHA256 of `parts`, each prefixed with its length.
    pub fn digest(&self, parts: &[&[u8]]) -> [u8; 32] {
        // HMAC accepts keys of any length; this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

impl std::fmt::Debug for DigestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DigestKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_length_prefixed_and_keys_matter() {
        let k = DigestKey::from_bytes([7; 32]);
        assert_ne!(k.digest(&[b"ab", b"c"]), k.digest(&[b"a", b"bc"]));
        assert_eq!(k.digest(&[b"ab", b"c"]), k.digest(&[b"ab", b"c"]));
        let other = DigestKey::from_bytes([8; 32]);
        assert_ne!(k.digest(&[b"x"]), other.digest(&[b"x"]));
        assert_eq!(format!("{k:?}"), "DigestKey(***)");
    }
}
