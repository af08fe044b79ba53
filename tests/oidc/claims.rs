//! Authorization rules on verified tokens: 403 with `insufficient_scope`.

use super::Env;
use super::support::idp::TestKey;
use serde_json::{Value, json};

async fn env(rules: Value) -> (Env, TestKey) {
    let mut config = json!({ "auth_methods": ["bearer"], "display_errors": true });
    for (k, v) in rules.as_object().unwrap() {
        config[k] = v.clone();
    }
    let env = Env::start(config).await;
    let key = TestKey::p256("k1");
    env.idp.set_keys(&[&key]);
    (env, key)
}

#[tokio::test]
async fn scopes_entries_are_ored_and_words_anded() {
    let (env, key) = env(json!({ "scopes_required": ["read write", "admin"] })).await;
    let env = &env;
    let call = |scope: Value| {
        let token = key.sign(&env.idp.claims(json!({ "scope": scope })));
        async move { env.call(&token).await }
    };
    call(json!("openid read write")).await.assert_ok();
    call(json!("admin")).await.assert_ok();
    call(json!("read"))
        .await
        .assert_forbidden("required scopes missing");
    call(json!("write email"))
        .await
        .assert_forbidden("required scopes missing");
    call(json!(["read", "write"])).await.assert_ok();
    let mut none = env.idp.claims(json!({}));
    none.as_object_mut().unwrap().remove("scope");
    env.call(&key.sign(&none))
        .await
        .assert_forbidden("required scopes missing");
}

#[tokio::test]
async fn audience_rule_on_string_or_array() {
    let (env, key) = env(json!({ "audience_required": ["api"] })).await;
    let env = &env;
    let call = |aud: Value| {
        let token = key.sign(&env.idp.claims(json!({ "aud": aud })));
        async move { env.call(&token).await }
    };
    call(json!("api")).await.assert_ok();
    call(json!(["web", "api"])).await.assert_ok();
    call(json!("account"))
        .await
        .assert_forbidden("audience not allowed");
    call(json!(["web"]))
        .await
        .assert_forbidden("audience not allowed");
}

#[tokio::test]
async fn groups_rule_with_custom_claim_name() {
    let (env, key) =
        env(json!({ "groups_claim": "memberOf", "groups_required": ["staff", "ops dev"] })).await;
    let env = &env;
    let call = |groups: Value| {
        let token = key.sign(&env.idp.claims(json!({ "memberOf": groups })));
        async move { env.call(&token).await }
    };
    call(json!(["staff"])).await.assert_ok();
    call(json!(["dev", "ops"])).await.assert_ok();
    call(json!(["dev"]))
        .await
        .assert_forbidden("required groups missing");
    // The default `groups` claim is not consulted.
    let token = key.sign(&env.idp.claims(json!({ "groups": ["staff"] })));
    env.call(&token)
        .await
        .assert_forbidden("required groups missing");
}

#[tokio::test]
async fn roles_rule_follows_a_nested_path() {
    let (env, key) =
        env(json!({ "roles_claim": ["realm_access", "roles"], "roles_required": ["admin"] })).await;
    let token = key.sign(
        &env.idp
            .claims(json!({ "realm_access": { "roles": ["user", "admin"] } })),
    );
    env.call(&token).await.assert_ok();
    let token = key.sign(
        &env.idp
            .claims(json!({ "realm_access": { "roles": ["user"] } })),
    );
    env.call(&token)
        .await
        .assert_forbidden("required roles missing");
    let token = key.sign(&env.idp.claims(json!({ "roles": ["admin"] })));
    env.call(&token)
        .await
        .assert_forbidden("required roles missing");
}

#[tokio::test]
async fn every_rule_must_hold() {
    let (env, key) = env(json!({
        "scopes_required": ["read"], "audience_required": ["api"],
        "groups_required": ["staff"], "roles_required": ["admin"],
    }))
    .await;
    let good = json!({ "scope": "read", "aud": "api", "groups": ["staff"], "roles": ["admin"] });
    env.call(&key.sign(&env.idp.claims(good.clone())))
        .await
        .assert_ok();
    for (claim, bad, reason) in [
        ("scope", json!("write"), "required scopes missing"),
        ("aud", json!("web"), "audience not allowed"),
        ("groups", json!(["guest"]), "required groups missing"),
        ("roles", json!(["user"]), "required roles missing"),
    ] {
        let mut claims = good.clone();
        claims[claim] = bad;
        env.call(&key.sign(&env.idp.claims(claims)))
            .await
            .assert_forbidden(reason);
    }
}

#[tokio::test]
async fn cached_tokens_are_still_checked_against_the_rules() {
    let (env, key) = env(json!({ "scopes_required": ["read"] })).await;
    let token = key.sign(&env.idp.claims(json!({ "scope": "write" })));
    env.call(&token)
        .await
        .assert_forbidden("required scopes missing");
    env.call(&token)
        .await
        .assert_forbidden("required scopes missing");
    let reply = env.call(&token).await;
    assert_eq!(
        reply.www_authenticate.as_deref(),
        Some(
            "Bearer realm=\"127.0.0.1\", error=\"insufficient_scope\", error_description=\"required scopes missing\""
        )
    );
}
