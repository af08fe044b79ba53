//! Signing keys for the test identity provider: one shared RSA key (with
//! varying `kid`/`alg`), fresh P-256, P-384 and Ed25519 keys, and helpers
//! for HMAC and unsigned tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::EncodePrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use serde_json::{Value, json};
use std::sync::LazyLock;

/// One RSA key for the whole test binary: generating RSA keys is slow in
/// debug builds, and tests vary `kid` and `alg` instead.
static RSA_KEY: LazyLock<rsa::RsaPrivateKey> =
    LazyLock::new(|| rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap());

/// A private signing key with its public JWK.
#[derive(Clone)]
pub struct TestKey {
    /// Key id.
    pub kid: String,
    /// Algorithm tokens are signed with.
    pub alg: Algorithm,
    encoding: EncodingKey,
    public: Value,
    private: Value,
}

// === impl TestKey ===

impl TestKey {
    /// The shared RSA key, signing with `alg` (RS* or PS*).
    pub fn rsa(kid: &str, alg: Algorithm) -> TestKey {
        let key = &*RSA_KEY;
        let der = key.to_pkcs1_der().unwrap();
        let n = B64.encode(key.n().to_bytes_be());
        let e = B64.encode(key.e().to_bytes_be());
        let public = json!({ "kty": "RSA", "n": n, "e": e });
        let primes = key.primes();
        let private = json!({
            "kty": "RSA", "n": n, "e": e,
            "d": B64.encode(key.d().to_bytes_be()),
            "p": B64.encode(primes[0].to_bytes_be()),
            "q": B64.encode(primes[1].to_bytes_be()),
        });
        Self::assemble(
            kid,
            alg,
            EncodingKey::from_rsa_der(der.as_bytes()),
            public,
            private,
        )
    }

    /// A fresh P-256 key (ES256).
    pub fn p256(kid: &str) -> TestKey {
        let secret = p256::SecretKey::random(&mut rsa::rand_core::OsRng);
        let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
            &secret.public_key(),
            false,
        );
        let (x, y) = (
            B64.encode(point.x().unwrap()),
            B64.encode(point.y().unwrap()),
        );
        let der = secret.to_pkcs8_der().unwrap();
        let public = json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y });
        let private = json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y, "d": B64.encode(secret.to_bytes()) });
        Self::assemble(
            kid,
            Algorithm::ES256,
            EncodingKey::from_ec_der(der.as_bytes()),
            public,
            private,
        )
    }

    /// A fresh P-384 key (ES384).
    pub fn p384(kid: &str) -> TestKey {
        let secret = p384::SecretKey::random(&mut rsa::rand_core::OsRng);
        let point = p384::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
            &secret.public_key(),
            false,
        );
        let (x, y) = (
            B64.encode(point.x().unwrap()),
            B64.encode(point.y().unwrap()),
        );
        let der = secret.to_pkcs8_der().unwrap();
        let public = json!({ "kty": "EC", "crv": "P-384", "x": x, "y": y });
        let private = json!({ "kty": "EC", "crv": "P-384", "x": x, "y": y, "d": B64.encode(secret.to_bytes()) });
        Self::assemble(
            kid,
            Algorithm::ES384,
            EncodingKey::from_ec_der(der.as_bytes()),
            public,
            private,
        )
    }

    /// A fresh Ed25519 key (EdDSA).
    pub fn ed25519(kid: &str) -> TestKey {
        let key = ed25519_dalek::SigningKey::generate(&mut rsa::rand_core::OsRng);
        let der = key.to_pkcs8_der().unwrap();
        let x = B64.encode(key.verifying_key().as_bytes());
        let public = json!({ "kty": "OKP", "crv": "Ed25519", "x": x });
        let private =
            json!({ "kty": "OKP", "crv": "Ed25519", "x": x, "d": B64.encode(key.to_bytes()) });
        Self::assemble(
            kid,
            Algorithm::EdDSA,
            EncodingKey::from_ed_der(der.as_bytes()),
            public,
            private,
        )
    }

    fn assemble(
        kid: &str,
        alg: Algorithm,
        encoding: EncodingKey,
        mut public: Value,
        mut private: Value,
    ) -> TestKey {
        public["kid"] = json!(kid);
        public["use"] = json!("sig");
        private["kid"] = json!(kid);
        TestKey {
            kid: kid.to_string(),
            alg,
            encoding,
            public,
            private,
        }
    }

    /// The same key material under another `kid` (and `alg`).
    pub fn renamed(&self, kid: &str, alg: Algorithm) -> TestKey {
        let mut key = self.clone();
        key.kid = kid.to_string();
        key.alg = alg;
        key.public["kid"] = json!(kid);
        key.private["kid"] = json!(kid);
        key
    }

    /// The public JWK as published.
    pub fn public_jwk(&self) -> Value {
        self.public.clone()
    }

    /// The private JWK (for `client_jwk`).
    pub fn private_jwk(&self) -> Value {
        self.private.clone()
    }

    /// A JWS of `claims` with `alg` and `kid` in the header.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }

    /// A JWS of `claims` signed with this key but announcing `alg` and
    /// `kid` as given (for confusion attacks).
    pub fn sign_as(&self, alg: Algorithm, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.to_string());
        let token = jsonwebtoken::encode(&header, claims, &self.encoding).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let mut h = Header::new(alg);
        h.kid = Some(kid.to_string());
        parts[0] = B64.encode(serde_json::to_vec(&h).unwrap());
        parts.join(".")
    }
}

/// An HS* token signed with `secret`.
pub fn sign_hmac(alg: Algorithm, secret: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)).unwrap()
}

/// An unsigned (`alg: none`) token.
pub fn unsigned(claims: &Value) -> String {
    let header = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    format!(
        "{header}.{}.",
        B64.encode(serde_json::to_vec(claims).unwrap())
    )
}
