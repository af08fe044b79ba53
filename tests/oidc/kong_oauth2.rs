//! `kong_oauth2`: tokens of kingress's own oauth2 plugin, looked up in the
//! token store; the seed configuration verbatim.

use super::support::idp::now;
use super::{Env, add_consumer, add_credential, send};
use kingress::model::Sensitive;
use kingress::tokens::IssuedToken;
use reqwest::StatusCode;
use serde_json::json;

const SEED: &str = r#"{
  "issuer": "http://keycloak.test:8080/auth/realms/master",
  "client_id": "kong",
  "client_auth": "private_key_jwt",
  "auth_methods": ["kong_oauth2"],
  "bearer_token_param_type": ["header"]
}"#;

fn token(access: &str, credential_id: &str, created_at: u64, expires_in: u64) -> IssuedToken {
    IssuedToken {
        access_token: Sensitive::new(access),
        refresh_token: None,
        credential_id: credential_id.to_string(),
        service: None,
        scope: Some("email profile".to_string()),
        authenticated_userid: Some("user-42".to_string()),
        expires_in,
        created_at,
        ttl: None,
    }
}

async fn seed_env(config: serde_json::Value) -> Env {
    Env::start_with(config, |t| {
        add_consumer(t, "consumer-1", Some("alice"), Some("c-1"));
        add_credential(t, "cred-1", "client-app", "consumer-1");
    })
    .await
}

#[tokio::test]
async fn seed_config_accepts_store_tokens_without_contacting_the_issuer() {
    let mut config: serde_json::Value = serde_json::from_str(SEED).unwrap();
    config["display_errors"] = json!(true);
    let env = seed_env(config).await;
    let tokens = &env.proxy.runtime.tokens;
    tokens
        .insert_token(&token(
            "AbCdEfGhIjKlMnOpQrStUvWxYz012345",
            "cred-1",
            now(),
            7200,
        ))
        .await
        .unwrap();
    let reply = send(
        env.get("/")
            .bearer_auth("AbCdEfGhIjKlMnOpQrStUvWxYz012345")
            .header("x-consumer-id", "forged")
            .header("x-anonymous-consumer", "true"),
    )
    .await;
    reply.assert_ok();
    assert_eq!(reply.upstream_header("x-consumer-id"), Some("consumer-1"));
    assert_eq!(reply.upstream_header("x-consumer-username"), Some("alice"));
    assert_eq!(reply.upstream_header("x-consumer-custom-id"), Some("c-1"));
    assert_eq!(
        reply.upstream_header("x-credential-identifier"),
        Some("client-app")
    );
    assert_eq!(
        reply.upstream_header("x-authenticated-scope"),
        Some("email profile")
    );
    assert_eq!(
        reply.upstream_header("x-authenticated-userid"),
        Some("user-42")
    );
    assert_eq!(reply.upstream_header("x-anonymous-consumer"), None);
    // keycloak.test does not resolve here; the point is it was never asked.
    assert_eq!(env.idp.counts(), Default::default());
}

#[tokio::test]
async fn unknown_expired_and_orphaned_tokens_get_401() {
    let env = seed_env(json!({ "auth_methods": ["kong_oauth2"], "display_errors": true })).await;
    let tokens = &env.proxy.runtime.tokens;
    tokens
        .insert_token(&token(
            "expired-token-000000000000000000",
            "cred-1",
            now() - 100,
            10,
        ))
        .await
        .unwrap();
    tokens
        .insert_token(&token(
            "orphan-token-0000000000000000000",
            "deleted-cred",
            now(),
            7200,
        ))
        .await
        .unwrap();
    tokens
        .insert_token(&token(
            "forever-token-000000000000000000",
            "cred-1",
            now() - 1_000_000,
            0,
        ))
        .await
        .unwrap();
    env.call("never-issued-00000000000000000000")
        .await
        .assert_unauthorized("unknown token");
    env.call("expired-token-000000000000000000")
        .await
        .assert_unauthorized("token expired");
    env.call("orphan-token-0000000000000000000")
        .await
        .assert_unauthorized("unknown token");
    env.call("forever-token-000000000000000000")
        .await
        .assert_ok();
}

#[tokio::test]
async fn tokens_bound_to_another_service_are_refused() {
    let env = seed_env(json!({ "auth_methods": ["kong_oauth2"], "display_errors": true })).await;
    let mut bound = token("bound-elsewhere-0000000000000000", "cred-1", now(), 7200);
    bound.service = Some("other-service".into());
    let mut here = token("bound-here-000000000000000000000", "cred-1", now(), 7200);
    here.service = Some("svc".into());
    env.proxy.runtime.tokens.insert_token(&bound).await.unwrap();
    env.proxy.runtime.tokens.insert_token(&here).await.unwrap();
    env.call("bound-elsewhere-0000000000000000")
        .await
        .assert_unauthorized("unknown token");
    env.call("bound-here-000000000000000000000")
        .await
        .assert_ok();
}

#[tokio::test]
async fn scope_rules_apply_to_store_tokens() {
    let env = seed_env(json!({
        "auth_methods": ["kong_oauth2"], "display_errors": true, "scopes_required": ["admin", "email"],
    }))
    .await;
    let mut weak = token("weak-scope-000000000000000000000", "cred-1", now(), 7200);
    weak.scope = Some("profile".into());
    env.proxy.runtime.tokens.insert_token(&weak).await.unwrap();
    env.proxy
        .runtime
        .tokens
        .insert_token(&token(
            "strong-scope-0000000000000000000",
            "cred-1",
            now(),
            7200,
        ))
        .await
        .unwrap();
    env.call("weak-scope-000000000000000000000")
        .await
        .assert_forbidden("required scopes missing");
    env.call("strong-scope-0000000000000000000")
        .await
        .assert_ok();
}

#[tokio::test]
async fn store_outage_is_a_503_even_with_anonymous() {
    // A Redis store nobody listens on: every lookup fails.
    let port = super::support::upstream::closed_port().await.port();
    let store = kingress::tokens::TokenStore::from_url(
        &format!("redis://127.0.0.1:{port}"),
        kingress::metrics::Metrics::new(),
    )
    .await
    .unwrap();
    let runtime = kingress::plugins::Runtime::new(store, Default::default());
    let config = json!({
        "issuer": "http://keycloak.test/realms/x", "auth_methods": ["kong_oauth2"], "anonymous": "anon",
    });
    let plugin = super::plugin(&config);
    let mut t = super::support::proxy::table(Vec::new(), Vec::new());
    add_consumer(&mut t, "anon", Some("anonymous"), None);
    let route = super::support::proxy::route("r", &["/"], "svc");
    let request = http::Request::builder()
        .uri("/")
        .header("authorization", "Bearer some-opaque-token")
        .body(kingress::plugins::empty_body())
        .unwrap();
    let mut exchange = kingress::plugins::Exchange::new(
        request,
        "127.0.0.1:1".parse().unwrap(),
        false,
        &t,
        &route,
        None,
    );
    let result = kingress::plugins::access(&plugin, &mut exchange, &runtime).await;
    match result {
        Err(e @ kingress::plugins::PluginError::Unavailable(_)) => {
            let response = kingress::proxy::ProxyError::Plugin(e).into_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        }
        other => panic!("expected 503, got {other:?}"),
    }
    assert!(
        exchange.authenticated.is_none(),
        "never the anonymous consumer"
    );
}

/// The row's claims exist only when something reads them: claim headers
/// see `client_id` and `sub`, and an empty granted scope is a claim but no
/// `X-Authenticated-Scope`.
#[tokio::test]
async fn claim_headers_read_the_tokens_row() {
    let env = seed_env(json!({
        "auth_methods": ["kong_oauth2"], "display_errors": true,
        "upstream_headers_claims": ["client_id", "sub", "scope"],
        "upstream_headers_names": ["x-client", "x-sub", "x-scope"],
    }))
    .await;
    let mut unscoped = token("no-scope-00000000000000000000000", "cred-1", now(), 7200);
    unscoped.scope = Some(String::new());
    env.proxy
        .runtime
        .tokens
        .insert_token(&unscoped)
        .await
        .unwrap();
    let reply = env.call("no-scope-00000000000000000000000").await;
    reply.assert_ok();
    assert_eq!(reply.upstream_header("x-client"), Some("client-app"));
    assert_eq!(reply.upstream_header("x-sub"), Some("user-42"));
    assert_eq!(reply.upstream_header("x-scope"), Some(""));
    assert_eq!(reply.upstream_header("x-authenticated-scope"), None);
    assert_eq!(
        reply.upstream_header("x-authenticated-userid"),
        Some("user-42")
    );
}
