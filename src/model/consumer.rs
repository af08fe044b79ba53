use super::{ObjectRef, Sensitive};

/// A Kong consumer (from a KongConsumer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consumer {
    /// Stable id (a UUID derived from the object's identity).
    pub id: String,
    /// Kong username.
    pub username: Option<String>,
    /// Kong custom_id.
    pub custom_id: Option<String>,
    /// The KongConsumer it came from.
    pub source: ObjectRef,
}

/// An oauth2 application (a credential Secret labelled
/// `konghq.com/credential: oauth2`).
#[derive(Clone, Debug, PartialEq)]
pub struct Oauth2Credential {
    /// Stable id (a UUID derived from the Secret's identity).
    pub id: String,
    /// The owning consumer's id.
    pub consumer_id: String,
    /// Application name.
    pub name: String,
    /// Public client identifier, unique across the table.
    pub client_id: String,
    /// The secret, plain or hashed.
    pub client_secret: ClientSecret,
    /// Registered redirect URIs (exact match).
    pub redirect_uris: Vec<String>,
    /// Confidential or public client.
    pub client_type: ClientType,
    /// Whether the secret is (or was asked to be) hashed.
    pub hash_secret: bool,
    /// The Secret it came from.
    pub source: ObjectRef,
}

/// How a client secret is held.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientSecret {
    /// No secret (public clients).
    None,
    /// Plaintext, compared in constant time.
    Plain(Sensitive),
    /// Plaintext that must be hashed before the table is published
    /// (`hash_secret: true`); `translate` stays pure, so hashing happens in
    /// `secret::Sealer` which replaces this with `Hashed`.
    ToHash(Sensitive),
    /// A PHC string: `$argon2id$…` or Kong's `$pbkdf2-sha512$…`.
    Hashed(String),
}

/// PHC prefixes of secrets that are already hashed: kingress's argon2id and
/// Kong's own pbkdf2 (a credential persisted with `hash_secret: true`, or
/// exported from Kong, holds only the hash).
const HASH_PREFIXES: [&str; 2] = ["$argon2id$", "$pbkdf2-sha512$"];

/// Whether a stored `client_secret` is a PHC hash rather than plaintext; such
/// a secret is kept as it is, never hashed again.
pub fn is_hashed_secret(secret: &str) -> bool {
    HASH_PREFIXES.iter().any(|p| secret.starts_with(p))
}

/// OAuth 2.0 client type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientType {
    /// Has a secret it can keep.
    Confidential,
    /// Cannot keep a secret (PKCE required under `pkce: lax|strict`).
    Public,
}

impl ClientType {
    /// Kong's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientType::Confidential => "confidential",
            ClientType::Public => "public",
        }
    }
}
