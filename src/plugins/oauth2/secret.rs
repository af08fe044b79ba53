//! Client-secret verification.
//!
//! Plain secrets are compared in constant time. Hashed secrets are argon2id
//! PHC strings (`hash_secret: true`, sealed before publish), Kong's
//! `$pbkdf2-sha512$i=…,l=…$salt$hash` or bcrypt (`$2b$`, `$2a$`, `$2y$`)
//! from a migrated Kong database, checked
//! by `secret::verify_phc` (in constant time too; Kong uses `==` for both).
//!
//! Hashing is deliberately slow, so it runs on its own threads at idle CPU
//! priority (`idle_pool`) behind a semaphore with one permit per core: a
//! flood of token requests queues there and uses only CPU the proxy leaves
//! over, instead of starving the proxy's own threads. A successful
//! verification is remembered under the keyed digest (per-process random key) of
//! (client id, stored hash, presented secret), so each credential pays the
//! hash once, not on every token request. Only successes are remembered, and
//! a new hash or secret gives a different key.

mod idle_pool;

use crate::model::{ClientSecret, Oauth2Credential};
use crate::plugins::PluginError;
use crate::secret::{DigestKey, verify_phc};
use idle_pool::IdlePool;
use parking_lot::Mutex;
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Remembered successful verifications.
const CACHE_ENTRIES: usize = 10_000;
/// Longest wait for a hashing slot before answering 503.
const QUEUE_WAIT: Duration = Duration::from_secs(10);

/// Verifies client secrets; shared by all requests of the process.
pub(crate) struct SecretVerifier {
    key: DigestKey,
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
    pub(super) fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            key: DigestKey::random(),
            verified: Mutex::new(Remembered::default()),
            permits: Arc::new(Semaphore::new(cores)),
            pool: OnceLock::new(),
            cores,
        }
    }

    /// Whether `presented` is `credential`'s secret. A missing secret never
    /// matches, nor does a credential without one.
    pub(super) async fn verify(
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
        self.verify_hash(&credential.client_id, phc, presented)
            .await
    }

    /// Whether `presented` matches the stored hash `phc` of the credential
    /// `id` (any type: basic-auth passwords use the same pool and cache).
    pub(crate) async fn verify_hash(
        &self,
        id: &str,
        phc: &str,
        presented: &str,
    ) -> Result<bool, PluginError> {
        let digest = self.digest(id, phc, presented);
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
        let (phc, presented_owned) = (phc.to_string(), presented.to_string());
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
        self.key
            .digest(&[client_id.as_bytes(), phc.as_bytes(), presented.as_bytes()])
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
