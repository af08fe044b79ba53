//! `jwt_secrets` credentials (Kong's `jwt` plugin): a `key` the token names
//! (in its `iss` claim by default), the `algorithm` the credential accepts,
//! and the HMAC `secret` or the public key (`rsa_public_key`, also used for
//! ES* and EdDSA keys, as in Kong).
//!
//! Public keys are parsed and checked once, when the credential is read, so
//! a request never parses PEM and a broken key is refused with Kong's
//! "invalid key" instead of failing every request.

mod key;

use crate::model::{ObjectRef, Sensitive};

pub use key::{JwtAlgorithm, KeyError, PublicKey};

/// A `jwt_secrets` credential.
#[derive(Clone, Debug, PartialEq)]
pub struct JwtCredential {
    /// Stable id.
    pub id: String,
    /// The owning consumer's id.
    pub consumer_id: String,
    /// What tokens name (the `key_claim_name` claim); unique across the table.
    pub key: String,
    /// The only algorithm tokens for this credential may use.
    pub algorithm: JwtAlgorithm,
    /// The HMAC secret (HS* only; as stored, base64 when the plugin's
    /// `secret_is_base64` says so).
    pub secret: Option<Sensitive>,
    /// The public key (RS*, PS*, ES*, EdDSA).
    pub rsa_public_key: Option<PublicKey>,
    /// Kong's `tags`.
    pub tags: Vec<String>,
    /// The object it came from.
    pub source: ObjectRef,
}

/// The fields of a credential as given (Secret data, kong.yml, Admin API),
/// before Kong's rules are applied.
#[derive(Clone, Debug, Default)]
pub struct JwtFields<'a> {
    /// `key`.
    pub key: Option<&'a str>,
    /// `algorithm` (Kong's default is HS256).
    pub algorithm: Option<&'a str>,
    /// `secret`.
    pub secret: Option<&'a str>,
    /// `rsa_public_key`.
    pub rsa_public_key: Option<&'a str>,
}

/// The checked parts of a credential: what [`JwtFields`] becomes.
#[derive(Clone, Debug, PartialEq)]
pub struct JwtKeys {
    /// `key`.
    pub key: String,
    /// `algorithm`.
    pub algorithm: JwtAlgorithm,
    /// `secret` (kept only for HS*).
    pub secret: Option<Sensitive>,
    /// `rsa_public_key`, parsed (asymmetric algorithms only).
    pub rsa_public_key: Option<PublicKey>,
}

/// A field of a credential that breaks Kong's rules, with Kong's message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct JwtFieldError {
    /// `key`, `algorithm`, `secret` or `rsa_public_key`.
    pub field: &'static str,
    /// Kong's words.
    pub message: String,
}

// === impl JwtFields ===

impl JwtFields<'_> {
    /// Applies Kong's rules: `key` present and non-empty (kingress does not
    /// generate one: translate is pure), `algorithm` one of Kong's, a
    /// `secret` for HS*, a valid `rsa_public_key` for RS*, PS* and EdDSA
    /// (and for ES* when one is given; an ES* credential without one can
    /// never verify, as in Kong).
    pub fn check(&self) -> Result<JwtKeys, JwtFieldError> {
        let key = non_empty("key", self.key)?;
        let algorithm = match self.algorithm {
            None => JwtAlgorithm::HS256,
            Some(name) => JwtAlgorithm::parse(name).ok_or_else(|| JwtFieldError {
                field: "algorithm",
                message: format!("expected one of: {}", JwtAlgorithm::NAMES.join(", ")),
            })?,
        };
        let (secret, rsa_public_key) = if algorithm.is_hmac() {
            let secret = non_empty("secret", self.secret)?;
            (Some(Sensitive::new(secret)), None)
        } else {
            let pem = match self.rsa_public_key.filter(|k| !k.is_empty()) {
                Some(pem) => Some(pem),
                None if algorithm.needs_public_key() => {
                    return Err(missing("rsa_public_key"));
                }
                None => None,
            };
            let key = pem
                .map(|pem| PublicKey::parse(algorithm, pem))
                .transpose()
                .map_err(|e| JwtFieldError {
                    field: "rsa_public_key",
                    message: e.to_string(),
                })?;
            (None, key)
        };
        Ok(JwtKeys {
            key: key.to_string(),
            algorithm,
            secret,
            rsa_public_key,
        })
    }
}

fn missing(field: &'static str) -> JwtFieldError {
    JwtFieldError {
        field,
        message: "required field missing".into(),
    }
}

fn non_empty<'a>(field: &'static str, value: Option<&'a str>) -> Result<&'a str, JwtFieldError> {
    match value {
        None => Err(missing(field)),
        Some("") => Err(JwtFieldError {
            field,
            message: "length must be at least 1".into(),
        }),
        Some(v) => Ok(v),
    }
}

// === impl JwtCredential ===

impl JwtCredential {
    /// A credential from checked keys.
    pub fn new(
        id: impl Into<String>,
        consumer_id: impl Into<String>,
        keys: JwtKeys,
        source: ObjectRef,
    ) -> Self {
        Self {
            id: id.into(),
            consumer_id: consumer_id.into(),
            key: keys.key,
            algorithm: keys.algorithm,
            secret: keys.secret,
            rsa_public_key: keys.rsa_public_key,
            tags: Vec::new(),
            source,
        }
    }
}

#[cfg(test)]
mod tests;
