//! Who the request is after a verification (Kong's openid-connect docs,
//! "Consumer mapping", "Authenticated groups", `credential_claim`), the
//! headers both sides get, preflights, and the introspection request's own
//! fields, through the real proxy.

use super::support::idp::{TestKey, now};
use super::{Env, add_consumer, other_plugin, send};
use base64::Engine;
use kingress::model::{Credential, Table};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn config(extra: Value) -> Value {
    let mut config = json!({ "auth_methods": ["bearer"], "display_errors": true });
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    config
}

async fn bearer_env(extra: Value, edit: impl FnOnce(&mut Table)) -> (Env, TestKey) {
    let env = Env::start_with(config(extra), edit).await;
    let key = TestKey::p256("k1");
    env.idp.set_keys(&[&key]);
    (env, key)
}

fn consumers(t: &mut Table) {
    add_consumer(
        t,
        "4e8f1c2a-0000-4000-8000-000000000001",
        Some("Alice"),
        Some("A-1"),
    );
    add_consumer(t, "4e8f1c2a-0000-4000-8000-000000000002", Some("bob"), None);
}

/// Kong's `consumer_by`: `id`, `username` (optionally case-insensitive)
/// and `custom_id`, tried in the configured order; the credential is the
/// `credential_claim`.
#[tokio::test]
async fn consumer_by_each_field_and_credential_claim() {
    let (env, key) = bearer_env(
        json!({ "consumer_claim": ["uid"], "consumer_by": ["id"], "credential_claim": ["client", "id"] }),
        consumers,
    )
    .await;
    let token = key.sign(&env.idp.claims(json!({
        "uid": "4e8f1c2a-0000-4000-8000-000000000002", "client": { "id": "app-9" },
    })));
    let reply = env.call(&token).await;
    reply.assert_ok();
    assert_eq!(reply.upstream_header("x-consumer-username"), Some("bob"));
    assert_eq!(
        reply.upstream_header("x-credential-identifier"),
        Some("app-9")
    );
    // A username is not an id.
    let by_name = key.sign(&env.idp.claims(json!({ "uid": "bob" })));
    env.call(&by_name)
        .await
        .assert_forbidden("consumer not found");

    // Case-sensitive by default; `by_username_ignore_case` folds case.
    for (ignore_case, expected) in [(false, StatusCode::FORBIDDEN), (true, StatusCode::OK)] {
        let (env, key) = bearer_env(
            json!({
                "consumer_claim": ["preferred_username"], "consumer_by": ["username", "custom_id"],
                "by_username_ignore_case": ignore_case,
            }),
            consumers,
        )
        .await;
        let token = key.sign(&env.idp.claims(json!({ "preferred_username": "alice" })));
        let reply = env.call(&token).await;
        assert_eq!(reply.status, expected, "{:?}", reply.body);
        if expected == StatusCode::OK {
            assert_eq!(reply.upstream_header("x-consumer-custom-id"), Some("A-1"));
        }
    }
}

/// Without a consumer mapping, the virtual credential (`sub` by default)
/// still reaches the upstream, and a client's copy never does.
#[tokio::test]
async fn virtual_credential_without_a_consumer() {
    let (env, key) = bearer_env(json!({}), |_| {}).await;
    let token = key.sign(&env.idp.claims(json!({})));
    let reply = send(
        env.get("/")
            .bearer_auth(&token)
            .header("x-credential-identifier", "forged"),
    )
    .await;
    reply.assert_ok();
    assert_eq!(
        reply.upstream_header("x-credential-identifier"),
        Some("user-1")
    );
    assert_eq!(reply.upstream_header("x-consumer-id"), None);
}

fn acl(extra: Value) -> kingress::model::PluginInstance {
    let mut config = json!({ "allow": ["admins"] });
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    other_plugin("acl", &config)
}

/// Kong's acl with openid-connect's `authenticated_groups_claim`: the
/// IdP's groups decide, and the upstream gets them as
/// `X-Authenticated-Groups` (a client's copy is dropped).
#[tokio::test]
async fn authenticated_groups_reach_acl() {
    let oidc = config(json!({ "authenticated_groups_claim": ["realm_access", "roles"] }));
    let env = Env::start_with_plugins(oidc, vec![acl(json!({}))], |_| {}).await;
    let key = TestKey::p256("k1");
    env.idp.set_keys(&[&key]);
    let admin = key.sign(
        &env.idp
            .claims(json!({ "realm_access": { "roles": ["users", "admins"] } })),
    );
    let reply = send(
        env.get("/")
            .bearer_auth(&admin)
            .header("x-authenticated-groups", "forged"),
    )
    .await;
    reply.assert_ok();
    assert_eq!(
        reply.upstream_header("x-authenticated-groups"),
        Some("users, admins")
    );
    let user = key.sign(
        &env.idp
            .claims(json!({ "realm_access": { "roles": "users" } })),
    );
    let reply = env.call(&user).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{:?}", reply.body);
    assert_eq!(reply.body["message"], "You cannot consume this service");
    // No groups claim at all: nothing vouched for, so no access.
    let none = key.sign(&env.idp.claims(json!({})));
    assert_ne!(env.call(&none).await.status, StatusCode::OK);
}

/// With a mapped consumer (a credential), acl reads the consumer's own
/// groups unless `always_use_authenticated_groups`.
#[tokio::test]
async fn mapped_consumers_use_their_own_groups_unless_told_otherwise() {
    let oidc = config(json!({
        "consumer_claim": ["preferred_username"],
        "authenticated_groups_claim": ["groups"],
    }));
    let edit = |t: &mut Table| {
        consumers(t);
        let base = kingress::model::CredentialBase {
            id: "acl-1".into(),
            consumer_id: "4e8f1c2a-0000-4000-8000-000000000002".into(),
            created_at: 0,
            tags: vec![],
            source: super::support::proxy::source("Secret", "acl-1"),
        };
        let group = Credential::Acl(kingress::model::AclCredential {
            base,
            group: "staff".into(),
        });
        t.credentials.insert(group).unwrap();
    };
    let claims = json!({ "preferred_username": "bob", "groups": ["admins"] });
    for (always, expected, header) in [
        (false, StatusCode::FORBIDDEN, None),
        (true, StatusCode::OK, Some("admins")),
    ] {
        let more = vec![acl(json!({ "always_use_authenticated_groups": always }))];
        let env = Env::start_with_plugins(oidc.clone(), more, edit).await;
        let key = TestKey::p256("k1");
        env.idp.set_keys(&[&key]);
        let reply = env.call(&key.sign(&env.idp.claims(claims.clone()))).await;
        assert_eq!(reply.status, expected, "{:?}", reply.body);
        assert_eq!(reply.upstream_header("x-authenticated-groups"), header);
    }
}

/// `downstream_*` headers reach the client; `upstream_headers` records
/// read nested claims.
#[tokio::test]
async fn downstream_and_nested_claim_headers() {
    let (env, key) = bearer_env(
        json!({
            "downstream_access_token_header": "x-access-token",
            "downstream_headers_claims": ["sub"],
            "downstream_headers_names": ["x-user"],
            "upstream_headers": [{ "header": "x-tenant", "path": ["org", "tenant"] }],
        }),
        |_| {},
    )
    .await;
    let token = key.sign(&env.idp.claims(json!({ "org": { "tenant": "t-42" } })));
    let response = env.get("/").bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    assert_eq!(header("x-access-token").as_deref(), Some(token.as_str()));
    assert_eq!(header("x-user").as_deref(), Some("user-1"));
    let echo: Value = response.json().await.unwrap();
    assert_eq!(echo["headers"]["x-tenant"], "t-42");
    assert!(echo["headers"].get("x-user").is_none(), "downstream only");
}

/// Kong's `run_on_preflight: false`: an `OPTIONS` passes without a token;
/// by default it is authenticated like any request.
#[tokio::test]
async fn preflights_pass_only_when_told() {
    for (run, expected) in [(true, StatusCode::UNAUTHORIZED), (false, StatusCode::OK)] {
        let (env, _key) = bearer_env(json!({ "run_on_preflight": run }), |_| {}).await;
        let options = super::support::client::http1()
            .request(reqwest::Method::OPTIONS, env.proxy.http_url("/"))
            .header("origin", "https://app.example")
            .header("access-control-request-method", "GET");
        assert_eq!(
            send(options).await.status,
            expected,
            "run_on_preflight {run}"
        );
    }
}

/// `bearer_token_header_name`: that header only.
#[tokio::test]
async fn bearer_token_header_name_is_the_only_header() {
    let (env, key) = bearer_env(json!({ "bearer_token_header_name": "X-Api-Token" }), |_| {}).await;
    let token = key.sign(&env.idp.claims(json!({})));
    send(env.get("/").header("x-api-token", &token))
        .await
        .assert_ok();
    send(
        env.get("/")
            .header("x-api-token", format!("Bearer {token}")),
    )
    .await
    .assert_ok();
    env.call(&token)
        .await
        .assert_unauthorized("no access token");
}

/// `claims_forbidden`: a token carrying one is not accepted.
#[tokio::test]
async fn forbidden_claims_are_refused() {
    let (env, key) = bearer_env(json!({ "claims_forbidden": ["act"] }), |_| {}).await;
    let plain = key.sign(&env.idp.claims(json!({})));
    env.call(&plain).await.assert_ok();
    let delegated = key.sign(&env.idp.claims(json!({ "act": { "sub": "svc" } })));
    env.call(&delegated)
        .await
        .assert_unauthorized("token carries a forbidden claim");
}

/// The introspection request carries `introspection_token_param_name`,
/// `introspection_hint`, `introspection_post_args_*` and
/// `introspection_headers_*`, authenticated per
/// `introspection_endpoint_auth_method` over `client_auth`.
#[tokio::test]
async fn introspection_request_fields() {
    const SECRET: &str = "introspection-client-secret-0123";
    let env = Env::start(json!({
        "auth_methods": ["introspection"], "display_errors": true,
        "client_id": "kong", "client_secret": SECRET,
        "client_auth": "client_secret_basic",
        "introspection_endpoint_auth_method": "client_secret_post",
        "introspection_token_param_name": "access_token",
        "introspection_hint": "urn:example:opaque",
        "introspection_post_args_names": ["resource"],
        "introspection_post_args_values": ["https://api.example"],
        "introspection_headers_names": ["x-tenant"],
        "introspection_headers_values": ["t-1"],
        "upstream_introspection_header": "x-introspection",
        "downstream_introspection_header": "x-introspection",
    }))
    .await;
    env.idp.register_secret_client("kong", SECRET);
    env.idp.set_token_param_name("access_token");
    let result = json!({ "active": true, "sub": "user-7", "exp": now() + 300 });
    env.idp.add_token("opaque-1", result.clone());
    let response = env.get("/").bearer_auth("opaque-1").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let encoded = base64::engine::general_purpose::STANDARD.encode(result.to_string());
    assert_eq!(
        response.headers()["x-introspection"].to_str().unwrap(),
        encoded
    );
    assert_eq!(
        env.idp.last_client_auth().as_deref(),
        Some("client_secret_post")
    );
    let seen = env.idp.last_introspection().unwrap();
    assert_eq!(seen.form["access_token"], "opaque-1");
    assert!(!seen.form.contains_key("token"));
    assert_eq!(seen.form["token_type_hint"], "urn:example:opaque");
    assert_eq!(seen.form["resource"], "https://api.example");
    assert_eq!(seen.headers["x-tenant"], "t-1");
}

/// A `deck dump` of a Kong 3.15 plugin (all nine methods, every field at
/// its default) serves: a JWT is verified, the token is hidden and re-sent
/// as Kong's defaults say.
#[tokio::test]
async fn a_deck_dump_config_verifies_tokens() {
    let path = format!(
        "{}/tests/fixtures/openid_connect/deck_dump_3.15.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut dump: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    dump.as_object_mut().unwrap().remove("issuer");
    let env = Env::start(dump).await;
    let key = TestKey::p256("k1");
    env.idp.set_keys(&[&key]);
    let token = key.sign(&env.idp.claims(json!({})));
    let reply = send(env.get("/").header("x-access-token", &token)).await;
    reply.assert_ok();
    assert_eq!(reply.upstream_header("x-access-token"), None, "hidden");
    let bearer = format!("Bearer {token}");
    assert_eq!(
        reply.upstream_header("authorization"),
        Some(bearer.as_str())
    );
    // An opaque token goes on to kong_oauth2 and introspection, which this
    // provider refuses (no client registered): never let through.
    let reply = env.call("not-a-known-token").await;
    assert_ne!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert!(
        env.idp.counts().introspection > 0,
        "introspection was tried"
    );
}
