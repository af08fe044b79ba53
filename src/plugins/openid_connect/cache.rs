//! A bounded cache keyed by a cryptographic digest of a token, each entry
//! living until an absolute unix time (the token's `exp`). Tokens
//! themselves are never stored, only their digests, so a memory dump of the
//! cache yields nothing usable. (The cache of opened sessions uses another key: see
//! `session::Opened`.)

use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::hash::Hash;

/// A 32-byte digest of a token (or of other presented credentials).
pub(super) type TokenHash = [u8; 32];

/// Entries expire at a unix second; when full, expired entries go first,
/// then an arbitrary eighth (HashMap order is randomised per process, so
/// an attacker cannot pin which entries survive).
/// Keys are token hashes unless a cache says otherwise.
pub(super) struct TokenCache<V, K = TokenHash> {
    entries: Mutex<Map<K, Entry<V>>>,
    capacity: usize,
}

/// Keys are cryptographic digests or seeded fingerprints (never raw client
/// input), hashed again with foldhash seeded per process: SipHash's rounds
/// over a 32-byte digest were a measurable part of a cached bearer check.
type Map<K, V> = HashMap<K, V, foldhash::quality::RandomState>;

struct Entry<V> {
    value: V,
    expires_at: u64,
}

/// Hashes a token for use as a cache key. Every cached bearer request
/// digests its whole (often kilobyte-sized) token, and a hit must mean this
/// very token, so the digest is collision resistant and the fastest such
/// one the CPU offers: SHA-256 where it has SHA instructions (an 800-byte
/// token in 0.5 µs, BLAKE3 0.7 µs), BLAKE3 elsewhere (6,400 instructions
/// against SHA-256's 45,000 in software). The choice is fixed for the
/// process, and digests never leave it.
pub(super) fn token_hash(token: &str) -> TokenHash {
    if sha_instructions() {
        Sha256::digest(token.as_bytes()).into()
    } else {
        blake3::hash(token.as_bytes()).into()
    }
}

/// Whether `sha2` runs on the CPU's SHA instructions (its own test on
/// x86-64; std caches the answer).
fn sha_instructions() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("sha")
            && std::arch::is_x86_feature_detected!("sse2")
            && std::arch::is_x86_feature_detected!("ssse3")
            && std::arch::is_x86_feature_detected!("sse4.1")
    }
    #[cfg(target_arch = "aarch64")]
    {
        std::arch::is_aarch64_feature_detected!("sha2")
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

// === impl TokenCache ===

impl<V: Clone, K: Eq + Hash + Clone> TokenCache<V, K> {
    /// An empty cache holding at most `capacity` entries.
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(Map::default()),
            capacity: capacity.max(1),
        }
    }

    /// The value for `key` if it has not expired at `now` (unix seconds).
    pub(super) fn get(&self, key: &K, now: u64) -> Option<V> {
        let mut entries = self.entries.lock();
        match entries.get(key) {
            Some(e) if now < e.expires_at => Some(e.value.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Stores `value` until `expires_at` (unix seconds).
    pub(super) fn insert(&self, key: K, value: V, expires_at: u64, now: u64) {
        if expires_at <= now {
            return;
        }
        let mut entries = self.entries.lock();
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, e| now < e.expires_at);
            if entries.len() >= self.capacity {
                let drop = (self.capacity / 8).max(1);
                let victims: Vec<K> = entries.keys().take(drop).cloned().collect();
                for k in victims {
                    entries.remove(&k);
                }
            }
        }
        entries.insert(key, Entry { value, expires_at });
    }

    /// Number of entries (expired ones included until touched).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_keyed_by_the_digest_this_cpu_computes_fastest() {
        let token = "eyJhbGciOiJSUzI1NiJ9.e30.c2ln";
        let sha: TokenHash = Sha256::digest(token).into();
        let blake: TokenHash = blake3::hash(token.as_bytes()).into();
        let expected = if sha_instructions() { sha } else { blake };
        assert_eq!(token_hash(token), expected);
        assert_ne!(
            token_hash(token),
            token_hash("eyJhbGciOiJSUzI1NiJ9.e30.c2lo")
        );
    }

    #[test]
    fn entries_live_until_their_expiry() {
        let c = TokenCache::new(10);
        c.insert(token_hash("a"), 1, 100, 50);
        assert_eq!(c.get(&token_hash("a"), 99), Some(1));
        assert_eq!(c.get(&token_hash("a"), 100), None);
        assert_eq!(c.len(), 0);
        c.insert(token_hash("b"), 2, 10, 10);
        assert_eq!(
            c.get(&token_hash("b"), 5),
            None,
            "already expired: not stored"
        );
    }

    #[test]
    fn size_stays_bounded() {
        let c = TokenCache::new(16);
        for i in 0..1000 {
            c.insert(token_hash(&i.to_string()), i, 1_000, 0);
            assert!(c.len() <= 16);
        }
        assert_eq!(c.get(&token_hash("999"), 1), Some(999));
    }

    #[test]
    fn expired_entries_are_evicted_first() {
        let c = TokenCache::new(4);
        c.insert(token_hash("old"), 0, 10, 0);
        for i in 1..4 {
            c.insert(token_hash(&i.to_string()), i, 1_000, 0);
        }
        c.insert(token_hash("new"), 9, 1_000, 20);
        for i in 1..4 {
            assert_eq!(c.get(&token_hash(&i.to_string()), 20), Some(i));
        }
        assert_eq!(c.get(&token_hash("new"), 20), Some(9));
    }
}
