use super::{Derived, ObjectRef, Sensitive};
use http::HeaderValue;

/// A Kong consumer (from a KongConsumer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consumer {
    /// Stable id (a UUID derived from the object's identity).
    pub id: String,
    /// Kong username.
    pub username: Option<String>,
    /// Kong custom_id.
    pub custom_id: Option<String>,
    /// Names of the consumer groups it belongs to (KongConsumerGroup
    /// `spec.name`, or the object's name), sorted.
    pub groups: Vec<String>,
    /// The KongConsumer it came from.
    pub source: ObjectRef,
    /// Its identity as header values, built on first use.
    pub header_values: IdentityValues,
}

/// A consumer's id, custom id and username as header values, built once
/// and kept with the consumer: every request it authenticates sends them
/// upstream, and cloning a value costs less than checking and copying the
/// text again.
pub type IdentityValues = Derived<Identity>;

/// The values of [`IdentityValues`]; `None` for a field that is absent
/// or cannot be a header value.
#[derive(Clone, Debug)]
pub struct Identity {
    /// `X-Consumer-ID`.
    pub id: Option<HeaderValue>,
    /// `X-Consumer-Custom-ID`.
    pub custom_id: Option<HeaderValue>,
    /// `X-Consumer-Username`.
    pub username: Option<HeaderValue>,
}

// === impl Consumer ===

impl Consumer {
    /// Its identity as header values.
    pub fn identity(&self) -> &Identity {
        self.header_values.get_or_init(|| {
            let value = |s: &str| HeaderValue::from_str(s).ok();
            Identity {
                id: value(&self.id),
                custom_id: self.custom_id.as_deref().and_then(value),
                username: self.username.as_deref().and_then(value),
            }
        })
    }
}

/// A Kong consumer group (from a KongConsumerGroup or a declarative
/// `consumer_groups` entry). Members name it in [`Consumer::groups`];
/// plugins scoped to it are held by `Holder::Group(name)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerGroup {
    /// Stable id (a UUID derived from the object's identity).
    pub id: String,
    /// Kong name, unique across the table.
    pub name: String,
    /// Tags (`spec.tags`).
    pub tags: Vec<String>,
    /// The object it came from.
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
    /// A stored hash: `$argon2id$…`, Kong's `$pbkdf2-sha512$…` or bcrypt
    /// (`$2b$…`, `$2a$…`, `$2y$…`).
    Hashed(String),
}

/// PHC prefixes of secrets that are already hashed: kingress's argon2id and
/// Kong's own pbkdf2 (a credential persisted with `hash_secret: true`, or
/// exported from Kong, holds only the hash).
const HASH_PREFIXES: [&str; 2] = ["$argon2id$", "$pbkdf2-sha512$"];
/// bcrypt versions Kong (and htpasswd-style tools) write.
const BCRYPT_PREFIXES: [&str; 3] = ["$2a$", "$2b$", "$2y$"];
/// A bcrypt hash is always `$2x$NN$` + 53 characters.
const BCRYPT_LEN: usize = 60;

/// Whether a stored `client_secret` is a hash rather than plaintext; such a
/// secret is kept as it is, never hashed again. bcrypt is recognised by its
/// whole shape (version, two-digit cost, length), not only its prefix, so a
/// plaintext secret that happens to start with `$2b$` stays plaintext.
pub fn is_hashed_secret(secret: &str) -> bool {
    HASH_PREFIXES.iter().any(|p| secret.starts_with(p)) || is_bcrypt(secret)
}

fn is_bcrypt(secret: &str) -> bool {
    let b = secret.as_bytes();
    secret.len() == BCRYPT_LEN
        && BCRYPT_PREFIXES.iter().any(|p| secret.starts_with(p))
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
        && b[6] == b'$'
        && b[7..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'/')
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
