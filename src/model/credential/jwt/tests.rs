//! Kong's `jwt_secrets` rules (`daos.lua`) and every algorithm verifying
//! against keys made by openssl (`tests/fixtures/jwt/`).

use super::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;

macro_rules! pem {
    ($name:literal) => {
        include_str!(concat!("../../../../tests/fixtures/jwt/", $name, ".pem"))
    };
}

fn check(fields: JwtFields<'_>) -> Result<JwtKeys, String> {
    fields.check().map_err(|e| e.to_string())
}

fn fields<'a>(alg: &'a str, secret: Option<&'a str>, pem: Option<&'a str>) -> JwtFields<'a> {
    JwtFields {
        key: Some("k"),
        algorithm: Some(alg),
        secret,
        rsa_public_key: pem,
    }
}

#[test]
fn kongs_field_rules() {
    let keys = check(JwtFields {
        key: Some("k"),
        secret: Some("s"),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(keys.algorithm, JwtAlgorithm::HS256, "Kong's default");
    assert!(keys.secret.unwrap().matches("s"));
    assert_eq!(
        check(JwtFields::default()).unwrap_err(),
        "key: required field missing"
    );
    assert_eq!(
        check(fields("HS384", None, None)).unwrap_err(),
        "secret: required field missing"
    );
    assert_eq!(
        check(fields("HS256", Some(""), None)).unwrap_err(),
        "secret: length must be at least 1"
    );
    assert_eq!(
        check(fields("none", Some("s"), None)).unwrap_err(),
        "algorithm: expected one of: HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384, \
         ES512, PS256, PS384, PS512, EdDSA"
    );
    assert!(
        check(fields("hs256", Some("s"), None)).is_err(),
        "names are case-sensitive"
    );
    for alg in ["RS256", "PS512", "EdDSA"] {
        assert_eq!(
            check(fields(alg, None, None)).unwrap_err(),
            "rsa_public_key: required field missing",
            "{alg}"
        );
    }
    // Kong does not require a key for ES*; such a credential never verifies.
    let es = check(fields("ES256", None, None)).unwrap();
    assert!(es.rsa_public_key.is_none() && es.secret.is_none());
    // A secret given with an asymmetric algorithm is not kept.
    let rs = check(fields("RS256", Some("s"), Some(pem!("rsa_public")))).unwrap();
    assert!(rs.secret.is_none());
}

#[test]
fn keys_must_be_of_the_algorithms_type() {
    let err = |alg, pem| check(fields(alg, None, Some(pem))).unwrap_err();
    assert_eq!(
        err("RS256", "garbage"),
        "rsa_public_key: invalid key (not an RSA public key in PEM)"
    );
    assert!(err("RS256", pem!("p256_public")).starts_with("rsa_public_key: invalid key"));
    assert!(err("ES256", pem!("p384_public")).contains("curve"));
    assert!(err("ES384", pem!("p256_public")).contains("curve"));
    assert!(err("ES512", pem!("p256_public")).contains("curve"));
    assert!(err("ES256", pem!("rsa_public")).starts_with("rsa_public_key: invalid key"));
    assert!(err("EdDSA", pem!("ed448_public")).contains("Ed25519"));
    assert!(err("EdDSA", pem!("rsa_public")).contains("Ed25519"));
    // A private key is not a public key.
    assert!(err("ES256", pem!("p256_private")).starts_with("rsa_public_key: invalid key"));
    for (alg, pem) in [
        ("RS256", pem!("rsa_public")),
        ("PS384", pem!("rsa_public")),
        ("ES256", pem!("p256_public")),
        ("ES384", pem!("p384_public")),
        ("ES512", pem!("p521_public")),
        ("EdDSA", pem!("ed25519_public")),
    ] {
        let keys = check(fields(alg, None, Some(pem))).unwrap();
        assert_eq!(keys.rsa_public_key.unwrap().pem(), pem, "{alg}");
    }
}

/// Signs `message` with jsonwebtoken (every algorithm but ES512).
fn sign(alg: JwtAlgorithm, private: &str, message: &[u8]) -> Vec<u8> {
    let jalg = alg.jsonwebtoken().unwrap();
    let key = match jalg {
        jsonwebtoken::Algorithm::ES256 | jsonwebtoken::Algorithm::ES384 => {
            EncodingKey::from_ec_pem(private.as_bytes()).unwrap()
        }
        jsonwebtoken::Algorithm::EdDSA => EncodingKey::from_ed_pem(private.as_bytes()).unwrap(),
        _ => EncodingKey::from_rsa_pem(private.as_bytes()).unwrap(),
    };
    URL_SAFE_NO_PAD
        .decode(jsonwebtoken::crypto::sign(message, &key, jalg).unwrap())
        .unwrap()
}

#[test]
fn every_asymmetric_algorithm_verifies_its_own_signatures_only() {
    let message = b"header.claims";
    for (alg, private, public) in [
        (JwtAlgorithm::RS256, pem!("rsa_private"), pem!("rsa_public")),
        (JwtAlgorithm::RS384, pem!("rsa_private"), pem!("rsa_public")),
        (JwtAlgorithm::RS512, pem!("rsa_private"), pem!("rsa_public")),
        (JwtAlgorithm::PS256, pem!("rsa_private"), pem!("rsa_public")),
        (JwtAlgorithm::PS384, pem!("rsa_private"), pem!("rsa_public")),
        (JwtAlgorithm::PS512, pem!("rsa_private"), pem!("rsa_public")),
        (
            JwtAlgorithm::ES256,
            pem!("p256_private"),
            pem!("p256_public"),
        ),
        (
            JwtAlgorithm::ES384,
            pem!("p384_private"),
            pem!("p384_public"),
        ),
        (
            JwtAlgorithm::EdDSA,
            pem!("ed25519_private"),
            pem!("ed25519_public"),
        ),
    ] {
        let key = PublicKey::parse(alg, public).unwrap();
        let signature = sign(alg, private, message);
        assert!(key.verify(alg, message, &signature), "{alg}");
        assert!(
            !key.verify(alg, b"header.claimz", &signature),
            "{alg} other message"
        );
        let mut flipped = signature.clone();
        flipped[0] ^= 1;
        assert!(!key.verify(alg, message, &flipped), "{alg} other signature");
        assert!(
            !key.verify(alg, message, &signature[1..]),
            "{alg} short signature"
        );
        assert!(
            !key.verify(JwtAlgorithm::HS256, message, &signature),
            "{alg} as HS256"
        );
    }
    // Another RSA key's signature does not verify.
    let other = sign(JwtAlgorithm::RS256, pem!("rsa2_private"), message);
    let key = PublicKey::parse(JwtAlgorithm::RS256, pem!("rsa_public")).unwrap();
    assert!(!key.verify(JwtAlgorithm::RS256, message, &other));
}

#[test]
fn es512_verifies_with_p521() {
    use p521::ecdsa::signature::Signer;
    use p521::pkcs8::DecodePrivateKey;
    let secret = p521::SecretKey::from_pkcs8_pem(pem!("p521_private")).unwrap();
    let signing = p521::ecdsa::SigningKey::from_bytes(&secret.to_bytes()).unwrap();
    let message = b"header.claims";
    let signature: p521::ecdsa::Signature = signing.sign(message);
    let bytes = signature.to_bytes();
    assert_eq!(bytes.len(), 132, "JWS's raw r||s");
    let key = PublicKey::parse(JwtAlgorithm::ES512, pem!("p521_public")).unwrap();
    assert!(key.verify(JwtAlgorithm::ES512, message, &bytes));
    assert!(!key.verify(JwtAlgorithm::ES512, b"other", &bytes));
    assert!(!key.verify(JwtAlgorithm::ES512, message, &bytes[..131]));
}

#[test]
fn hmac_verifies_in_each_size() {
    let message = b"header.claims";
    for alg in [
        JwtAlgorithm::HS256,
        JwtAlgorithm::HS384,
        JwtAlgorithm::HS512,
    ] {
        let key = EncodingKey::from_secret(b"secret");
        let jalg = alg.jsonwebtoken().unwrap();
        let signature = URL_SAFE_NO_PAD
            .decode(jsonwebtoken::crypto::sign(message, &key, jalg).unwrap())
            .unwrap();
        assert!(alg.verify_hmac(b"secret", message, &signature), "{alg}");
        assert!(!alg.verify_hmac(b"secreT", message, &signature), "{alg}");
        assert!(
            !alg.verify_hmac(b"secret", message, &signature[1..]),
            "{alg}"
        );
        assert!(!JwtAlgorithm::RS256.verify_hmac(b"secret", message, &signature));
    }
}

#[test]
fn debug_prints_no_secret() {
    let keys = check(fields("HS256", Some("hunter2"), None)).unwrap();
    let credential = JwtCredential::new(crate::model::CredentialBase::default(), keys);
    let printed = format!("{credential:?}");
    assert!(!printed.contains("hunter2"), "{printed}");
    let keys = check(fields("RS256", None, Some(pem!("rsa_public")))).unwrap();
    let printed = format!("{:?}", keys.rsa_public_key.unwrap());
    assert_eq!(printed, "PublicKey(\"-----BEGIN PUBLIC KEY-----\")");
}

#[test]
fn names_round_trip() {
    for (alg, name) in JwtAlgorithm::ALL.iter().zip(JwtAlgorithm::NAMES) {
        assert_eq!(alg.as_str(), name);
        assert_eq!(JwtAlgorithm::parse(name), Some(*alg));
    }
    assert!(JwtAlgorithm::ES512.jsonwebtoken().is_none());
}
