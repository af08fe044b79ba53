//! Kong's `key-auth` through the real proxy on loopback, following Kong's
//! `spec/03-plugins/09-key-auth/02-access_spec.lua` (named per test):
//! Kong's statuses, `{"message"}` bodies and `WWW-Authenticate`, and the
//! consumer headers the upstream receives.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

use kingress::model::{CredentialType, Table};
use serde_json::{Value, json};
use support::auth::{consumer, credential, get, plugin, start, upstream_header};
use support::oauth2::request;

fn bob(t: &mut Table) {
    let id = consumer(t, "bob");
    credential(t, CredentialType::KeyAuth, &id, json!({"key": "kong"}));
    consumer(t, "anon");
}

async fn with(config: Value) -> (support::upstream::Upstream, support::proxy::TestProxy) {
    start(vec![plugin("key-auth", &config)], bob).await
}

#[tokio::test]
async fn unauthorized_missing_empty_duplicate_and_invalid_keys() {
    let (_up, proxy) = with(json!({})).await;
    // "returns Unauthorized on missing credentials"
    let r = get(&proxy, "/api", &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body, json!({"message": "No API key found in request"}));
    assert_eq!(r.header("www-authenticate"), Some("Key"));
    // "returns Unauthorized on empty key header" / querystring
    let r = get(&proxy, "/api", &[("apikey", "")]).await;
    assert_eq!(r.body, json!({"message": "No API key found in request"}));
    let r = get(&proxy, "/api?apikey=", &[]).await;
    assert_eq!(r.body, json!({"message": "No API key found in request"}));
    // "handles duplicated key in querystring"
    let r = get(&proxy, "/api?apikey=kong&apikey=kong", &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body, json!({"message": "Duplicate API key found"}));
    // "returns 401 Unauthorized on invalid key" (Kong's current message)
    let r = get(&proxy, "/api?apikey=123", &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body, json!({"message": "Unauthorized"}));
    assert_eq!(r.header("www-authenticate"), Some("Key"));
}

#[tokio::test]
async fn realm_in_the_challenge() {
    // "returns WWW-Authenticate header on missing credentials" with realm
    let (_up, proxy) = with(json!({"realm": "test-realm"})).await;
    let r = get(&proxy, "/api", &[]).await;
    assert_eq!(
        r.header("www-authenticate"),
        Some("Key realm=\"test-realm\"")
    );
}

#[tokio::test]
async fn a_valid_key_in_query_or_header_sets_consumer_headers() {
    let (_up, proxy) = with(json!({})).await;
    // "authenticates valid credentials" (querystring, then header), and
    // "upstream headers": client copies never reach the upstream.
    for (path, headers) in [
        ("/api?apikey=kong", vec![("x-consumer-username", "forged")]),
        (
            "/api",
            vec![("apikey", "kong"), ("x-anonymous-consumer", "true")],
        ),
    ] {
        let r = get(&proxy, path, &headers).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(upstream_header(&r, "x-consumer-id"), Some("bob-id"));
        assert_eq!(upstream_header(&r, "x-consumer-username"), Some("bob"));
        assert_eq!(
            upstream_header(&r, "x-consumer-custom-id"),
            Some("bob-custom")
        );
        assert_eq!(
            upstream_header(&r, "x-credential-identifier"),
            Some("bob-id-key-auth-0")
        );
        assert_eq!(upstream_header(&r, "x-anonymous-consumer"), None);
        // Not hidden by default.
        assert!(
            r.body["query"]
                .as_str()
                .unwrap_or_default()
                .contains("apikey=kong")
                || upstream_header(&r, "apikey") == Some("kong")
        );
    }
}

#[tokio::test]
async fn key_names_and_key_in_body() {
    // "key_names" and "key_in_body" cases: a custom name, searched in a
    // form and a JSON body only when asked.
    let (_up, proxy) = with(json!({"key_names": ["api-key", "token"], "key_in_body": true})).await;
    let r = get(&proxy, "/api", &[("token", "kong")]).await;
    assert_eq!(r.status, 200);
    let r = get(&proxy, "/api", &[("apikey", "kong")]).await;
    assert_eq!(r.status, 401);
    let form = ("application/x-www-form-urlencoded", "a=1&api-key=kong");
    let r = request("POST", &proxy.http_url("/api"), &[], Some(form)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["body"], "a=1&api-key=kong");
    let r = request(
        "POST",
        &proxy.http_url("/api"),
        &[],
        Some(("application/json", r#"{"token":"kong"}"#)),
    )
    .await;
    assert_eq!(r.status, 200);
    let (_up, proxy) = with(json!({"key_in_body": false})).await;
    let form = ("application/x-www-form-urlencoded", "apikey=kong");
    let r = request("POST", &proxy.http_url("/api"), &[], Some(form)).await;
    assert_eq!(r.status, 401);
    let (_up, proxy) = with(json!({"key_in_header": false, "key_in_query": true})).await;
    assert_eq!(get(&proxy, "/api", &[("apikey", "kong")]).await.status, 401);
    assert_eq!(get(&proxy, "/api?apikey=kong", &[]).await.status, 200);
    let (_up, proxy) = with(json!({"key_in_query": false})).await;
    assert_eq!(get(&proxy, "/api?apikey=kong", &[]).await.status, 401);
}

#[tokio::test]
async fn hide_credentials_removes_the_key_everywhere() {
    // "config.hide_credentials" for header, querystring and body.
    let (_up, proxy) = with(json!({"hide_credentials": true, "key_in_body": true})).await;
    let r = get(&proxy, "/api?apikey=kong&keep=1", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["query"], "keep=1");
    let r = get(&proxy, "/api", &[("apikey", "kong")]).await;
    assert_eq!(upstream_header(&r, "apikey"), None);
    let form = ("application/x-www-form-urlencoded", "apikey=kong&a=1");
    let r = request("POST", &proxy.http_url("/api"), &[], Some(form)).await;
    assert_eq!(r.body["body"], "a=1");
    let r = request(
        "POST",
        &proxy.http_url("/api"),
        &[],
        Some(("application/json", r#"{"apikey":"kong","a":1}"#)),
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(r.body["body"].as_str().unwrap()).unwrap(),
        json!({"a": 1})
    );
    let (_up, proxy) = with(json!({})).await;
    let r = get(&proxy, "/api", &[("apikey", "kong")]).await;
    assert_eq!(upstream_header(&r, "apikey"), Some("kong"));
}

#[tokio::test]
async fn preflight_and_anonymous() {
    // "config.run_on_preflight"
    let (_up, proxy) = with(json!({"run_on_preflight": false})).await;
    let r = request("OPTIONS", &proxy.http_url("/api"), &[], None).await;
    assert_eq!(r.status, 200);
    let (_up, proxy) = with(json!({})).await;
    let r = request("OPTIONS", &proxy.http_url("/api"), &[], None).await;
    assert_eq!(r.status, 401);
    // "config.anonymous": by username and id; a real key still wins.
    for anon in ["anon", "anon-id"] {
        let (_up, proxy) = with(json!({"anonymous": anon})).await;
        let r = get(&proxy, "/api?apikey=wrong", &[]).await;
        assert_eq!(r.status, 200);
        assert_eq!(upstream_header(&r, "x-consumer-username"), Some("anon"));
        assert_eq!(upstream_header(&r, "x-anonymous-consumer"), Some("true"));
        assert_eq!(upstream_header(&r, "x-credential-identifier"), None);
        let r = get(&proxy, "/api?apikey=kong", &[]).await;
        assert_eq!(upstream_header(&r, "x-consumer-username"), Some("bob"));
        assert_eq!(upstream_header(&r, "x-anonymous-consumer"), None);
    }
    // "errors when anonymous user doesn't exist"
    let (_up, proxy) = with(json!({"anonymous": "ghost"})).await;
    let r = get(&proxy, "/api", &[]).await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.body,
        json!({"message": "anonymous consumer ghost is configured but doesn't exist"})
    );
}

#[tokio::test]
async fn an_expired_key_is_unauthorized() {
    // Kong's key ttl: a credential past its ttl is not found.
    let (_up, proxy) = start(vec![plugin("key-auth", &json!({}))], |t| {
        let id = consumer(t, "old");
        let created = kingress::tokens::unix_now() as i64 - 100;
        let map = json!({"key": "stale", "ttl": "10"});
        let base = kingress::model::CredentialBase {
            id: "old-key".into(),
            consumer_id: id,
            created_at: created,
            tags: vec![],
            source: support::proxy::source("Secret", "old"),
        };
        let c = kingress::model::Credential::parse(
            CredentialType::KeyAuth,
            kingress::model::Fields::new(map.as_object().unwrap(), kingress::model::Origin::Secret),
            base,
        )
        .unwrap();
        t.credentials.insert(c).unwrap();
    })
    .await;
    let r = get(&proxy, "/api?apikey=stale", &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body, json!({"message": "Unauthorized"}));
}

#[tokio::test]
async fn digested_keys_are_found_by_the_presented_key_only() {
    // Keys hashed at rest: the table holds digests; the plain key finds its
    // credential, the digest itself finds nothing.
    let key = kingress::secret::DigestKey::from_bytes([9; 32]);
    let sealer = kingress::secret::Sealer::new().digest_api_keys(key.clone());
    let up = support::upstream::Upstream::start("api").await;
    let mut r = support::proxy::route("api", &["/api"], "api");
    r.plugins = vec![plugin("key-auth", &json!({}))];
    let mut t = support::proxy::table(vec![r], vec![support::proxy::service("api", &[up.addr])]);
    bob(&mut t);
    let mut sealer = sealer;
    sealer.seal(&mut t);
    let settings = support::proxy::Settings {
        api_keys: Some(key.clone()),
        ..Default::default()
    };
    let proxy = support::proxy::TestProxy::start_with(t, settings).await;
    let r = get(&proxy, "/api?apikey=kong", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let digest = kingress::secret::api_key_digest(&key, "kong");
    let r = get(&proxy, &format!("/api?apikey={digest}"), &[]).await;
    assert_eq!(r.status, 401);
}

/// `--hash-api-keys` on the running binary: keys from a manifest's Secret
/// are kept only as digests, so the Admin API cannot show them, while the
/// key still authenticates and a wrong one does not.
#[tokio::test]
async fn hashed_api_keys_in_the_binary() {
    let up = support::upstream::Upstream::start("api").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kong.yml"),
        format!(
            r#"_format_version: "3.0"
services:
  - name: api
    url: http://{addr}
    routes:
      - name: keyed
        paths: [/keyed]
        plugins:
          - name: key-auth
consumers:
  - username: jane
    keyauth_credentials:
      - key: jane-secret-key
"#,
            addr = up.addr
        ),
    )
    .unwrap();
    let k = support::standalone::Standalone::start(dir.path(), &["--hash-api-keys"]).await;
    let call = |key: &'static str| {
        let url = format!("http://{}/keyed", k.http);
        async move {
            support::client::http1()
                .get(url)
                .header("apikey", key)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(call("jane-secret-key").await, 200);
    assert_eq!(call("jane-secret-kez").await, 401);
    let (status, body) = k.get("/key-auths").await;
    assert_eq!(status, 200);
    assert!(
        !body.to_string().contains("jane-secret-key"),
        "the Admin API printed a key kept as a digest: {body}"
    );
}
