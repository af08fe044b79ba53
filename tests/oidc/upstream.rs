//! What the upstream receives, where tokens are read from, consumer
//! mapping, `anonymous`, error responses and method order.

use super::support::idp::{TestKey, now};
use super::{Env, add_consumer, add_credential, send};
use kingress::model::Sensitive;
use kingress::tokens::IssuedToken;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn bearer_env(
    extra: Value,
    edit: impl FnOnce(&mut kingress::model::Table),
) -> (Env, TestKey) {
    let mut config = json!({ "auth_methods": ["bearer"], "display_errors": true });
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    let env = Env::start_with(config, edit).await;
    let key = TestKey::p256("k1");
    env.idp.set_keys(&[&key]);
    (env, key)
}

/// A bearer environment with `extra` config, and a token with the
/// provider's default claims.
async fn with_token(extra: Value) -> (Env, String) {
    let (env, key) = bearer_env(extra, |_| {}).await;
    let token = key.sign(&env.idp.claims(json!({})));
    (env, token)
}

#[tokio::test]
async fn claim_headers_are_set_and_client_copies_cleared() {
    let (env, key) = bearer_env(
        json!({
            "upstream_headers_claims": ["sub", "email", "groups"],
            "upstream_headers_names": ["x-user", "x-email", "x-groups"],
        }),
        |_| {},
    )
    .await;
    let token = key.sign(&env.idp.claims(json!({ "groups": ["a", "b"] })));
    let reply = send(
        env.get("/")
            .bearer_auth(&token)
            .header("x-user", "forged")
            .header("x-email", "forged@example.com")
            .header("x-consumer-id", "forged")
            .header("x-authenticated-userid", "forged"),
    )
    .await;
    reply.assert_ok();
    assert_eq!(reply.upstream_header("x-user"), Some("user-1"));
    assert_eq!(reply.upstream_header("x-groups"), Some("a, b"));
    assert_eq!(
        reply.upstream_header("x-email"),
        None,
        "no claim, and the forged copy is gone"
    );
    assert_eq!(reply.upstream_header("x-consumer-id"), None);
    assert_eq!(reply.upstream_header("x-authenticated-userid"), None);
}

#[tokio::test]
async fn claim_headers_named_as_forwarding_fields_replace_the_proxy_s() {
    // A plugin's upstream field of a forwarding name is set after the
    // proxy's (and a missing claim removes it): one value, the plugin's.
    let (env, token) = with_token(json!({
        "upstream_headers_claims": ["sub", "email"],
        "upstream_headers_names": ["x-forwarded-host", "x-real-ip"],
    }))
    .await;
    let reply = send(
        env.get("/")
            .bearer_auth(&token)
            .header("x-forwarded-host", "forged.example")
            .header("x-real-ip", "203.0.113.9"),
    )
    .await;
    reply.assert_ok();
    assert_eq!(reply.upstream_header("x-forwarded-host"), Some("user-1"));
    assert!(
        reply.body["headers"]["x-real-ip"].is_null(),
        "{}",
        reply.body
    );
    assert_eq!(reply.upstream_header("x-forwarded-proto"), Some("http"));
    assert_eq!(reply.upstream_header("x-forwarded-for"), Some("127.0.0.1"));
}

#[tokio::test]
async fn access_token_header_and_hide_credentials() {
    let (env, token) =
        with_token(json!({ "upstream_access_token_header": "x-access-token" })).await;
    let reply = send(
        env.get("/")
            .bearer_auth(&token)
            .header("x-access-token", "forged"),
    )
    .await;
    reply.assert_ok();
    assert_eq!(
        reply.upstream_header("x-access-token"),
        Some(token.as_str())
    );
    let bearer = format!("Bearer {token}");
    assert_eq!(
        reply.upstream_header("authorization"),
        Some(bearer.as_str())
    );

    let (env, token) =
        with_token(json!({ "hide_credentials": true, "upstream_access_token_header": null })).await;
    let reply = env.call(&token).await;
    reply.assert_ok();
    assert_eq!(
        reply.upstream_header("authorization"),
        None,
        "hidden and not re-sent"
    );

    let (env, token) = with_token(json!({ "hide_credentials": true })).await;
    let reply = send(env.get("/").header("x-access-token", &token)).await;
    reply.assert_ok();
    assert_eq!(reply.upstream_header("x-access-token"), None, "hidden");
    let bearer = format!("Bearer {token}");
    assert_eq!(
        reply.upstream_header("authorization"),
        Some(bearer.as_str()),
        "re-sent as configured"
    );
}

#[tokio::test]
async fn token_locations_and_hiding_them() {
    let (env, token) = with_token(json!({
        "bearer_token_param_type": ["query", "body", "cookie"], "bearer_token_cookie_name": "at",
        "hide_credentials": true, "upstream_access_token_header": null,
    }))
    .await;

    let reply = send(env.get(&format!("/q?x=1&access_token={token}&y=%20"))).await;
    reply.assert_ok();
    assert_eq!(reply.body["query"], "x=1&y=%20");

    let form = format!("a=1&access_token={token}");
    let post = support_client()
        .post(env.proxy.http_url("/f"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form);
    let reply = send(post).await;
    reply.assert_ok();
    assert_eq!(reply.body["body"], "a=1");

    let json_body = json!({ "access_token": token, "keep": true }).to_string();
    let post = support_client()
        .post(env.proxy.http_url("/j"))
        .header("content-type", "application/json")
        .body(json_body);
    let reply = send(post).await;
    reply.assert_ok();
    assert_eq!(
        serde_json::from_str::<Value>(reply.body["body"].as_str().unwrap()).unwrap(),
        json!({ "keep": true })
    );

    let reply = send(
        env.get("/c")
            .header("cookie", format!("theme=dark; at={token}; lang=en")),
    )
    .await;
    reply.assert_ok();
    assert_eq!(reply.upstream_header("cookie"), Some("theme=dark; lang=en"));

    // The header is not a configured place here.
    env.call(&token)
        .await
        .assert_unauthorized("no access token");
}

fn support_client() -> reqwest::Client {
    super::support::client::http1()
}

#[tokio::test]
async fn consumer_mapping_by_claim() {
    let edit = |t: &mut kingress::model::Table| {
        add_consumer(t, "id-alice", Some("alice"), Some("A-1"));
        add_consumer(t, "id-bob", Some("bob"), None);
    };
    let (env, key) = bearer_env(json!({ "consumer_claim": "preferred_username" }), edit).await;
    let token = key.sign(&env.idp.claims(json!({ "preferred_username": "alice" })));
    let reply = env.call(&token).await;
    reply.assert_ok();
    assert_eq!(reply.upstream_header("x-consumer-id"), Some("id-alice"));
    assert_eq!(reply.upstream_header("x-consumer-username"), Some("alice"));
    assert_eq!(
        reply.upstream_header("x-credential-identifier"),
        Some("user-1")
    );
    let stranger = key.sign(&env.idp.claims(json!({ "preferred_username": "mallory" })));
    env.call(&stranger)
        .await
        .assert_forbidden("consumer not found");

    let (env, key) = bearer_env(
        json!({ "consumer_claim": ["ext", "cid"], "consumer_by": ["custom_id"] }),
        edit,
    )
    .await;
    let token = key.sign(&env.idp.claims(json!({ "ext": { "cid": "A-1" } })));
    let reply = env.call(&token).await;
    assert_eq!(reply.upstream_header("x-consumer-id"), Some("id-alice"));

    let (env, key) = bearer_env(
        json!({ "consumer_claim": "sub", "consumer_optional": true }),
        edit,
    )
    .await;
    let reply = send(
        env.get("/")
            .bearer_auth(key.sign(&env.idp.claims(json!({}))))
            .header("x-consumer-id", "forged"),
    )
    .await;
    reply.assert_ok();
    assert_eq!(reply.upstream_header("x-consumer-id"), None);
}

#[tokio::test]
async fn anonymous_consumer_on_authentication_failure_only() {
    let edit = |t: &mut kingress::model::Table| add_consumer(t, "anon-id", Some("anonymous"), None);
    let (env, key) = bearer_env(
        json!({ "anonymous": "anonymous", "scopes_required": ["read"] }),
        edit,
    )
    .await;
    for request in [env.get("/"), env.get("/").bearer_auth("not-a-valid-token")] {
        let reply = send(request.header("x-credential-identifier", "forged")).await;
        reply.assert_ok();
        assert_eq!(reply.upstream_header("x-consumer-id"), Some("anon-id"));
        assert_eq!(reply.upstream_header("x-anonymous-consumer"), Some("true"));
        assert_eq!(reply.upstream_header("x-credential-identifier"), None);
    }
    // A valid token without the scope is forbidden, not anonymous.
    let token = key.sign(&env.idp.claims(json!({ "scope": "write" })));
    env.call(&token)
        .await
        .assert_forbidden("required scopes missing");

    let (env, _) = bearer_env(json!({ "anonymous": "ghost" }), |_| {}).await;
    let reply = send(env.get("/")).await;
    assert_eq!(
        reply.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{:?}",
        reply.body
    );
    assert_eq!(
        reply.body,
        json!({ "message": "anonymous consumer ghost is configured but doesn't exist" })
    );
}

#[tokio::test]
async fn error_responses() {
    let env = Env::start(json!({
        "auth_methods": ["bearer"],
        "unauthorized_error_message": "Login first", "forbidden_error_message": "Not for you",
        "scopes_required": ["read"],
    }))
    .await;
    let key = TestKey::p256("k1");
    env.idp.set_keys(&[&key]);
    let reply = send(env.get("/")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body, json!({ "message": "Login first" }));
    assert_eq!(
        reply.www_authenticate.as_deref(),
        Some("Bearer realm=\"127.0.0.1\"")
    );

    let expired = key.sign(&env.idp.claims(json!({ "exp": now() - 100 })));
    let reply = env.call(&expired).await;
    assert_eq!(
        reply.body,
        json!({ "message": "Login first" }),
        "no details without display_errors"
    );
    assert_eq!(
        reply.www_authenticate.as_deref(),
        Some("Bearer realm=\"127.0.0.1\", error=\"invalid_token\"")
    );

    let weak = key.sign(&env.idp.claims(json!({ "scope": "write" })));
    let reply = env.call(&weak).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.body, json!({ "message": "Not for you" }));
    assert_eq!(
        reply.www_authenticate.as_deref(),
        Some("Bearer realm=\"127.0.0.1\", error=\"insufficient_scope\"")
    );
}

#[tokio::test]
async fn methods_are_tried_in_kongs_order() {
    const SECRET: &str = "introspection-client-secret-0123";
    let edit = |t: &mut kingress::model::Table| {
        add_consumer(t, "consumer-1", Some("alice"), None);
        add_credential(t, "cred-1", "client-app", "consumer-1");
    };
    let env = Env::start_with(
        json!({
            "display_errors": true, "client_id": "kong", "client_secret": SECRET,
            "client_auth": "client_secret_basic",
        }),
        edit,
    )
    .await;
    env.idp.register_secret_client("kong", SECRET);
    let key = TestKey::p256("k1");
    env.idp.set_keys(&[&key]);

    // A JWT is verified locally: no introspection.
    env.call(&key.sign(&env.idp.claims(json!({}))))
        .await
        .assert_ok();
    assert_eq!(env.idp.counts().introspection, 0);

    // A store token is found before introspection is asked.
    let store_token = IssuedToken {
        access_token: Sensitive::new("StoreToken0123456789abcdefghijkl"),
        refresh_token: None,
        credential_id: "cred-1".into(),
        service: None,
        scope: None,
        authenticated_userid: None,
        expires_in: 3600,
        created_at: now(),
        ttl: None,
    };
    env.proxy
        .runtime
        .tokens
        .insert_token(&store_token)
        .await
        .unwrap();
    let reply = env.call("StoreToken0123456789abcdefghijkl").await;
    reply.assert_ok();
    assert_eq!(
        reply.upstream_header("x-credential-identifier"),
        Some("client-app")
    );
    assert_eq!(env.idp.counts().introspection, 0);

    // An opaque token unknown to the store goes to introspection.
    env.idp
        .add_token("opaque", json!({ "active": true, "exp": now() + 60 }));
    env.call("opaque").await.assert_ok();
    assert_eq!(env.idp.counts().introspection, 1);

    // A JWT the local check refuses (key unknown) may still be introspected;
    // when that fails too, the first reason is reported.
    let foreign = TestKey::p256("foreign").sign(&env.idp.claims(json!({})));
    env.call(&foreign)
        .await
        .assert_unauthorized("unknown signing key");
    env.idp.add_token(&foreign, json!({ "active": true }));
    env.call(&foreign).await.assert_ok();
}
