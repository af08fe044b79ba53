//! `password` and `client_credentials`: what the client presents is
//! exchanged at the provider's token endpoint (support::idp's real one),
//! the provider's access token reaches the upstream, and token responses
//! are cached per presented credentials. Mirrors Kong's documented examples
//! "Client credentials grant in header" and "Password grant".

use super::support::idp::TestKey;
use super::{Env, send};
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

const SERVICE: &str = "svc-client";
const SERVICE_SECRET: &str = "svc-client-secret-0123456789";
const WEB: &str = "web-client";
const WEB_SECRET: &str = "web-client-secret-0123456789";
const USER: &str = "alice";
const PASSWORD: &str = "alice-password-42";

/// A provider with a signing key, the two clients and the user, and a
/// proxy whose plugin runs `methods` with `extra` config.
async fn env(methods: &[&str], extra: Value) -> Env {
    let mut config = json!({
        "auth_methods": methods, "display_errors": true,
        "client_id": WEB, "client_secret": WEB_SECRET, "client_auth": "client_secret_basic",
        "upstream_headers_claims": ["preferred_username", "azp"],
        "upstream_headers_names": ["x-user", "x-client"],
    });
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    let env = Env::start(config).await;
    env.idp.set_signing_key(&TestKey::p256("signing"));
    env.idp.register_secret_client(SERVICE, SERVICE_SECRET);
    env.idp.register_secret_client(WEB, WEB_SECRET);
    env.idp.add_user(
        USER,
        PASSWORD,
        json!({ "preferred_username": USER, "sub": "alice-sub" }),
    );
    env
}

fn basic(name: &str, secret: &str) -> String {
    let pair = format!("{name}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// The access token the upstream received as `Authorization: Bearer`.
fn upstream_token(reply: &super::Reply) -> String {
    reply
        .upstream_header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_else(|| panic!("no bearer token upstream: {:?}", reply.body))
        .to_string()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn client_credentials_in_the_basic_header_reach_the_token_endpoint() {
    let env = env(&["client_credentials"], json!({})).await;
    let reply = send(
        env.get("/")
            .header("authorization", basic(SERVICE, SERVICE_SECRET)),
    )
    .await;
    reply.assert_ok();
    // The client itself authenticated at the provider, not the plugin's client.
    let requests = env.idp.token_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        param(&requests[0], "grant_type"),
        Some("client_credentials")
    );
    assert_eq!(
        env.idp.last_client_auth().as_deref(),
        Some("client_secret_basic")
    );
    // The upstream gets the provider's token (for that client), not Basic.
    let token = upstream_token(&reply);
    assert_eq!(token.split('.').count(), 3);
    assert_eq!(reply.upstream_header("x-client"), Some(SERVICE));
    assert_eq!(
        reply.upstream_header("x-user"),
        Some(format!("service-account-{SERVICE}").as_str())
    );
}

#[tokio::test]
async fn tokens_are_cached_per_credentials_and_refusals_are_not() {
    let env = env(&["client_credentials"], json!({})).await;
    let first = send(
        env.get("/")
            .header("authorization", basic(SERVICE, SERVICE_SECRET)),
    )
    .await;
    first.assert_ok();
    let second = send(
        env.get("/")
            .header("authorization", basic(SERVICE, SERVICE_SECRET)),
    )
    .await;
    second.assert_ok();
    assert_eq!(
        upstream_token(&first),
        upstream_token(&second),
        "served from the cache"
    );
    assert_eq!(env.idp.counts().token, 1);
    // Another secret is another key: it reaches the provider, is refused
    // (401, Kong's body), and the refusal is not remembered.
    for attempt in 1..=2 {
        let wrong = send(
            env.get("/")
                .header("authorization", basic(SERVICE, "wrong-secret")),
        )
        .await;
        wrong.assert_unauthorized("the identity provider refused the grant");
        assert_eq!(env.idp.counts().token, 1 + attempt);
    }
    // The right secret is still served from the cache.
    let again = send(
        env.get("/")
            .header("authorization", basic(SERVICE, SERVICE_SECRET)),
    )
    .await;
    assert_eq!(upstream_token(&again), upstream_token(&first));
    assert_eq!(env.idp.counts().token, 3);
}

#[tokio::test]
async fn cache_tokens_false_asks_every_time() {
    let env = env(&["client_credentials"], json!({ "cache_tokens": false })).await;
    for n in 1..=3 {
        send(
            env.get("/")
                .header("authorization", basic(SERVICE, SERVICE_SECRET)),
        )
        .await
        .assert_ok();
        assert_eq!(env.idp.counts().token, n);
    }
}

#[tokio::test]
async fn a_cached_token_is_not_served_past_its_expiry() {
    let env = env(&["client_credentials"], json!({})).await;
    // expires_in 6: cached until 1 s before the 5 s margin.
    env.idp.set_token_lifetime(6);
    let first = send(
        env.get("/")
            .header("authorization", basic(SERVICE, SERVICE_SECRET)),
    )
    .await;
    first.assert_ok();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let later = send(
        env.get("/")
            .header("authorization", basic(SERVICE, SERVICE_SECRET)),
    )
    .await;
    later.assert_ok();
    assert_eq!(env.idp.counts().token, 2, "a fresh token was obtained");
    assert_ne!(upstream_token(&first), upstream_token(&later));
}

#[tokio::test]
async fn cache_ttl_max_bounds_the_token_cache() {
    let env = env(&["client_credentials"], json!({ "cache_ttl_max": 1 })).await;
    send(
        env.get("/")
            .header("authorization", basic(SERVICE, SERVICE_SECRET)),
    )
    .await
    .assert_ok();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    send(
        env.get("/")
            .header("authorization", basic(SERVICE, SERVICE_SECRET)),
    )
    .await
    .assert_ok();
    assert_eq!(env.idp.counts().token, 2);
}

#[tokio::test]
async fn client_credentials_param_type_decides_where_they_are_read() {
    let env = env(
        &["client_credentials"],
        json!({ "client_credentials_param_type": ["body"], "hide_credentials": true }),
    )
    .await;
    // A Basic header is not looked at.
    let reply = send(
        env.get("/")
            .header("authorization", basic(SERVICE, SERVICE_SECRET)),
    )
    .await;
    reply.assert_unauthorized("no access token");
    assert_eq!(env.idp.counts().token, 0);
    // A form body is, and hide_credentials removes them from it.
    let reply = send(
        super::support::client::http1()
            .post(env.proxy.http_url("/"))
            .form(&[
                ("client_id", SERVICE),
                ("client_secret", SERVICE_SECRET),
                ("keep", "1"),
            ]),
    )
    .await;
    reply.assert_ok();
    assert_eq!(reply.upstream_header("x-client"), Some(SERVICE));
    assert_eq!(reply.body["body"], "keep=1", "{:?}", reply.body);
}

#[tokio::test]
async fn client_credentials_in_the_query() {
    let env = env(&["client_credentials"], json!({})).await;
    let reply = send(env.get(&format!(
        "/?client_id={SERVICE}&client_secret={SERVICE_SECRET}"
    )))
    .await;
    reply.assert_ok();
    assert_eq!(reply.upstream_header("x-client"), Some(SERVICE));
}

#[tokio::test]
async fn password_grant_uses_the_plugins_client() {
    let env = env(&["password"], json!({})).await;
    let reply = send(env.get("/").header("authorization", basic(USER, PASSWORD))).await;
    reply.assert_ok();
    let requests = env.idp.token_requests();
    assert_eq!(param(&requests[0], "grant_type"), Some("password"));
    assert_eq!(param(&requests[0], "username"), Some(USER));
    assert_eq!(param(&requests[0], "password"), Some(PASSWORD));
    assert_eq!(
        env.idp.last_client_auth().as_deref(),
        Some("client_secret_basic")
    );
    assert_eq!(reply.upstream_header("x-user"), Some(USER));
    assert_eq!(reply.upstream_header("x-client"), Some(WEB));
    // The password never reaches the upstream: Authorization is the token.
    assert!(upstream_token(&reply).starts_with("ey"));
    let wrong = send(env.get("/").header("authorization", basic(USER, "nope"))).await;
    wrong.assert_unauthorized("the identity provider refused the grant");
}

#[tokio::test]
async fn scopes_are_asked_for_and_the_id_token_can_go_upstream() {
    let env = env(
        &["password"],
        json!({ "scopes": ["openid", "email"], "upstream_id_token_header": "x-id-token" }),
    )
    .await;
    let reply = send(env.get("/").header("authorization", basic(USER, PASSWORD))).await;
    reply.assert_ok();
    assert_eq!(
        param(&env.idp.token_requests()[0], "scope"),
        Some("openid email")
    );
    let id_token = reply.upstream_header("x-id-token").unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(id_token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["typ"], "ID");
    assert_eq!(claims["aud"], WEB);
}

#[tokio::test]
async fn password_in_a_json_body() {
    let env = env(&["password"], json!({ "password_param_type": ["body"] })).await;
    let reply = send(
        super::support::client::http1()
            .post(env.proxy.http_url("/"))
            .json(&json!({ "username": USER, "password": PASSWORD })),
    )
    .await;
    reply.assert_ok();
    assert_eq!(reply.upstream_header("x-user"), Some(USER));
}

#[tokio::test]
async fn with_both_methods_a_basic_header_is_a_password() {
    // Kong: "the plugin prioritizes the password grant" for Basic credentials.
    let env = env(&["client_credentials", "password"], json!({})).await;
    let reply = send(env.get("/").header("authorization", basic(USER, PASSWORD))).await;
    reply.assert_ok();
    assert_eq!(
        param(&env.idp.token_requests()[0], "grant_type"),
        Some("password")
    );
    // A client's Basic credentials are then tried as a password, and refused.
    let reply = send(
        env.get("/")
            .header("authorization", basic(SERVICE, SERVICE_SECRET)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn provider_outage_is_a_503_and_no_credentials_a_401() {
    let env = env(&["client_credentials"], json!({})).await;
    env.idp.force_token_status(Some(503));
    send(
        env.get("/")
            .header("authorization", basic(SERVICE, SERVICE_SECRET)),
    )
    .await
    .assert_idp_unavailable();
    env.idp.force_token_status(None);
    let reply = send(env.get("/")).await;
    reply.assert_unauthorized("no access token");
}

#[tokio::test]
async fn the_obtained_token_passes_the_authorization_rules() {
    let env = env(
        &["client_credentials"],
        json!({ "audience_required": ["other-api"] }),
    )
    .await;
    // The provider's tokens carry aud "account": 403, not a pass.
    send(
        env.get("/")
            .header("authorization", basic(SERVICE, SERVICE_SECRET)),
    )
    .await
    .assert_forbidden("audience not allowed");
}
