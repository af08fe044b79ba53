//! The algorithms of `jwt_secrets` and their public keys: parsed and
//! checked once, verified against per request.
//!
//! `jsonwebtoken` verifies every algorithm but ES512, which `p521` does;
//! Ed448 keys (Kong accepts them for EdDSA) have no well-kept Rust crate
//! and are refused as invalid keys.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use p521::ecdsa::signature::Verifier;
use rsa::pkcs1::DecodeRsaPublicKey;
use std::fmt;

/// A `jwt_secrets.algorithm`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms)]
pub enum JwtAlgorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// ECDSA P-384 with SHA-384.
    ES384,
    /// ECDSA P-521 with SHA-512.
    ES512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// Ed25519.
    EdDSA,
}

/// A parsed, checked public key with the PEM it came from (which is what
/// the Admin API prints and what equality compares).
#[derive(Clone)]
pub struct PublicKey {
    pem: String,
    verifier: KeyVerifier,
}

#[derive(Clone)]
enum KeyVerifier {
    /// RSA, P-256, P-384 and Ed25519 keys.
    Jwt(DecodingKey),
    /// P-521 keys (ES512).
    P521(Box<p521::ecdsa::VerifyingKey>),
}

/// Why a public key was refused: Kong's "invalid key", with the reason
/// kingress knows. Never contains key material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid key ({0})")]
pub struct KeyError(&'static str);

// === impl JwtAlgorithm ===

impl JwtAlgorithm {
    /// Every algorithm, in Kong's order.
    pub const ALL: [JwtAlgorithm; 13] = [
        Self::HS256,
        Self::HS384,
        Self::HS512,
        Self::RS256,
        Self::RS384,
        Self::RS512,
        Self::ES256,
        Self::ES384,
        Self::ES512,
        Self::PS256,
        Self::PS384,
        Self::PS512,
        Self::EdDSA,
    ];

    /// Kong's names, in Kong's order (its `one_of`).
    pub const NAMES: [&'static str; 13] = [
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256",
        "PS384", "PS512", "EdDSA",
    ];

    /// The algorithm named `name` (case-sensitive, as JOSE names are).
    pub fn parse(name: &str) -> Option<Self> {
        let i = Self::NAMES.iter().position(|n| *n == name)?;
        Some(Self::ALL[i])
    }

    /// Its JOSE name.
    pub fn as_str(self) -> &'static str {
        let i = Self::ALL.iter().position(|a| *a == self).unwrap_or(0);
        Self::NAMES[i]
    }

    /// HS256, HS384 or HS512: verified with the shared `secret`.
    pub fn is_hmac(self) -> bool {
        matches!(self, Self::HS256 | Self::HS384 | Self::HS512)
    }

    /// Kong requires `rsa_public_key` for RS*, PS* and EdDSA (not ES*).
    pub fn needs_public_key(self) -> bool {
        !self.is_hmac() && !matches!(self, Self::ES256 | Self::ES384 | Self::ES512)
    }

    /// `jsonwebtoken`'s name; `None` for ES512, which it lacks.
    pub fn jsonwebtoken(self) -> Option<Algorithm> {
        Some(match self {
            Self::HS256 => Algorithm::HS256,
            Self::HS384 => Algorithm::HS384,
            Self::HS512 => Algorithm::HS512,
            Self::RS256 => Algorithm::RS256,
            Self::RS384 => Algorithm::RS384,
            Self::RS512 => Algorithm::RS512,
            Self::ES256 => Algorithm::ES256,
            Self::ES384 => Algorithm::ES384,
            Self::ES512 => return None,
            Self::PS256 => Algorithm::PS256,
            Self::PS384 => Algorithm::PS384,
            Self::PS512 => Algorithm::PS512,
            Self::EdDSA => Algorithm::EdDSA,
        })
    }

    /// Whether `signature` is this HMAC algorithm's MAC of `message` under
    /// `secret`; compared in constant time (`hmac`'s `verify_slice`). Any
    /// other algorithm fails.
    pub fn verify_hmac(self, secret: &[u8], message: &[u8], signature: &[u8]) -> bool {
        let Some(alg) = self.jsonwebtoken().filter(|_| self.is_hmac()) else {
            return false;
        };
        let key = DecodingKey::from_secret(secret);
        let encoded = URL_SAFE_NO_PAD.encode(signature);
        jsonwebtoken::crypto::verify(&encoded, message, &key, alg).unwrap_or(false)
    }
}

impl fmt::Display for JwtAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// === impl PublicKey ===

impl PublicKey {
    /// Parses `pem` as a public key for `algorithm` and checks that it is a
    /// usable key of the algorithm's type (RSA for RS*/PS*, the curve of
    /// ES*, Ed25519 for EdDSA).
    pub fn parse(algorithm: JwtAlgorithm, pem: &str) -> Result<Self, KeyError> {
        let bytes = pem.as_bytes();
        let verifier = match algorithm {
            JwtAlgorithm::RS256
            | JwtAlgorithm::RS384
            | JwtAlgorithm::RS512
            | JwtAlgorithm::PS256
            | JwtAlgorithm::PS384
            | JwtAlgorithm::PS512 => {
                let rsa = KeyError("not an RSA public key in PEM");
                let key = DecodingKey::from_rsa_pem(bytes).map_err(|_| rsa.clone())?;
                rsa::RsaPublicKey::from_pkcs1_der(key.as_bytes()).map_err(|_| rsa)?;
                KeyVerifier::Jwt(key)
            }
            JwtAlgorithm::ES256 | JwtAlgorithm::ES384 | JwtAlgorithm::ES512 => {
                let key = DecodingKey::from_ec_pem(bytes)
                    .map_err(|_| KeyError("not an EC public key in PEM"))?;
                let point = key.as_bytes();
                let curve = KeyError("not a key on the algorithm's curve");
                match algorithm {
                    JwtAlgorithm::ES256 => {
                        p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| curve)?;
                        KeyVerifier::Jwt(key)
                    }
                    JwtAlgorithm::ES384 => {
                        p384::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| curve)?;
                        KeyVerifier::Jwt(key)
                    }
                    _ => KeyVerifier::P521(Box::new(
                        p521::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| curve)?,
                    )),
                }
            }
            JwtAlgorithm::EdDSA => {
                let ed = KeyError("not an Ed25519 public key in PEM");
                let key = DecodingKey::from_ed_pem(bytes).map_err(|_| ed.clone())?;
                let point: [u8; 32] = key.as_bytes().try_into().map_err(|_| ed.clone())?;
                ed25519_dalek::VerifyingKey::from_bytes(&point).map_err(|_| ed)?;
                KeyVerifier::Jwt(key)
            }
            JwtAlgorithm::HS256 | JwtAlgorithm::HS384 | JwtAlgorithm::HS512 => {
                return Err(KeyError("HMAC algorithms use a secret"));
            }
        };
        Ok(Self {
            pem: pem.to_string(),
            verifier,
        })
    }

    /// The PEM it was parsed from.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// Whether `signature` (raw bytes) signs `message` under `algorithm`.
    /// The key was checked for that algorithm's type when parsed; an
    /// algorithm of another type simply fails.
    pub fn verify(&self, algorithm: JwtAlgorithm, message: &[u8], signature: &[u8]) -> bool {
        match (&self.verifier, algorithm.jsonwebtoken()) {
            (KeyVerifier::Jwt(key), Some(alg)) if !algorithm.is_hmac() => {
                let encoded = URL_SAFE_NO_PAD.encode(signature);
                jsonwebtoken::crypto::verify(&encoded, message, key, alg).unwrap_or(false)
            }
            (KeyVerifier::P521(key), None) => p521::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|sig| key.verify(message, &sig).is_ok()),
            _ => false,
        }
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.pem == other.pem
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Public, but long: the first line says what it is.
        f.debug_tuple("PublicKey")
            .field(&self.pem.lines().next().unwrap_or_default())
            .finish()
    }
}
