//! `bearer`: JWS access tokens against the provider's keys.

use super::support::idp::keys::{sign_hmac, unsigned};
use super::support::idp::{Idp, TestKey, now};
use super::support::upstream::closed_port;
use super::{Env, send};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::Algorithm;
use serde_json::json;

fn bearer_only() -> serde_json::Value {
    json!({ "auth_methods": ["bearer"], "display_errors": true })
}

#[tokio::test]
async fn accepts_rsa_pss_ec_and_eddsa_signatures() {
    let env = Env::start(bearer_only()).await;
    let keys = [
        TestKey::rsa("rs256", Algorithm::RS256),
        TestKey::rsa("rs384", Algorithm::RS384),
        TestKey::rsa("rs512", Algorithm::RS512),
        TestKey::rsa("ps256", Algorithm::PS256),
        TestKey::rsa("ps384", Algorithm::PS384),
        TestKey::rsa("ps512", Algorithm::PS512),
        TestKey::p256("es256"),
        TestKey::p384("es384"),
        TestKey::ed25519("eddsa"),
    ];
    env.idp.set_keys(&keys.iter().collect::<Vec<_>>());
    for key in &keys {
        let token = key.sign(&env.idp.claims(json!({})));
        let reply = env.call(&token).await;
        reply.assert_ok();
        let forwarded = format!("Bearer {token}");
        assert_eq!(
            reply.upstream_header("authorization"),
            Some(forwarded.as_str()),
            "{}",
            key.kid
        );
    }
    // Discovery and JWKS were fetched once for all of them.
    assert_eq!(env.idp.counts().discovery, 1);
    assert_eq!(env.idp.counts().jwks, 1);
}

#[tokio::test]
async fn hs256_needs_enable_hs_signatures_and_the_client_secret() {
    let secret = b"a-client-secret-of-32-bytes-long";
    let idp = Idp::start().await;
    let claims = idp.claims(json!({}));
    let token = sign_hmac(Algorithm::HS256, secret, &claims);
    let off = Env::start_for(idp, bearer_only(), |_| {}).await;
    off.call(&token)
        .await
        .assert_unauthorized("signing algorithm not allowed");

    let on = Env::start(json!({
        "auth_methods": ["bearer"], "display_errors": true,
        "enable_hs_signatures": true, "client_secret": String::from_utf8_lossy(secret),
    }))
    .await;
    let claims = on.idp.claims(json!({}));
    on.call(&sign_hmac(Algorithm::HS256, secret, &claims))
        .await
        .assert_ok();
    on.call(&sign_hmac(Algorithm::HS512, secret, &claims))
        .await
        .assert_ok();
    let wrong = sign_hmac(
        Algorithm::HS256,
        b"another-secret-of-32-bytes-long!",
        &claims,
    );
    on.call(&wrong)
        .await
        .assert_unauthorized("invalid signature");
}

#[tokio::test]
async fn alg_none_is_refused() {
    let env = Env::start(bearer_only()).await;
    let key = TestKey::p256("k1");
    env.idp.set_keys(&[&key]);
    let token = unsigned(&env.idp.claims(json!({})));
    env.call(&token)
        .await
        .assert_unauthorized("signing algorithm not allowed");
    // A signature left on an alg-none header does not help either.
    let signed = key.sign(&env.idp.claims(json!({})));
    let sig = signed.rsplit('.').next().unwrap();
    env.call(&format!("{token}{sig}"))
        .await
        .assert_unauthorized("signing algorithm not allowed");
}

#[tokio::test]
async fn algorithm_must_fit_the_key_type() {
    let env = Env::start(json!({
        "auth_methods": ["bearer"], "display_errors": true,
        "enable_hs_signatures": true, "client_secret": "s3cret-s3cret-s3cret-s3cret-s3cr",
    }))
    .await;
    let rsa = TestKey::rsa("rsa", Algorithm::RS256);
    let ec = TestKey::p256("ec");
    env.idp.set_keys(&[&rsa, &ec]);
    let claims = env.idp.claims(json!({}));
    // ES256 signature claiming the RSA key.
    env.call(&ec.sign_as(Algorithm::ES256, "rsa", &claims))
        .await
        .assert_unauthorized("signing key does not match the algorithm");
    // RS256 header pointing at the EC key.
    env.call(&rsa.sign_as(Algorithm::RS256, "ec", &claims))
        .await
        .assert_unauthorized("signing key does not match the algorithm");
    // The classic confusion: HS256 keyed with the RSA public key's JWK.
    let public = serde_json::to_vec(&rsa.public_jwk()).unwrap();
    let forged = sign_hmac(Algorithm::HS256, &public, &claims);
    env.call(&forged)
        .await
        .assert_unauthorized("invalid signature");
    // A key declaring PS256 does not verify an RS256 token of the same material.
    let pss_only = TestKey::rsa("pss", Algorithm::PS256);
    let mut declared = pss_only.public_jwk();
    declared["alg"] = json!("PS256");
    env.idp.set_raw_keys(vec![declared]);
    let reply = env
        .call(&pss_only.renamed("pss", Algorithm::RS256).sign(&claims))
        .await;
    reply.assert_unauthorized("signing key does not match the algorithm");
}

#[tokio::test]
async fn tampered_tokens_are_refused() {
    let env = Env::start(bearer_only()).await;
    let key = TestKey::rsa("k1", Algorithm::RS256);
    env.idp.set_keys(&[&key]);
    let token = key.sign(&env.idp.claims(json!({ "sub": "alice" })));
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    payload["sub"] = json!("admin");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(payload.to_string()),
        parts[2]
    );
    env.call(&forged)
        .await
        .assert_unauthorized("invalid signature");
    let mut sig = B64.decode(parts[2]).unwrap();
    sig[10] ^= 1;
    let flipped = format!("{}.{}.{}", parts[0], parts[1], B64.encode(sig));
    env.call(&flipped)
        .await
        .assert_unauthorized("invalid signature");
    env.call(&token).await.assert_ok();
}

#[tokio::test]
async fn time_claims_use_the_leeway() {
    let env =
        Env::start(json!({ "auth_methods": ["bearer"], "display_errors": true, "leeway": 30 }))
            .await;
    let key = TestKey::p256("k1");
    env.idp.set_keys(&[&key]);
    let n = now();
    let sign = |extra| key.sign(&env.idp.claims(extra));
    env.call(&sign(json!({ "exp": n - 120 })))
        .await
        .assert_unauthorized("token expired");
    env.call(&sign(json!({ "exp": n - 10 }))).await.assert_ok();
    env.call(&sign(json!({ "nbf": n + 120 })))
        .await
        .assert_unauthorized("token not yet valid");
    env.call(&sign(json!({ "nbf": n + 10 }))).await.assert_ok();
    env.call(&sign(json!({ "iat": n + 120 })))
        .await
        .assert_unauthorized("token issued in the future");
    let mut no_exp = env.idp.claims(json!({}));
    no_exp.as_object_mut().unwrap().remove("exp");
    env.call(&key.sign(&no_exp))
        .await
        .assert_unauthorized("token has no expiry");

    let strict = Env::start(bearer_only()).await;
    strict.idp.set_keys(&[&key]);
    let just_expired = key.sign(&strict.idp.claims(json!({ "exp": now() - 1 })));
    strict
        .call(&just_expired)
        .await
        .assert_unauthorized("token expired");
}

#[tokio::test]
async fn issuer_must_be_the_discovered_or_an_allowed_one() {
    let env = Env::start(bearer_only()).await;
    let key = TestKey::p256("k1");
    env.idp.set_keys(&[&key]);
    let wrong = key.sign(
        &env.idp
            .claims(json!({ "iss": "https://evil.example/realms/test" })),
    );
    env.call(&wrong)
        .await
        .assert_unauthorized("issuer not allowed");
    let mut missing = env.idp.claims(json!({}));
    missing.as_object_mut().unwrap().remove("iss");
    env.call(&key.sign(&missing))
        .await
        .assert_unauthorized("issuer not allowed");

    let allowed = Env::start(json!({
        "auth_methods": ["bearer"], "display_errors": true,
        "issuers_allowed": ["https://other.example/"],
    }))
    .await;
    allowed.idp.set_keys(&[&key]);
    let other = key.sign(
        &allowed
            .idp
            .claims(json!({ "iss": "https://other.example/" })),
    );
    allowed.call(&other).await.assert_ok();
    let discovered = key.sign(&allowed.idp.claims(json!({})));
    allowed
        .call(&discovered)
        .await
        .assert_unauthorized("issuer not allowed");
}

#[tokio::test]
async fn key_rotation_refreshes_once_and_not_too_often() {
    let env = Env::start(bearer_only()).await;
    let old = TestKey::p256("old");
    env.idp.set_keys(&[&old]);
    env.call(&old.sign(&env.idp.claims(json!({}))))
        .await
        .assert_ok();
    assert_eq!(env.idp.counts().jwks, 1);

    // The provider rotates; many requests with the new kid arrive at once.
    let new = TestKey::p256("new");
    env.idp.set_keys(&[&old, &new]);
    let shared = &env;
    let requests = (0..16).map(|_| {
        let token = new.sign(&shared.idp.claims(json!({})));
        async move { shared.call(&token).await }
    });
    for reply in futures::future::join_all(requests).await {
        reply.assert_ok();
    }
    assert_eq!(env.idp.counts().jwks, 2, "one single-flight refresh");

    // Another unknown kid within rediscovery_lifetime (30 s): no refetch.
    let unknown = TestKey::p256("unknown");
    env.call(&unknown.sign(&env.idp.claims(json!({}))))
        .await
        .assert_unauthorized("unknown signing key");
    assert_eq!(env.idp.counts().jwks, 2);
    env.call(&new.sign(&env.idp.claims(json!({}))))
        .await
        .assert_ok();
}

#[tokio::test]
async fn rediscovery_lifetime_zero_refetches_each_unknown_kid() {
    let env = Env::start(
        json!({ "auth_methods": ["bearer"], "display_errors": true, "rediscovery_lifetime": 0 }),
    )
    .await;
    let k1 = TestKey::p256("k1");
    env.idp.set_keys(&[&k1]);
    env.call(&k1.sign(&env.idp.claims(json!({}))))
        .await
        .assert_ok();
    let stranger = TestKey::p256("stranger");
    for i in 0..2 {
        env.call(&stranger.sign(&env.idp.claims(json!({}))))
            .await
            .assert_unauthorized("unknown signing key");
        assert_eq!(env.idp.counts().jwks, 2 + i);
    }
}

#[tokio::test]
async fn extra_jwks_uris_are_trusted_only_when_configured() {
    let extra = TestKey::ed25519("extra");
    let env = Env::start(bearer_only()).await;
    env.idp.set_extra_keys(&[&extra]);
    env.call(&extra.sign(&env.idp.claims(json!({}))))
        .await
        .assert_unauthorized("unknown signing key");

    let idp = Idp::start().await;
    idp.set_extra_keys(&[&extra]);
    let config = json!({
        "auth_methods": ["bearer"], "display_errors": true,
        "extra_jwks_uris": [idp.extra_jwks_url()],
    });
    let env = Env::start_for(idp, config, |_| {}).await;
    env.call(&extra.sign(&env.idp.claims(json!({}))))
        .await
        .assert_ok();
}

#[tokio::test]
async fn jwks_endpoint_with_issuers_allowed_skips_discovery() {
    let idp = Idp::start().await;
    let key = TestKey::p384("k");
    idp.set_keys(&[&key]);
    let config = json!({
        "auth_methods": ["bearer"], "display_errors": true,
        "jwks_endpoint": idp.jwks_url(), "issuers_allowed": [idp.issuer],
    });
    let env = Env::start_for(idp, config, |_| {}).await;
    env.call(&key.sign(&env.idp.claims(json!({}))))
        .await
        .assert_ok();
    assert_eq!(env.idp.counts().discovery, 0);
    assert_eq!(env.idp.counts().jwks, 1);
}

#[tokio::test]
async fn unreachable_provider_fails_closed_unless_keys_are_cached() {
    let dead = format!("http://{}/realms/gone", closed_port().await);
    let env =
        Env::start(json!({ "issuer": dead, "auth_methods": ["bearer"], "display_errors": true }))
            .await;
    let key = TestKey::p256("k1");
    let token = key.sign(&json!({ "iss": dead, "exp": now() + 60 }));
    let reply = env.call(&token).await;
    reply.assert_idp_unavailable();
    assert!(
        !reply.body.to_string().contains("realms/gone"),
        "no internals: {:?}",
        reply.body
    );

    // Keys fetched while the provider was up keep working after it dies:
    // a new token (not in the verified-token cache) still verifies.
    let env = Env::start(bearer_only()).await;
    env.idp.set_keys(&[&key]);
    env.call(&key.sign(&env.idp.claims(json!({}))))
        .await
        .assert_ok();
    let Env {
        idp,
        proxy,
        upstream: _upstream,
    } = env;
    let later = key.sign(&idp.claims(json!({ "sub": "later" })));
    idp.set_keys(&[]);
    assert_eq!(idp.counts().jwks, 1);
    drop(idp);
    let reply = send(
        super::support::client::http1()
            .get(proxy.http_url("/"))
            .bearer_auth(later),
    )
    .await;
    reply.assert_ok();
}

#[tokio::test]
async fn verified_tokens_are_cached_until_exp() {
    let env = Env::start(bearer_only()).await;
    let key = TestKey::p256("k1");
    env.idp.set_keys(&[&key]);
    let token = key.sign(&env.idp.claims(json!({ "exp": now() + 2 })));
    env.call(&token).await.assert_ok();
    // The keys disappear: the cached verification still holds until exp.
    env.idp.set_keys(&[]);
    env.call(&token).await.assert_ok();
    assert_eq!(env.idp.counts().jwks, 1);
}
