//! A hand-built table for the jwt tests, after Kong's `03-access_spec.lua`
//! setup: routes `/jwt1` … `/jwt13` with Kong's thirteen configurations,
//! consumers with HS, RS, PS, ES and EdDSA credentials (keys made by
//! openssl in `tests/fixtures/jwt/`), the anonymous consumer `no-body`,
//! and token signing.

use super::proxy::{TestProxy, route, service, source, table};
use super::upstream::Upstream;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use kingress::model::{
    Consumer, Credential, CredentialBase, JwtCredential, JwtFields, PluginConfig, PluginInstance,
    Route, Table,
};
use serde_json::{Value, json};

/// Key and secret of `jwt_tests_consumer` (HS256).
pub const KEY: &str = "key-hs256";
/// Its secret.
pub const SECRET: &str = "secret-hs256";
/// Key and secret of `jwt_tests_consumer_6` (HS256).
pub const KEY_2: &str = "key-hs256-2";
/// Its secret.
pub const SECRET_2: &str = "secret-hs256-2";
/// Key of the base64 consumer; its stored secret is base64 of [`B64_SECRET`].
pub const B64_KEY: &str = "key-base64";
/// What tokens for [`B64_KEY`] are signed with.
pub const B64_SECRET: &str = "s3cr3t+?>~ with bytes that need +/";
/// The anonymous consumer's id.
pub const ANONYMOUS_ID: &str = "anonymous-id";
/// A consumer id nobody has.
pub const NONEXISTING: &str = "5ffd1dea-0000-4000-8000-000000000000";

/// The PEM file `name` of `tests/fixtures/jwt/`.
pub fn pem(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/jwt/{name}.pem",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).unwrap()
}

/// The asymmetric credentials: (key, algorithm, public key file, private
/// key file, consumer username).
pub const ASYMMETRIC: [(&str, &str, &str, &str, &str); 10] = [
    (
        "key-rs256",
        "RS256",
        "rsa_public",
        "rsa_private",
        "jwt_tests_rsa_consumer_1",
    ),
    (
        "key-rs384",
        "RS384",
        "rsa_public",
        "rsa_private",
        "jwt_tests_rsa_consumer_9",
    ),
    (
        "key-rs512",
        "RS512",
        "rsa2_public",
        "rsa2_private",
        "jwt_tests_rsa_consumer_5",
    ),
    (
        "key-ps256",
        "PS256",
        "rsa_public",
        "rsa_private",
        "jwt_tests_rsa_consumer_12",
    ),
    (
        "key-ps384",
        "PS384",
        "rsa_public",
        "rsa_private",
        "jwt_tests_rsa_consumer_13",
    ),
    (
        "key-ps512",
        "PS512",
        "rsa_public",
        "rsa_private",
        "jwt_tests_rsa_consumer_14",
    ),
    (
        "key-es256",
        "ES256",
        "p256_public",
        "p256_private",
        "jwt_tests_es_consumer_256",
    ),
    (
        "key-es384",
        "ES384",
        "p384_public",
        "p384_private",
        "jwt_tests_rsa_consumer_10",
    ),
    (
        "key-es512",
        "ES512",
        "p521_public",
        "p521_private",
        "jwt_tests_rsa_consumer_11",
    ),
    (
        "key-eddsa",
        "EdDSA",
        "ed25519_public",
        "ed25519_private",
        "jwt_tests_rsa_consumer_15",
    ),
];

/// A jwt plugin instance.
pub fn plugin(id: &str, config: Value) -> PluginInstance {
    PluginInstance {
        id: id.to_string(),
        name: "jwt".to_string(),
        instance_name: None,
        source: source("KongPlugin", id),
        protocols: Vec::new(),
        ordering: Default::default(),
        config: PluginConfig::parse("jwt", &config).unwrap(),
        scope: Default::default(),
    }
}

/// `/<name>` → `svc` with one jwt instance.
pub fn jwt_route(name: &str, config: Value) -> Route {
    let mut r = route(name, &[&format!("/{name}")], "svc");
    r.plugins = vec![plugin(&format!("p-{name}"), config)];
    r
}

/// The consumer `username` with id `<username>-id`.
pub fn consumer(username: &str) -> Consumer {
    Consumer {
        id: format!("{username}-id"),
        username: Some(username.to_string()),
        custom_id: None,
        groups: Vec::new(),
        source: source("KongConsumer", username),
        header_values: Default::default(),
    }
}

/// A credential of consumer `username` from Kong's fields.
pub fn credential(username: &str, fields: JwtFields<'_>) -> Credential {
    let keys = fields.check().unwrap();
    let base = CredentialBase {
        id: format!("cred-{}", keys.key),
        consumer_id: format!("{username}-id"),
        source: source("Secret", username),
        ..CredentialBase::default()
    };
    Credential::Jwt(JwtCredential::new(base, keys))
}

/// An HS* credential.
pub fn hs(username: &str, key: &str, algorithm: &str, secret: &str) -> Credential {
    credential(
        username,
        JwtFields {
            key: Some(key),
            algorithm: Some(algorithm),
            secret: Some(secret),
            rsa_public_key: None,
        },
    )
}

/// Kong's thirteen routes (`/jwt1` … `/jwt13`), each with the
/// configuration of the same number in Kong's spec.
pub fn kong_routes() -> Vec<Route> {
    let configs = [
        json!({}),
        json!({"uri_param_names": ["token", "jwt"]}),
        json!({"claims_to_verify": ["nbf", "exp"]}),
        json!({"key_claim_name": "aud"}),
        json!({"secret_is_base64": true}),
        json!({"anonymous": ANONYMOUS_ID}),
        json!({"anonymous": NONEXISTING}),
        json!({"run_on_preflight": false}),
        json!({"cookie_names": ["silly", "crumble"], "realm": "test-jwt"}),
        json!({"key_claim_name": "kid"}),
        json!({"claims_to_verify": ["nbf", "exp"], "maximum_expiration": 300}),
        json!({"header_names": ["CustomAuthorization"]}),
        json!({"anonymous": "no-body"}),
    ];
    configs
        .into_iter()
        .enumerate()
        .map(|(i, c)| jwt_route(&format!("jwt{}", i + 1), c))
        .collect()
}

/// The table: Kong's routes to `up`, every consumer and credential.
pub fn jwt_table(up: &Upstream) -> Table {
    let mut t = table(kong_routes(), vec![service("svc", &[up.addr])]);
    let mut add_consumer = |c: Consumer| {
        t.consumers.insert(c.id.clone(), c.into());
    };
    let mut anonymous = consumer("no-body");
    anonymous.id = ANONYMOUS_ID.to_string();
    add_consumer(anonymous);
    for name in [
        "jwt_tests_consumer",
        "jwt_tests_consumer_6",
        "jwt_tests_base64_consumer",
        "jwt_tests_hs_consumer_7",
        "jwt_tests_hs_consumer_8",
    ] {
        add_consumer(consumer(name));
    }
    for (_, _, _, _, name) in ASYMMETRIC {
        add_consumer(consumer(name));
    }
    let mut creds = vec![
        hs("jwt_tests_consumer", KEY, "HS256", SECRET),
        hs("jwt_tests_consumer_6", KEY_2, "HS256", SECRET_2),
        hs(
            "jwt_tests_base64_consumer",
            B64_KEY,
            "HS256",
            &STANDARD.encode(B64_SECRET),
        ),
        hs(
            "jwt_tests_hs_consumer_7",
            "key-hs384",
            "HS384",
            "secret-hs384",
        ),
        hs(
            "jwt_tests_hs_consumer_8",
            "key-hs512",
            "HS512",
            "secret-hs512",
        ),
    ];
    for (key, alg, public, _, name) in ASYMMETRIC {
        let pem = pem(public);
        creds.push(credential(
            name,
            JwtFields {
                key: Some(key),
                algorithm: Some(alg),
                secret: None,
                rsa_public_key: Some(&pem),
            },
        ));
    }
    for c in creds {
        t.credentials.insert(c).unwrap();
    }
    t
}

/// An upstream and a proxy serving [`jwt_table`].
pub async fn start() -> (Upstream, TestProxy) {
    let up = Upstream::start("jwt").await;
    let proxy = TestProxy::start(jwt_table(&up)).await;
    (up, proxy)
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Kong's `PAYLOAD`: `nbf` and `iat` now, `exp` in an hour, and `iss`.
pub fn payload(iss: &str) -> Value {
    let now = now();
    json!({ "iss": iss, "nbf": now, "iat": now, "exp": now + 3600 })
}

/// `base64url(header).base64url(claims)`.
pub fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// A token signed with `alg` (its header `{"typ":"JWT","alg":alg}`);
/// `key` is the HMAC secret or the private key PEM.
pub fn encode(claims: &Value, key: &str, alg: &str) -> String {
    encode_with(claims, key, alg, &json!({"typ": "JWT", "alg": alg}))
}

/// A token with this `header`, signed with `alg` whatever the header says
/// (Kong's `jwt_encoder.encode(payload, key, alg, header)`).
pub fn encode_with(claims: &Value, key: &str, alg: &str, header: &Value) -> String {
    let input = signing_input(header, claims);
    let signature = sign(alg, key, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Raw signature bytes of `message`.
pub fn sign(alg: &str, key: &str, message: &[u8]) -> Vec<u8> {
    use jsonwebtoken::{Algorithm, EncodingKey};
    if alg == "ES512" {
        use p521::ecdsa::signature::Signer;
        use p521::pkcs8::DecodePrivateKey;
        let secret = p521::SecretKey::from_pkcs8_pem(key).unwrap();
        let signing = p521::ecdsa::SigningKey::from_bytes(&secret.to_bytes()).unwrap();
        let signature: p521::ecdsa::Signature = signing.sign(message);
        return signature.to_bytes().to_vec();
    }
    let algorithm: Algorithm = alg.parse().unwrap();
    let k = key.as_bytes();
    let encoding = match alg {
        "HS256" | "HS384" | "HS512" => EncodingKey::from_secret(k),
        "ES256" | "ES384" => EncodingKey::from_ec_pem(k).unwrap(),
        "EdDSA" => EncodingKey::from_ed_pem(k).unwrap(),
        _ => EncodingKey::from_rsa_pem(k).unwrap(),
    };
    let signature = jsonwebtoken::crypto::sign(message, &encoding, algorithm).unwrap();
    URL_SAFE_NO_PAD.decode(signature).unwrap()
}
