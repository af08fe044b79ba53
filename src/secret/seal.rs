//! Secrets at rest in a published table: `hash_secret: true` client
//! secrets and basic-auth passwords become argon2id PHC strings, and (when
//! asked) key-auth keys become keyed digests.
//!
//! Argon2 costs ~12 ms per secret, and translate runs on every change, so
//! hashes are memoised under a keyed digest of (type, unique key, secret):
//! an unchanged secret keeps its hash (and the table compares equal, so
//! nothing is republished), a changed secret is hashed again. The memo key
//! is the keyed digest (`DigestKey`) with a per-process random key, so the
//! memo never holds anything that could be brute-forced offline faster than
//! the argon2 hash itself.
//!
//! API keys are looked up by what a request presents, so they cannot be
//! salted: a key is replaced by its HMAC-SHA256 under the API-key digest
//! key the plugins share ([`Sealer::digest_api_keys`]), and the table is
//! re-keyed by that digest, keeping lookups O(log n).

use super::DigestKey;
use crate::model::{
    ApiKey, BasicAuthCredential, ClientSecret, Credential, CredentialType, Password, Table,
};
use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
use std::collections::{BTreeMap, HashMap};

/// Replaces secrets to hash with their hashes, memoised.
pub struct Sealer {
    key: DigestKey,
    memo: HashMap<[u8; 32], String>,
    api_keys: Option<DigestKey>,
}

// === impl Sealer ===

impl Sealer {
    /// A sealer with a fresh random memo key; API keys stay as given.
    pub fn new() -> Self {
        Self {
            key: DigestKey::random(),
            memo: HashMap::new(),
            api_keys: None,
        }
    }

    /// Also replaces every key-auth key with its digest under `key` (the
    /// key the key-auth plugin digests presented keys with).
    pub fn digest_api_keys(mut self, key: DigestKey) -> Self {
        self.api_keys = Some(key);
        self
    }

    /// Hashes every secret waiting for it in `table`. Memo entries for
    /// secrets no longer present are dropped, so the memo stays as large as
    /// the table.
    pub fn seal(&mut self, table: &mut Table) {
        let mut used = HashMap::with_capacity(self.memo.len());
        let oauth2 = |c: &Credential| matches!(c, Credential::Oauth2(c) if matches!(c.client_secret, ClientSecret::ToHash(_)));
        // Writing to credentials shared with earlier tables copies them:
        // only when there is something to hash.
        if table.credentials.of(CredentialType::Oauth2).any(oauth2) {
            for cred in table.credentials.of_mut(CredentialType::Oauth2) {
                let Credential::Oauth2(cred) = cred else {
                    continue;
                };
                let ClientSecret::ToHash(plain) = &cred.client_secret else {
                    continue;
                };
                let phc = self.hashed(
                    &mut used,
                    &[b"oauth2", cred.client_id.as_bytes()],
                    plain.expose(),
                );
                cred.client_secret = ClientSecret::Hashed(phc);
            }
        }
        let basic = |c: &Credential| {
            matches!(
                c,
                Credential::BasicAuth(BasicAuthCredential {
                    password: Password::ToHash(_),
                    ..
                })
            )
        };
        if table.credentials.of(CredentialType::BasicAuth).any(basic) {
            for cred in table.credentials.of_mut(CredentialType::BasicAuth) {
                let Credential::BasicAuth(cred) = cred else {
                    continue;
                };
                let Password::ToHash(plain) = &cred.password else {
                    continue;
                };
                let parts: [&[u8]; 2] = [b"basic-auth", cred.username.as_bytes()];
                let phc = self.hashed(&mut used, &parts, plain.expose());
                cred.password = Password::Hashed(phc);
            }
        }
        self.memo = used;
        if let Some(key) = &self.api_keys {
            digest_api_keys(table, key);
        }
    }

    /// The argon2id hash of `secret`, from the memo when it was hashed
    /// before under the same `parts`.
    fn hashed(
        &self,
        used: &mut HashMap<[u8; 32], String>,
        parts: &[&[u8]],
        secret: &str,
    ) -> String {
        let mut all: Vec<&[u8]> = parts.to_vec();
        all.push(secret.as_bytes());
        let digest = self.key.digest(&all);
        let phc = match self.memo.get(&digest) {
            Some(phc) => phc.clone(),
            None => hash(secret),
        };
        used.insert(digest, phc.clone());
        phc
    }
}

/// The digest (hex) a key-auth key is kept and looked up under.
pub fn api_key_digest(key: &DigestKey, api_key: &str) -> String {
    hex::encode(key.digest(&[b"key-auth", api_key.as_bytes()]))
}

/// Re-keys the key-auth credentials by the digests of their keys.
fn digest_api_keys(table: &mut Table, key: &DigestKey) {
    let plain =
        |c: &Credential| matches!(c, Credential::KeyAuth(k) if matches!(k.key, ApiKey::Plain(_)));
    if !table.credentials.of(CredentialType::KeyAuth).any(plain) {
        return;
    }
    let mut map = BTreeMap::new();
    for cred in table.credentials.of(CredentialType::KeyAuth) {
        let mut cred = cred.clone();
        if let Credential::KeyAuth(k) = &mut cred
            && let ApiKey::Plain(api_key) = &k.key
        {
            k.key = ApiKey::Digest(api_key_digest(key, api_key.expose()));
        }
        map.insert(cred.key(), cred);
    }
    table.credentials.replace(CredentialType::KeyAuth, map);
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
            .field("digest_api_keys", &self.api_keys.is_some())
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

    fn credential(kind: CredentialType, fields: serde_json::Value) -> Credential {
        let map = fields.as_object().unwrap().clone();
        let base = crate::model::CredentialBase {
            id: "i".into(),
            consumer_id: "u1".into(),
            ..Default::default()
        };
        Credential::parse(
            kind,
            crate::model::Fields::new(&map, crate::model::Origin::Secret),
            base,
        )
        .unwrap()
    }

    #[test]
    fn basic_auth_passwords_are_hashed_once_and_kept() {
        let mut sealer = Sealer::new();
        let table = || {
            let mut t = Table::default();
            t.credentials
                .insert(credential(
                    CredentialType::BasicAuth,
                    serde_json::json!({"username": "bob", "password": "pw"}),
                ))
                .unwrap();
            t
        };
        let (mut a, mut b) = (table(), table());
        sealer.seal(&mut a);
        sealer.seal(&mut b);
        let Some(Credential::BasicAuth(c)) = a.credentials.get(CredentialType::BasicAuth, "bob")
        else {
            panic!("missing");
        };
        let Password::Hashed(phc) = &c.password else {
            panic!("not hashed")
        };
        assert!(phc.starts_with("$argon2id$"));
        assert!(super::super::verify_phc(phc, "pw"));
        assert_eq!(a, b);
    }

    #[test]
    fn api_keys_are_digested_and_re_keyed_when_asked() {
        let key = DigestKey::from_bytes([3; 32]);
        let mut t = Table::default();
        t.credentials
            .insert(credential(
                CredentialType::KeyAuth,
                serde_json::json!({"key": "secret-key"}),
            ))
            .unwrap();
        Sealer::new().seal(&mut t);
        assert!(
            t.credentials
                .get(CredentialType::KeyAuth, "secret-key")
                .is_some()
        );
        Sealer::new().digest_api_keys(key.clone()).seal(&mut t);
        assert!(
            t.credentials
                .get(CredentialType::KeyAuth, "secret-key")
                .is_none()
        );
        let hex = api_key_digest(&key, "secret-key");
        let found = t
            .credentials
            .get(CredentialType::KeyAuth, &ApiKey::digest_key(&hex));
        assert!(
            matches!(found, Some(Credential::KeyAuth(k)) if k.key == ApiKey::Digest(hex.clone()))
        );
    }
}
