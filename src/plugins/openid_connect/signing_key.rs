//! Private keys for `private_key_jwt`: built from `client_jwk`, or generated
//! once per plugin instance when none is configured (as Kong does). Only
//! the public half ever leaves this module ([`SigningKey::public_jwk`]).

use crate::model::plugin::openid_connect::{ClientJwk, SigningAlg};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, EncodingKey};
use p256::pkcs8::EncodePrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::rand_core::OsRng;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A private signing key with its algorithm and key id.
pub(super) struct SigningKey {
    /// The algorithm assertions are signed with.
    pub(super) alg: Algorithm,
    /// The private key (never printed).
    pub(super) key: EncodingKey,
    /// `kid` for the assertion header.
    pub(super) kid: Option<String>,
    /// The public JWK (`kid` and `alg` included).
    pub(super) public_jwk: Value,
}

/// Why a signing key could not be built. The message never contains key
/// material.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct KeyError(String);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// jsonwebtoken's name for an algorithm.
pub(super) fn algorithm(alg: SigningAlg) -> Algorithm {
    match alg {
        SigningAlg::HS256 => Algorithm::HS256,
        SigningAlg::HS384 => Algorithm::HS384,
        SigningAlg::HS512 => Algorithm::HS512,
        SigningAlg::RS256 => Algorithm::RS256,
        SigningAlg::RS384 => Algorithm::RS384,
        SigningAlg::RS512 => Algorithm::RS512,
        SigningAlg::PS256 => Algorithm::PS256,
        SigningAlg::PS384 => Algorithm::PS384,
        SigningAlg::PS512 => Algorithm::PS512,
        SigningAlg::ES256 => Algorithm::ES256,
        SigningAlg::ES384 => Algorithm::ES384,
        SigningAlg::EdDSA => Algorithm::EdDSA,
    }
}

fn err(message: &str) -> KeyError {
    KeyError(message.to_string())
}

// === impl SigningKey ===

impl SigningKey {
    /// Builds the key described by a private JWK.
    pub(super) fn from_jwk(jwk: &ClientJwk, alg: SigningAlg) -> Result<Self, KeyError> {
        if !jwk.supports(alg) {
            return Err(err("client_jwk does not support the algorithm"));
        }
        let value: Value =
            serde_json::from_str(jwk.json.expose()).map_err(|_| err("client_jwk is not JSON"))?;
        let bytes = |name: &str| -> Result<Vec<u8>, KeyError> {
            value
                .get(name)
                .and_then(Value::as_str)
                .and_then(|s| B64.decode(s.trim_end_matches('=')).ok())
                .ok_or_else(|| KeyError(format!("client_jwk member '{name}' is not base64url")))
        };
        let (key, public) = match jwk.kty.as_str() {
            "RSA" => {
                let big = |name: &str| bytes(name).map(|b| rsa::BigUint::from_bytes_be(&b));
                let primes = match (bytes("p"), bytes("q")) {
                    (Ok(p), Ok(q)) => vec![
                        rsa::BigUint::from_bytes_be(&p),
                        rsa::BigUint::from_bytes_be(&q),
                    ],
                    _ => Vec::new(),
                };
                let private =
                    rsa::RsaPrivateKey::from_components(big("n")?, big("e")?, big("d")?, primes)
                        .map_err(|_| err("client_jwk is not a valid RSA key"))?;
                rsa_parts(&private)?
            }
            "EC" if jwk.crv.as_deref() == Some("P-256") => {
                let secret = p256::SecretKey::from_slice(&bytes("d")?)
                    .map_err(|_| err("client_jwk is not a valid P-256 key"))?;
                p256_parts(&secret)?
            }
            "EC" => {
                let secret = p384::SecretKey::from_slice(&bytes("d")?)
                    .map_err(|_| err("client_jwk is not a valid P-384 key"))?;
                p384_parts(&secret)?
            }
            _ => {
                let seed: [u8; 32] = bytes("d")?
                    .try_into()
                    .map_err(|_| err("client_jwk is not a valid Ed25519 key"))?;
                ed25519_parts(&ed25519_dalek::SigningKey::from_bytes(&seed))?
            }
        };
        let kid = jwk.kid.clone().or_else(|| Some(thumbprint(&public)));
        Ok(Self::assemble(alg, key, kid, public))
    }

    /// Generates a fresh key for `alg` (RSA 2048 for RS*/PS*). Slow for
    /// RSA: call from a blocking thread.
    pub(super) fn generate(alg: SigningAlg) -> Result<Self, KeyError> {
        use SigningAlg::*;
        let (key, public) = match alg {
            RS256 | RS384 | RS512 | PS256 | PS384 | PS512 => {
                let private = rsa::RsaPrivateKey::new(&mut OsRng, 2048)
                    .map_err(|_| err("RSA key generation failed"))?;
                rsa_parts(&private)?
            }
            ES256 => p256_parts(&p256::SecretKey::random(&mut OsRng))?,
            ES384 => p384_parts(&p384::SecretKey::random(&mut OsRng))?,
            EdDSA => ed25519_parts(&ed25519_dalek::SigningKey::generate(&mut OsRng))?,
            HS256 | HS384 | HS512 => return Err(err("HMAC algorithms have no key pair")),
        };
        let kid = Some(thumbprint(&public));
        Ok(Self::assemble(alg, key, kid, public))
    }

    fn assemble(alg: SigningAlg, key: EncodingKey, kid: Option<String>, mut public: Value) -> Self {
        public["alg"] = json!(alg.as_str());
        public["use"] = json!("sig");
        if let Some(kid) = &kid {
            public["kid"] = json!(kid);
        }
        Self {
            alg: algorithm(alg),
            key,
            kid,
            public_jwk: public,
        }
    }
}

fn rsa_parts(private: &rsa::RsaPrivateKey) -> Result<(EncodingKey, Value), KeyError> {
    let der = private
        .to_pkcs1_der()
        .map_err(|_| err("RSA key encoding failed"))?;
    let public = json!({
        "kty": "RSA",
        "n": B64.encode(private.n().to_bytes_be()),
        "e": B64.encode(private.e().to_bytes_be()),
    });
    Ok((EncodingKey::from_rsa_der(der.as_bytes()), public))
}

fn p256_parts(secret: &p256::SecretKey) -> Result<(EncodingKey, Value), KeyError> {
    let der = secret
        .to_pkcs8_der()
        .map_err(|_| err("EC key encoding failed"))?;
    let point =
        p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&secret.public_key(), false);
    let (x, y) = (
        point.x().map(|x| B64.encode(x)),
        point.y().map(|y| B64.encode(y)),
    );
    let public = json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y });
    Ok((EncodingKey::from_ec_der(der.as_bytes()), public))
}

fn p384_parts(secret: &p384::SecretKey) -> Result<(EncodingKey, Value), KeyError> {
    let der = secret
        .to_pkcs8_der()
        .map_err(|_| err("EC key encoding failed"))?;
    let point =
        p384::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&secret.public_key(), false);
    let (x, y) = (
        point.x().map(|x| B64.encode(x)),
        point.y().map(|y| B64.encode(y)),
    );
    let public = json!({ "kty": "EC", "crv": "P-384", "x": x, "y": y });
    Ok((EncodingKey::from_ec_der(der.as_bytes()), public))
}

fn ed25519_parts(key: &ed25519_dalek::SigningKey) -> Result<(EncodingKey, Value), KeyError> {
    let der = key
        .to_pkcs8_der()
        .map_err(|_| err("Ed25519 key encoding failed"))?;
    let public = json!({
        "kty": "OKP", "crv": "Ed25519",
        "x": B64.encode(key.verifying_key().as_bytes()),
    });
    Ok((EncodingKey::from_ed_der(der.as_bytes()), public))
}

/// RFC 7638 JWK thumbprint (SHA-256 over the required members in
/// lexicographic order).
fn thumbprint(public: &Value) -> String {
    let members: &[&str] = match public["kty"].as_str() {
        Some("RSA") => &["e", "kty", "n"],
        Some("EC") => &["crv", "kty", "x", "y"],
        _ => &["crv", "kty", "x"],
    };
    let canonical: serde_json::Map<String, Value> = members
        .iter()
        .map(|m| (m.to_string(), public[*m].clone()))
        .collect();
    B64.encode(Sha256::digest(Value::Object(canonical).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ec_and_ed_keys_sign_verifiable_assertions() {
        for alg in [SigningAlg::ES256, SigningAlg::ES384, SigningAlg::EdDSA] {
            let k = SigningKey::generate(alg).unwrap();
            let header = jsonwebtoken::Header::new(k.alg);
            let token =
                jsonwebtoken::encode(&header, &json!({ "exp": 4_000_000_000u64 }), &k.key).unwrap();
            let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(k.public_jwk.clone()).unwrap();
            let dk = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
            let v = jsonwebtoken::Validation::new(k.alg);
            assert!(
                jsonwebtoken::decode::<Value>(&token, &dk, &v).is_ok(),
                "{alg:?}"
            );
        }
    }

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // RFC 7638 §3.1.
        let jwk = json!({
            "kty": "RSA", "e": "AQAB",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        });
        assert_eq!(
            thumbprint(&jwk),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
