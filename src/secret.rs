//! The one place that hashes and verifies secrets: hashing `hash_secret:
//! true` client secrets (argon2id) before a table is published, under a
//! keyed digest memo, and verifying a presented secret against a PHC string
//! (argon2id, Kong's PBKDF2) for the oauth2 plugin. `translate` stays pure (no
//! randomness, no hashing) and leaves [`ClientSecret::ToHash`]; `reconcile`
//! seals its output, and the Admin API hashes a written secret here too.
//!
//! [`ClientSecret::ToHash`]: crate::model::ClientSecret::ToHash

mod phc;
mod seal;

pub use phc::{pbkdf2_phc, verify_phc};
pub use seal::{Sealer, hash};
