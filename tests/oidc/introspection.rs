//! `introspection`: RFC 7662 with each client authentication, verified by
//! the provider.

use super::support::idp::{Idp, TestKey, now};
use super::support::upstream::closed_port;
use super::{Env, PLUGIN_ID};
use base64::Engine;
use serde_json::{Value, json};

const SECRET: &str = "introspection-client-secret-0123";

fn config(extra: Value) -> Value {
    let mut config = json!({
        "auth_methods": ["introspection"], "display_errors": true, "client_id": "kong",
    });
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    config
}

fn active(extra: Value) -> Value {
    let mut response =
        json!({ "active": true, "sub": "user-7", "scope": "read", "exp": now() + 300 });
    for (k, v) in extra.as_object().unwrap() {
        response[k] = v.clone();
    }
    response
}

#[tokio::test]
async fn secret_based_client_authentication() {
    for method in [
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
    ] {
        let env = Env::start(config(
            json!({ "client_auth": method, "client_secret": SECRET }),
        ))
        .await;
        env.idp.register_secret_client("kong", SECRET);
        env.idp.add_token("opaque-1", active(json!({})));
        env.call("opaque-1").await.assert_ok();
        assert_eq!(
            env.idp.last_client_auth().as_deref(),
            Some(method),
            "{:?}",
            env.idp.refusals()
        );
        assert!(env.idp.refusals().is_empty());
    }
}

#[tokio::test]
async fn wrong_secret_is_refused_by_the_provider_and_fails_closed() {
    let env = Env::start(config(
        json!({ "client_auth": "client_secret_basic", "client_secret": "wrong" }),
    ))
    .await;
    env.idp.register_secret_client("kong", SECRET);
    env.idp.add_token("opaque-1", active(json!({})));
    env.call("opaque-1").await.assert_idp_unavailable();
    assert_eq!(env.idp.refusals().len(), 1);
}

#[tokio::test]
async fn client_secret_jwt_with_hs512() {
    let env = Env::start(config(json!({
        "client_auth": "client_secret_jwt", "client_secret": SECRET, "client_alg": "HS512",
    })))
    .await;
    env.idp.register_secret_client("kong", SECRET);
    env.idp.add_token("opaque-1", active(json!({})));
    env.call("opaque-1").await.assert_ok();
    assert_eq!(
        env.idp.last_client_auth().as_deref(),
        Some("client_secret_jwt")
    );
}

#[tokio::test]
async fn private_key_jwt_with_configured_rsa_and_ec_keys() {
    let rsa = TestKey::rsa("client-rsa", jsonwebtoken::Algorithm::RS256);
    let ec = TestKey::p256("client-ec");
    for (key, alg) in [(&rsa, json!("PS256")), (&ec, Value::Null)] {
        let env = Env::start(config(json!({
            "client_auth": "private_key_jwt", "client_jwk": key.private_jwk(), "client_alg": alg,
        })))
        .await;
        env.idp.register_jwk_client("kong", key.public_jwk());
        env.idp.add_token("opaque-1", active(json!({})));
        env.call("opaque-1").await.assert_ok();
        assert_eq!(
            env.idp.last_client_auth().as_deref(),
            Some("private_key_jwt"),
            "{:?}",
            env.idp.refusals()
        );
        // Each assertion has a fresh jti: a second, uncached call passes too.
        env.idp.add_token("opaque-2", active(json!({})));
        env.call("opaque-2").await.assert_ok();
    }
}

#[tokio::test]
async fn private_key_jwt_with_a_key_the_provider_does_not_know_fails() {
    let ours = TestKey::p256("ours");
    let registered = TestKey::p256("registered");
    let env = Env::start(config(
        json!({ "client_auth": "private_key_jwt", "client_jwk": ours.private_jwk() }),
    ))
    .await;
    env.idp.register_jwk_client("kong", registered.public_jwk());
    env.idp.add_token("opaque-1", active(json!({})));
    env.call("opaque-1").await.assert_idp_unavailable();
    assert!(
        env.idp.refusals()[0].contains("InvalidSignature"),
        "{:?}",
        env.idp.refusals()
    );
}

#[tokio::test]
async fn private_key_jwt_with_a_generated_key() {
    // The seed's shape: private_key_jwt without client_jwk. The plugin
    // generates an RS256 key on first use; the operator registers its
    // public half at the provider.
    let env = Env::start(config(json!({ "client_auth": "private_key_jwt" }))).await;
    env.idp.add_token("opaque-1", active(json!({})));
    assert_eq!(
        env.proxy.runtime.oidc.client_jwks(PLUGIN_ID),
        None,
        "nothing generated before use"
    );
    env.call("opaque-1").await.assert_idp_unavailable();
    let jwks = env
        .proxy
        .runtime
        .oidc
        .client_jwks(PLUGIN_ID)
        .expect("a key was generated");
    let public = jwks["keys"][0].clone();
    assert_eq!(public["kty"], "RSA");
    assert_eq!(public["alg"], "RS256");
    assert!(
        public.get("d").is_none() && public.get("p").is_none(),
        "public half only"
    );
    env.idp.register_jwk_client("kong", public);
    env.call("opaque-1").await.assert_ok();
    assert_eq!(
        env.idp.last_client_auth().as_deref(),
        Some("private_key_jwt")
    );
    // The same key is kept.
    assert_eq!(env.proxy.runtime.oidc.client_jwks(PLUGIN_ID), Some(jwks));
}

#[tokio::test]
async fn public_client_with_none() {
    let env = Env::start(config(json!({ "client_auth": "none" }))).await;
    env.idp.register_public_client("kong");
    env.idp.add_token("opaque-1", active(json!({})));
    env.call("opaque-1").await.assert_ok();
    assert_eq!(env.idp.last_client_auth().as_deref(), Some("none"));
}

#[tokio::test]
async fn unset_client_auth_follows_discovery() {
    let env = Env::start(config(json!({ "client_secret": SECRET }))).await;
    env.idp
        .set_auth_methods(&["private_key_jwt", "client_secret_post"]);
    env.idp.register_secret_client("kong", SECRET);
    env.idp.add_token("opaque-1", active(json!({})));
    env.call("opaque-1").await.assert_ok();
    assert_eq!(
        env.idp.last_client_auth().as_deref(),
        Some("client_secret_post")
    );
}

#[tokio::test]
async fn inactive_unknown_and_expired_tokens_get_401() {
    let env = Env::start(config(
        json!({ "client_auth": "client_secret_post", "client_secret": SECRET }),
    ))
    .await;
    env.idp.register_secret_client("kong", SECRET);
    env.idp.add_token("revoked", json!({ "active": false }));
    env.idp.add_token("stringly", json!({ "active": "true" }));
    env.idp
        .add_token("expired", active(json!({ "exp": now() - 60 })));
    env.call("revoked")
        .await
        .assert_unauthorized("token inactive");
    env.call("never-issued")
        .await
        .assert_unauthorized("token inactive");
    env.call("stringly")
        .await
        .assert_unauthorized("token inactive");
    env.call("expired")
        .await
        .assert_unauthorized("token expired");
}

#[tokio::test]
async fn results_are_cached_and_rules_apply() {
    let env = Env::start(config(json!({
        "client_auth": "client_secret_basic", "client_secret": SECRET,
        "scopes_required": ["read"], "upstream_introspection_header": "x-introspection",
    })))
    .await;
    env.idp.register_secret_client("kong", SECRET);
    let result = active(json!({}));
    env.idp.add_token("good", result.clone());
    env.idp
        .add_token("weak", active(json!({ "scope": "write" })));
    for _ in 0..3 {
        let reply = env.call("good").await;
        reply.assert_ok();
        let header = reply.upstream_header("x-introspection").unwrap();
        let decoded: Value = serde_json::from_slice(
            &base64::engine::general_purpose::STANDARD
                .decode(header)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(decoded, result);
    }
    assert_eq!(env.idp.counts().introspection, 1, "cached until exp");
    env.call("weak")
        .await
        .assert_forbidden("required scopes missing");
    // Inactive results are not cached: a re-activated token works at once.
    env.idp.add_token("late", json!({ "active": false }));
    env.call("late").await.assert_unauthorized("token inactive");
    env.idp.add_token("late", active(json!({})));
    env.call("late").await.assert_ok();
}

#[tokio::test]
async fn cache_introspection_false_asks_every_time() {
    let env = Env::start(config(json!({
        "client_auth": "client_secret_basic", "client_secret": SECRET, "cache_introspection": false,
    })))
    .await;
    env.idp.register_secret_client("kong", SECRET);
    env.idp.add_token("good", active(json!({})));
    for _ in 0..3 {
        env.call("good").await.assert_ok();
    }
    assert_eq!(env.idp.counts().introspection, 3);
    // Revocation is seen immediately.
    env.idp.add_token("good", json!({ "active": false }));
    env.call("good").await.assert_unauthorized("token inactive");
}

#[tokio::test]
async fn configured_endpoint_needs_no_discovery_and_dead_endpoint_fails_closed() {
    let idp = Idp::start().await;
    let cfg = config(json!({
        "client_auth": "client_secret_basic", "client_secret": SECRET,
        "introspection_endpoint": idp.introspection_url(),
    }));
    let env = Env::start_for(idp, cfg, |_| {}).await;
    env.idp.register_secret_client("kong", SECRET);
    env.idp.add_token("good", active(json!({})));
    env.call("good").await.assert_ok();
    assert_eq!(env.idp.counts().discovery, 0);

    let dead = format!("http://{}/introspect", closed_port().await);
    let env = Env::start(config(json!({
        "client_auth": "client_secret_basic", "client_secret": SECRET, "introspection_endpoint": dead,
    })))
    .await;
    let reply = env.call("good").await;
    reply.assert_idp_unavailable();
}
