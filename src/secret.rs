//! The one place that touches key material: hashing `hash_secret: true`
//! client secrets (argon2id) before a table is published, under a keyed
//! digest memo; verifying a presented secret against a stored hash
//! (argon2id, Kong's PBKDF2, bcrypt) for the oauth2 plugin; the one keyed
//! digest ([`DigestKey`]); and sealing with an AEAD under a [`Keyring`]
//! whose key ids let keys rotate (the Redis token store's rows). `translate` stays pure (no
//! randomness, no hashing) and leaves [`ClientSecret::ToHash`]; `reconcile`
//! seals its output, and the Admin API hashes a written secret here too.
//!
//! [`ClientSecret::ToHash`]: crate::model::ClientSecret::ToHash

mod digest;
mod keyring;
mod phc;
mod seal;

pub use digest::DigestKey;
pub use keyring::{BUILTIN_ID, Keyring, KeyringError, OpenError};
pub use phc::{pbkdf2_phc, verify_phc};
pub use seal::{Sealer, api_key_digest, hash};
