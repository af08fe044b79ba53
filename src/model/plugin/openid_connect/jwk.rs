//! `client_jwk`: the private key used for `private_key_jwt`. Only its shape
//! is checked here (the model does no cryptography); the plugin builds the
//! signing key from it when it first signs an assertion.

use super::SigningAlg;
use super::read::field;
use crate::model::Sensitive;
use crate::model::plugin::ConfigError;
use serde_json::Value;

/// A private JWK (RSA, EC P-256/P-384 or OKP Ed25519). The key material is
/// held as [`Sensitive`] JSON so it never prints.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientJwk {
    /// Key type: `RSA`, `EC` or `OKP`.
    pub kty: String,
    /// Curve for EC/OKP keys.
    pub crv: Option<String>,
    /// The key's declared `alg`, if any.
    pub alg: Option<SigningAlg>,
    /// The key id sent as the assertion's `kid`, if any.
    pub kid: Option<String>,
    /// The whole JWK, private members included.
    pub json: Sensitive,
}

// === impl ClientJwk ===

impl ClientJwk {
    /// Parses `client_jwk`: one JWK object, or Kong's array form holding
    /// exactly one.
    pub(super) fn parse(value: &Value) -> Result<Self, ConfigError> {
        const KEY: &str = "client_jwk";
        let obj = match value {
            Value::Object(o) => o,
            Value::Array(items) if items.len() == 1 => items[0]
                .as_object()
                .ok_or_else(|| field(KEY, "expected a JWK object"))?,
            Value::Array(_) => return Err(field(KEY, "only one client key is supported")),
            _ => return Err(field(KEY, "expected a JWK object")),
        };
        let member = |name: &str| obj.get(name).and_then(Value::as_str);
        let require = |names: &[&str]| -> Result<(), ConfigError> {
            match names.iter().find(|n| member(n).is_none_or(str::is_empty)) {
                Some(n) => Err(field(KEY, format!("missing private key member '{n}'"))),
                None => Ok(()),
            }
        };
        let kty = member("kty").ok_or_else(|| field(KEY, "missing 'kty'"))?;
        let crv = member("crv").map(str::to_string);
        match kty {
            "RSA" => require(&["n", "e", "d"])?,
            "EC" => {
                require(&["x", "y", "d"])?;
                if !matches!(crv.as_deref(), Some("P-256" | "P-384")) {
                    return Err(field(KEY, "EC keys must use curve P-256 or P-384"));
                }
            }
            "OKP" => {
                require(&["x", "d"])?;
                if crv.as_deref() != Some("Ed25519") {
                    return Err(field(KEY, "OKP keys must use curve Ed25519"));
                }
            }
            other => {
                return Err(field(
                    KEY,
                    format!("key type '{other}' is not supported (RSA, EC, OKP)"),
                ));
            }
        }
        let alg = match member("alg") {
            None => None,
            Some(a) => Some(
                SigningAlg::parse(a)
                    .filter(|a| !a.is_hmac())
                    .ok_or_else(|| field(KEY, format!("'alg' {a} is not supported")))?,
            ),
        };
        let jwk = ClientJwk {
            kty: kty.to_string(),
            crv,
            alg,
            kid: member("kid").map(str::to_string),
            json: Sensitive::new(Value::Object(obj.clone()).to_string()),
        };
        if let Some(a) = alg
            && !jwk.supports(a)
        {
            return Err(field(
                KEY,
                format!("'alg' {} does not match the key type", a.as_str()),
            ));
        }
        Ok(jwk)
    }

    /// Whether this key can sign with `alg`.
    pub fn supports(&self, alg: SigningAlg) -> bool {
        use SigningAlg::*;
        match (self.kty.as_str(), self.crv.as_deref()) {
            ("RSA", _) => matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
            ("EC", Some("P-256")) => alg == ES256,
            ("EC", Some("P-384")) => alg == ES384,
            ("OKP", Some("Ed25519")) => alg == EdDSA,
            _ => false,
        }
    }

    /// The algorithm used when `client_alg` is unset: the key's `alg`, else
    /// the natural one for its type (RS256 for RSA).
    pub fn default_alg(&self) -> SigningAlg {
        if let Some(a) = self.alg {
            return a;
        }
        match (self.kty.as_str(), self.crv.as_deref()) {
            ("EC", Some("P-256")) => SigningAlg::ES256,
            ("EC", Some("P-384")) => SigningAlg::ES384,
            ("OKP", _) => SigningAlg::EdDSA,
            _ => SigningAlg::RS256,
        }
    }
}
