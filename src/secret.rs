//! The one place that touches key material for the control plane: hashing
//! `hash_secret: true` client secrets (argon2id) before a table is
//! published, under a keyed digest memo. `translate` stays pure (no
//! randomness, no hashing) and leaves [`ClientSecret::ToHash`]; `reconcile`
//! seals its output, and the Admin API hashes a written secret here too.
//!
//! [`ClientSecret::ToHash`]: crate::model::ClientSecret::ToHash

mod seal;

pub use seal::{Sealer, hash};
