//! `userinfo`: tokens the provider's userinfo endpoint accepts, its answer
//! as the claims, `cache_user_info`, `upstream_user_info_header`,
//! `userinfo_endpoint` and `search_user_info`.

use super::support::idp::{TestKey, now};
use super::support::upstream::closed_port;
use super::{Env, send};
use base64::Engine;
use serde_json::{Value, json};

fn config(extra: Value) -> Value {
    let mut config = json!({
        "auth_methods": ["userinfo"], "display_errors": true,
        "upstream_headers_claims": ["email"], "upstream_headers_names": ["x-email"],
    });
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    config
}

fn active(email: &str) -> Value {
    json!({ "active": true, "sub": "user-9", "email": email, "exp": now() + 300 })
}

#[tokio::test]
async fn the_userinfo_answer_is_the_claims() {
    let env = Env::start(config(json!({}))).await;
    env.idp.add_token("opaque-1", active("u9@example.test"));
    let reply = env.call("opaque-1").await;
    reply.assert_ok();
    assert_eq!(reply.upstream_header("x-email"), Some("u9@example.test"));
    assert_eq!(env.idp.counts().userinfo, 1);
    // The provider's refusal is a 401.
    env.call("unknown-token")
        .await
        .assert_unauthorized("the userinfo endpoint refused the token");
    assert_eq!(env.idp.counts().userinfo, 2);
}

#[tokio::test]
async fn answers_are_cached_unless_cache_user_info_is_off() {
    let env = Env::start(config(json!({}))).await;
    env.idp.add_token("opaque-1", active("a@example.test"));
    for _ in 0..3 {
        env.call("opaque-1").await.assert_ok();
    }
    assert_eq!(env.idp.counts().userinfo, 1);

    let env = Env::start(config(json!({ "cache_user_info": false }))).await;
    env.idp.add_token("opaque-1", active("a@example.test"));
    for n in 1..=3 {
        env.call("opaque-1").await.assert_ok();
        assert_eq!(env.idp.counts().userinfo, n);
    }
}

#[tokio::test]
async fn upstream_user_info_header_carries_the_answer() {
    let env = Env::start(config(json!({ "upstream_user_info_header": "x-userinfo" }))).await;
    env.idp.add_token("opaque-1", active("b@example.test"));
    let reply = env.call("opaque-1").await;
    reply.assert_ok();
    let encoded = reply.upstream_header("x-userinfo").unwrap();
    let decoded: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(decoded["email"], "b@example.test");
    assert_eq!(decoded["sub"], "user-9");
}

#[tokio::test]
async fn an_unreachable_userinfo_endpoint_is_an_outage() {
    let port = closed_port().await;
    let env = Env::start(config(json!({
        "userinfo_endpoint": format!("http://{port}/userinfo"),
    })))
    .await;
    env.idp.add_token("opaque-1", active("c@example.test"));
    env.call("opaque-1").await.assert_idp_unavailable();
    assert_eq!(env.idp.counts().userinfo, 0, "the override was used");
}

#[tokio::test]
async fn search_user_info_completes_a_bearer_tokens_claims() {
    let env = Env::start(json!({
        "auth_methods": ["bearer"], "display_errors": true, "search_user_info": true,
        "upstream_headers_claims": ["email", "sub"], "upstream_headers_names": ["x-email", "x-sub"],
    }))
    .await;
    let key = TestKey::p256("k1");
    env.idp.set_keys(&[&key]);
    // The JWT has no email; the provider's user info for it has.
    let token = key.sign(&env.idp.claims(json!({})));
    env.idp
        .add_token(&token, active("from-userinfo@example.test"));
    let reply = env.call(&token).await;
    reply.assert_ok();
    assert_eq!(
        reply.upstream_header("x-email"),
        Some("from-userinfo@example.test")
    );
    // The token's own claim wins over the user info's.
    assert_eq!(reply.upstream_header("x-sub"), Some("user-1"));
    assert_eq!(env.idp.counts().userinfo, 1);
}

#[tokio::test]
async fn without_search_user_info_the_endpoint_is_never_called() {
    let env = Env::start(json!({ "auth_methods": ["bearer"] })).await;
    let key = TestKey::p256("k1");
    env.idp.set_keys(&[&key]);
    let token = key.sign(&env.idp.claims(json!({})));
    send(env.get("/").bearer_auth(&token)).await.assert_ok();
    assert_eq!(env.idp.counts().userinfo, 0);
}
