//! Client-secret verification.
//!
//! Plain secrets are compared in constant time. Hashed secrets are argon2id
//! PHC strings (`hash_secret: true`, sealed before publish) or Kong's
//! `$pbkdf2-sha512$i=…,l=…$salt$hash` from a migrated Kong database, compared
//! in constant time too (Kong uses `==` for both).
//!
//! Hashing is deliberately slow, so it runs on its own threads at idle CPU
//! priority (`idle_pool`) behind a semaphore with one permit per core: a
//! flood of token requests queues there and uses only CPU the proxy leaves
//! over, instead of starving the proxy's own threads. A successful
//! verification is remembered under an HMAC (per-process random key) of
//! (client id, stored hash, presented secret), so each credential pays the
//! hash once, not on every token request. Only successes are remembered, and
//! a new hash or secret gives a different key.

mod idle_pool;

use crate::model::{ClientSecret, Oauth2Credential};
use crate::plugins::PluginError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use hmac::{Hmac, Mac};
use idle_pool::IdlePool;
use parking_lot::Mutex;
use sha2::{Sha256, Sha512};
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

/// Remembered successful verifications.
const CACHE_ENTRIES: usize = 10_000;
/// Longest wait for a hashing slot before answering 503.
const QUEUE_WAIT: Duration = Duration::from_secs(10);
/// Bounds on PBKDF2 parameters read from a (trusted, but possibly mistyped)
/// configuration, so one credential cannot pin a core for minutes.
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
const MAX_PBKDF2_LEN: usize = 1024;

/// Verifies client secrets; shared by all requests of the process.
pub struct SecretVerifier {
    key: [u8; 32],
    verified: Mutex<Remembered>,
    permits: Arc<Semaphore>,
    /// Started on the first hash, so a process without hashed secrets has
    /// no hashing threads.
    pool: OnceLock<IdlePool>,
    cores: usize,
}

#[derive(Default)]
struct Remembered {
    set: HashSet<[u8; 32]>,
    order: VecDeque<[u8; 32]>,
}

// === impl SecretVerifier ===

impl SecretVerifier {
    /// A verifier with a fresh random cache key and one hashing permit per
    /// available core.
    pub fn new() -> Self {
        let mut key = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut key);
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            key,
            verified: Mutex::new(Remembered::default()),
            permits: Arc::new(Semaphore::new(cores)),
            pool: OnceLock::new(),
            cores,
        }
    }

    /// Whether `presented` is `credential`'s secret. A missing secret never
    /// matches, nor does a credential without one.
    pub async fn verify(
        &self,
        credential: &Oauth2Credential,
        presented: Option<&str>,
    ) -> Result<bool, PluginError> {
        let Some(presented) = presented else {
            return Ok(false);
        };
        let phc = match &credential.client_secret {
            ClientSecret::None => return Ok(false),
            ClientSecret::Plain(s) | ClientSecret::ToHash(s) => return Ok(s.matches(presented)),
            ClientSecret::Hashed(phc) => phc,
        };
        let digest = self.digest(&credential.client_id, phc, presented);
        if self.verified.lock().set.contains(&digest) {
            return Ok(true);
        }
        let permit = tokio::time::timeout(QUEUE_WAIT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                PluginError::Unavailable(
                    "too many client authentications in progress, try again later".into(),
                )
            })?
            .map_err(|_| PluginError::Internal("secret verification is shutting down".into()))?;
        let (phc, presented_owned) = (phc.clone(), presented.to_string());
        let pool = self.pool.get_or_init(|| IdlePool::new(self.cores));
        let ok = pool
            .run(move || {
                let _permit = permit;
                verify_phc(&phc, &presented_owned)
            })
            .await
            .ok_or_else(|| PluginError::Internal("secret verification failed".into()))?;
        if ok {
            self.remember(digest);
        }
        Ok(ok)
    }

    fn remember(&self, digest: [u8; 32]) {
        let mut r = self.verified.lock();
        if r.set.insert(digest) {
            r.order.push_back(digest);
            while r.order.len() > CACHE_ENTRIES {
                if let Some(old) = r.order.pop_front() {
                    r.set.remove(&old);
                }
            }
        }
    }

    fn digest(&self, client_id: &str, phc: &str, presented: &str) -> [u8; 32] {
        // HMAC accepts keys of any length; this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        for part in [client_id, phc, presented] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }
}

impl Default for SecretVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for SecretVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretVerifier")
            .field("remembered", &self.verified.lock().order.len())
            .finish_non_exhaustive()
    }
}

/// Verifies `presented` against a PHC string (argon2 or Kong's PBKDF2).
pub fn verify_phc(phc: &str, presented: &str) -> bool {
    if phc.starts_with("$argon2") {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        return PasswordHash::new(phc)
            .map(|h| {
                argon2::Argon2::default()
                    .verify_password(presented.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false);
    }
    if phc.starts_with("$pbkdf2-sha512$") {
        return verify_pbkdf2(phc, presented).unwrap_or(false);
    }
    tracing::warn!("oauth2: unsupported client secret hash format; refusing");
    false
}

/// `$pbkdf2-sha512$i=<iterations>,l=<length>$<salt>$<hash>` with unpadded
/// standard base64; `None` when the string is malformed.
fn verify_pbkdf2(phc: &str, presented: &str) -> Option<bool> {
    let mut parts = phc.split('$');
    let (Some(""), Some("pbkdf2-sha512"), Some(params), Some(salt), Some(hash), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let mut iterations = None;
    let mut length = None;
    for kv in params.split(',') {
        match kv.split_once('=')? {
            ("i", v) => iterations = v.parse::<u32>().ok(),
            ("l", v) => length = v.parse::<usize>().ok(),
            _ => return None,
        }
    }
    let (iterations, length) = (iterations?, length?);
    if iterations == 0
        || iterations > MAX_PBKDF2_ITERATIONS
        || length == 0
        || length > MAX_PBKDF2_LEN
    {
        return None;
    }
    let salt = STANDARD_NO_PAD.decode(salt.trim_end_matches('=')).ok()?;
    let expected = STANDARD_NO_PAD.decode(hash.trim_end_matches('=')).ok()?;
    if expected.len() != length {
        return None;
    }
    let mut derived = vec![0u8; length];
    pbkdf2::pbkdf2_hmac::<Sha512>(presented.as_bytes(), &salt, iterations, &mut derived);
    Some(bool::from(derived.ct_eq(&expected)))
}

/// Kong's PBKDF2 encoding of `secret` with `salt` (SHA-512, `iterations`,
/// 32 bytes).
pub fn pbkdf2_phc(secret: &str, salt: &[u8], iterations: u32) -> String {
    let mut derived = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha512>(secret.as_bytes(), salt, iterations, &mut derived);
    format!(
        "$pbkdf2-sha512$i={iterations},l=32${}${}",
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(derived)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kong's `05-kdf_spec.lua` vector.
    const KONG_VECTOR: &str = "$pbkdf2-sha512$i=10000,l=32$YSBsaXR0ZSBiaXQsIGp1c3QgYSBsaXR0bGUgYml0$z6ysNworexAhDELywIDi0ba0B0T7F/MBZ6Ige9lWRYI";

    #[test]
    fn kong_pbkdf2_vector() {
        assert_eq!(
            pbkdf2_phc("tofu", b"a litte bit, just a little bit", 10_000),
            KONG_VECTOR
        );
        assert!(verify_phc(KONG_VECTOR, "tofu"));
        assert!(!verify_phc(KONG_VECTOR, "tofu "));
        assert!(!verify_phc(KONG_VECTOR, ""));
    }

    #[test]
    fn malformed_pbkdf2_strings_never_verify() {
        for bad in [
            "$pbkdf2-sha512$i=10000$YQ$YQ",
            "$pbkdf2-sha512$i=0,l=32$YQ$z6ysNworexAhDELywIDi0ba0B0T7F/MBZ6Ige9lWRYI",
            "$pbkdf2-sha512$i=10000,l=16$YSBsaXR0ZSBiaXQsIGp1c3QgYSBsaXR0bGUgYml0$z6ysNworexAhDELywIDi0ba0B0T7F/MBZ6Ige9lWRYI",
            "$pbkdf2-sha512$i=10000,l=32,x=1$YQ$YQ",
            "$pbkdf2-sha512$i=10000,l=32$!!$YQ",
            "$md5$whatever",
        ] {
            assert!(!verify_phc(bad, "tofu"), "{bad}");
        }
    }

    #[test]
    fn argon2_hashes_verify() {
        use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
        let salt = SaltString::generate(&mut OsRng);
        let phc = argon2::Argon2::default()
            .hash_password(b"s3cret", &salt)
            .unwrap()
            .to_string();
        assert!(verify_phc(&phc, "s3cret"));
        assert!(!verify_phc(&phc, "s3cres"));
    }
}
