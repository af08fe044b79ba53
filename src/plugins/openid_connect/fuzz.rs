//! The entry point of the `jwt_verify` fuzz target (`fuzz/`): the `bearer`
//! method's offline steps (header, algorithm, signature with a given JWKS or
//! the client secret, claim rules), without the provider or the caches. Not
//! an API; hidden from the docs.

use super::bearer;
use super::jwks::KeySet;
use crate::model::plugin::OidcConfig;
use serde_json::Value;

/// A JWKS document read as one fetched from the provider would be.
pub struct Keys(KeySet);

impl Keys {
    /// The usable keys of `jwks`.
    pub fn parse(jwks: &Value) -> Self {
        Self(KeySet::parse(jwks))
    }
}

/// Verifies `token` as a bearer token under `config` with `keys` at `now`:
/// the claims when it is accepted, else why not.
pub fn verify(config: &OidcConfig, keys: &Keys, token: &str, now: u64) -> Result<Value, String> {
    bearer::verify_offline(config, &keys.0, token, now).map_err(|reason| format!("{reason:?}"))
}
