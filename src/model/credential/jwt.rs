//! `jwt_secrets` credentials (Kong's `jwt` plugin): a `key` the token names
//! (in its `iss` claim by default), the `algorithm` the credential accepts,
//! and the HMAC `secret` or the public key (`rsa_public_key`, also used for
//! ES* and EdDSA keys, as in Kong).
//!
//! Public keys are parsed and checked once, when the credential is read, so
//! a request never parses PEM and a broken key is refused with Kong's
//! "invalid key" instead of failing every request.

mod key;

use super::{CredentialBase, CredentialSchema, CredentialType, Fields};
use crate::model::Sensitive;
use serde_json::{Map, Value, json};

pub use key::{JwtAlgorithm, KeyError, PublicKey};

/// A `jwt_secrets` credential.
#[derive(Clone, Debug, PartialEq)]
pub struct JwtCredential {
    /// Id, owner, tags, source.
    pub base: CredentialBase,
    /// What tokens name (the `key_claim_name` claim); unique across the table.
    pub key: String,
    /// The only algorithm tokens for this credential may use.
    pub algorithm: JwtAlgorithm,
    /// The HMAC secret (HS* only; as stored, base64 when the plugin's
    /// `secret_is_base64` says so).
    pub secret: Option<Sensitive>,
    /// The public key (RS*, PS*, ES*, EdDSA).
    pub rsa_public_key: Option<PublicKey>,
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
    pub fn new(base: CredentialBase, keys: JwtKeys) -> Self {
        Self {
            base,
            key: keys.key,
            algorithm: keys.algorithm,
            secret: keys.secret,
            rsa_public_key: keys.rsa_public_key,
        }
    }
}

impl CredentialSchema for JwtCredential {
    const TYPE: CredentialType = CredentialType::Jwt;

    fn parse(fields: &mut Fields<'_>, base: CredentialBase) -> Option<Self> {
        let key = fields.string("key");
        let algorithm = fields.string("algorithm");
        let secret = fields.string("secret");
        let rsa_public_key = fields.string("rsa_public_key");
        let checked = JwtFields {
            key: key.as_deref(),
            algorithm: algorithm.as_deref(),
            secret: secret.as_deref(),
            rsa_public_key: rsa_public_key.as_deref(),
        }
        .check();
        match checked {
            Ok(keys) => Some(Self::new(base, keys)),
            Err(e) => {
                fields.problem(e.field, e.message);
                None
            }
        }
    }

    fn base(&self) -> &CredentialBase {
        &self.base
    }

    fn key(&self) -> String {
        self.key.clone()
    }

    /// As Kong prints it: the HMAC secret too (Kong keeps it in the clear
    /// because verification needs it; so does kingress).
    fn render(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("key".into(), json!(self.key));
        map.insert("algorithm".into(), json!(self.algorithm.as_str()));
        map.insert(
            "secret".into(),
            json!(self.secret.as_ref().map(|s| s.expose())),
        );
        map.insert(
            "rsa_public_key".into(),
            json!(self.rsa_public_key.as_ref().map(PublicKey::pem)),
        );
        map
    }
}

#[cfg(test)]
mod tests;
