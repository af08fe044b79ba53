//! basic-auth credentials (`basicauth_credentials`): a unique username and
//! a password that is never kept in the clear once published: plaintext
//! input is hashed (argon2id) by `secret::Sealer`, a stored hash is kept,
//! and Kong's own stored form (`sha1(password .. consumer_id)` in hex, from
//! a document marked `_transform: false`) is verified as Kong does.

use super::{CredentialBase, CredentialSchema, CredentialType, Fields};
use crate::model::{Sensitive, is_hashed_secret};
use serde_json::{Map, Value, json};

/// How a password is held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Password {
    /// Plaintext to hash before the table is published (translate stays
    /// pure); compared in constant time if it ever is compared.
    ToHash(Sensitive),
    /// A PHC hash: argon2id, Kong's PBKDF2, or bcrypt.
    Hashed(String),
    /// Kong's stored form: lowercase hex SHA-1 of password then consumer id.
    KongSha1(String),
}

/// A basic-auth credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasicAuthCredential {
    /// Id, owner, source.
    pub base: CredentialBase,
    /// The username, unique across basic-auth credentials.
    pub username: String,
    /// The password.
    pub password: Password,
}

/// Whether `s` is Kong's stored basic-auth hash: 40 hex digits.
fn is_kong_sha1(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl CredentialSchema for BasicAuthCredential {
    const TYPE: CredentialType = CredentialType::BasicAuth;

    fn parse(fields: &mut Fields<'_>, base: CredentialBase) -> Option<Self> {
        let username = fields.required_string("username");
        let password = fields.required_string("password")?;
        let password = if is_hashed_secret(&password) {
            Password::Hashed(password)
        } else if fields.stored() && is_kong_sha1(&password) {
            Password::KongSha1(password.to_ascii_lowercase())
        } else {
            Password::ToHash(Sensitive::new(password))
        };
        Some(Self {
            base,
            username: username?,
            password,
        })
    }

    fn base(&self) -> &CredentialBase {
        &self.base
    }

    fn key(&self) -> String {
        self.username.clone()
    }

    fn render(&self) -> Map<String, Value> {
        // Kong shows the stored hash; a password not yet hashed is masked.
        let password = match &self.password {
            Password::Hashed(h) | Password::KongSha1(h) => json!(h),
            Password::ToHash(_) => json!(crate::model::plugin::schema::MASK),
        };
        let mut map = Map::new();
        map.insert("username".into(), json!(self.username));
        map.insert("password".into(), password);
        map
    }
}
