//! Hashing of `hash_secret: true` client secrets before a table is
//! published: `ClientSecret::ToHash` becomes an argon2id PHC string.
//!
//! Argon2 costs ~12 ms per secret, and translate runs on every change, so
//! hashes are memoised under a keyed digest of (client_id, secret): an
//! unchanged secret keeps its hash (and the table compares equal, so nothing
//! is republished), a changed secret is hashed again. The memo key is the
//! keyed digest (`DigestKey`) with a per-process random key, so the memo never holds anything that
//! could be brute-forced offline faster than the argon2 hash itself.

use super::DigestKey;
use crate::model::{ClientSecret, Credential, CredentialType, Table};
use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
use std::collections::HashMap;

/// Replaces `ToHash` secrets with argon2id hashes, memoised.
pub struct Sealer {
    key: DigestKey,
    memo: HashMap<[u8; 32], String>,
}

// === impl Sealer ===

impl Sealer {
    /// A sealer with a fresh random memo key.
    pub fn new() -> Self {
        Self {
            key: DigestKey::random(),
            memo: HashMap::new(),
        }
    }

    /// Hashes every `ToHash` secret in `table`. Memo entries for secrets no
    /// longer present are dropped, so the memo stays as large as the table.
    pub fn seal(&mut self, table: &mut Table) {
        let to_hash = |c: &Credential| match c {
            Credential::Oauth2(c) => matches!(c.client_secret, ClientSecret::ToHash(_)),
            _ => false,
        };
        // Writing to credentials shared with earlier tables copies them:
        // only when there is something to hash.
        if !table.credentials.of(CredentialType::Oauth2).any(to_hash) {
            self.memo.clear();
            return;
        }
        let mut used = HashMap::with_capacity(self.memo.len());
        for cred in table.credentials.of_mut(CredentialType::Oauth2) {
            let Credential::Oauth2(cred) = cred else {
                continue;
            };
            let ClientSecret::ToHash(plain) = &cred.client_secret else {
                continue;
            };
            let digest = self.digest(&cred.client_id, plain.expose());
            let phc = match self.memo.get(&digest) {
                Some(phc) => phc.clone(),
                None => hash(plain.expose()),
            };
            used.insert(digest, phc.clone());
            cred.client_secret = ClientSecret::Hashed(phc);
        }
        self.memo = used;
    }

    fn digest(&self, client_id: &str, secret: &str) -> [u8; 32] {
        self.key.digest(&[client_id.as_bytes(), secret.as_bytes()])
    }
}

impl Default for Sealer {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("memo_entries", &self.memo.len())
            .finish()
    }
}

/// argon2id with the crate's defaults (m=19 MiB, t=2, p=1: OWASP's minimum).
pub fn hash(secret: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        // Hashing only fails on invalid parameters, and the defaults are valid.
        .unwrap_or_else(|e| unreachable!("argon2 defaults are valid: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClientType, Oauth2Credential, ObjectRef, Sensitive};

    fn table_with(secret: &str) -> Table {
        let mut t = Table::default();
        let _fresh = t.credentials.insert(Credential::Oauth2(Oauth2Credential {
            id: "c1".into(),
            consumer_id: "u1".into(),
            name: "demo".into(),
            client_id: "client".into(),
            client_secret: ClientSecret::ToHash(Sensitive::new(secret)),
            redirect_uris: vec![],
            client_type: ClientType::Confidential,
            hash_secret: true,
            source: ObjectRef::new("Secret", "default", "s"),
        }));
        t
    }

    #[test]
    fn same_secret_keeps_its_hash_and_a_new_one_is_rehashed() {
        let mut sealer = Sealer::new();
        let mut a = table_with("secret");
        sealer.seal(&mut a);
        let ClientSecret::Hashed(h1) = &a.credentials.oauth2("client").unwrap().client_secret
        else {
            panic!("not hashed");
        };
        assert!(h1.starts_with("$argon2id$"));
        assert!(!h1.contains("secret"));
        let mut b = table_with("secret");
        sealer.seal(&mut b);
        assert_eq!(a, b, "an unchanged secret must keep its hash");
        let mut c = table_with("other");
        sealer.seal(&mut c);
        assert_ne!(a, c);
    }
}
