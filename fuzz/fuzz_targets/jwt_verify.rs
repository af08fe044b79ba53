//! The openid-connect `bearer` method's JWT checks (header, algorithm,
//! signature with a fixed JWKS or the client secret, claim rules), offline.
//!
//! Input: one byte choosing the configuration (even: only the JWKS keys;
//! odd: HS* signatures with the client secret enabled too), then the token.
//!
//! Invariants: nothing panics; a token that verifies has an allowed `alg`
//! (RS256 or EdDSA, HS256/384/512 only when enabled) and a signature that
//! is exactly the one the matching test key makes over its first two parts.
//! The fuzzer cannot forge signatures, so anything else that verifies is a
//! finding. Keys and seed tokens: `fuzz/seed.py`.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, EncodingKey};
use kingress::model::plugin::OidcConfig;
use kingress::plugins::openid_connect::fuzz::{Keys, verify};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const RSA_PEM: &[u8] = include_bytes!("../keys/rsa.pem");
const ED_PEM: &[u8] = include_bytes!("../keys/ed25519.pem");
const JWKS: &str = include_str!("../keys/jwks.json");
const SECRET: &str = "fuzz-client-secret-0123456789abcdef";
const ISSUER: &str = "https://idp.example";
/// The clock of every check (seed tokens are valid at this time).
const NOW: u64 = 1_800_000_000;

struct Fixture {
    keys: Keys,
    plain: OidcConfig,
    with_hs: OidcConfig,
    rsa: EncodingKey,
    ed: EncodingKey,
    hs: EncodingKey,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let config = |hs: bool| {
            let mut c = serde_json::json!({
                "issuer": format!("{ISSUER}/.well-known/openid-configuration"),
                "issuers_allowed": [ISSUER],
                "auth_methods": ["bearer"],
            });
            if hs {
                c["client_secret"] = SECRET.into();
                c["enable_hs_signatures"] = true.into();
            }
            OidcConfig::parse(&c).expect("fuzz openid-connect config parses")
        };
        Fixture {
            keys: Keys::parse(&serde_json::from_str(JWKS).expect("jwks.json is JSON")),
            plain: config(false),
            with_hs: config(true),
            rsa: EncodingKey::from_rsa_pem(RSA_PEM).expect("rsa.pem"),
            ed: EncodingKey::from_ed_pem(ED_PEM).expect("ed25519.pem"),
            hs: EncodingKey::from_secret(SECRET.as_bytes()),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&choice, token)) = data.split_first() else {
        return;
    };
    let Ok(token) = std::str::from_utf8(token) else {
        return;
    };
    let f = fixture();
    let hs_enabled = choice & 1 == 1;
    let config = if hs_enabled { &f.with_hs } else { &f.plain };
    let Ok(claims) = verify(config, &f.keys, token, NOW) else {
        return;
    };

    let header: serde_json::Value = token
        .split('.')
        .next()
        .and_then(|h| B64.decode(h).ok())
        .and_then(|h| serde_json::from_slice(&h).ok())
        .expect("an accepted token has a JSON header");
    let (alg, key) = match header["alg"].as_str() {
        Some("RS256") => (Algorithm::RS256, &f.rsa),
        Some("EdDSA") => (Algorithm::EdDSA, &f.ed),
        Some("HS256") if hs_enabled => (Algorithm::HS256, &f.hs),
        Some("HS384") if hs_enabled => (Algorithm::HS384, &f.hs),
        Some("HS512") if hs_enabled => (Algorithm::HS512, &f.hs),
        other => panic!("accepted a token with alg {other:?}: {token}"),
    };
    let (signed, signature) = token.rsplit_once('.').expect("three parts");
    let expected = jsonwebtoken::crypto::sign(signed.as_bytes(), key, alg).expect("signs");
    assert_eq!(
        B64.decode(signature).ok(),
        B64.decode(expected).ok(),
        "accepted a signature the key did not make: {token}"
    );
    assert!(claims.is_object());
    assert_eq!(claims["iss"], ISSUER);
});
