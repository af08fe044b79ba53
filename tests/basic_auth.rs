//! Kong's `basic-auth` through the real proxy on loopback, following
//! Kong's `spec/03-plugins/10-basic-auth/03-access_spec.lua` (named per
//! test), plus Kong's logical OR of plugins with `anonymous`.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

use base64::Engine;
use kingress::model::{CredentialType, Table};
use serde_json::{Value, json};
use sha1::Digest;
use support::auth::{consumer, credential, get, plugin, start, upstream_header};

fn basic(user_password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(user_password)
    )
}

fn users(t: &mut Table) {
    let bob = consumer(t, "bob");
    credential(
        t,
        CredentialType::BasicAuth,
        &bob,
        json!({"username": "bob", "password": "kong"}),
    );
    // Kong's stored form: sha1(password .. consumer id), from a
    // `_transform: false` document.
    let kong = consumer(t, "kongstored");
    let sha = hex::encode(sha1::Sha1::digest(format!("secret{kong}").as_bytes()));
    let map = json!({"username": "stored", "password": sha});
    let base = kingress::model::CredentialBase {
        id: "stored-cred".into(),
        consumer_id: kong,
        ..Default::default()
    };
    let c = kingress::model::Credential::parse(
        CredentialType::BasicAuth,
        kingress::model::Fields::new(map.as_object().unwrap(), kingress::model::Origin::Entity)
            .stored_form(true),
        base,
    )
    .unwrap();
    t.credentials.insert(c).unwrap();
    consumer(t, "anon");
}

async fn with(config: Value) -> (support::upstream::Upstream, support::proxy::TestProxy) {
    start(vec![plugin("basic-auth", &config)], users).await
}

#[tokio::test]
async fn unauthorized_answers() {
    let (_up, proxy) = with(json!({})).await;
    // "returns Unauthorized on missing credentials"
    let r = get(&proxy, "/api", &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body, json!({"message": "Unauthorized"}));
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"service\"")
    );
    // "returns 401 Unauthorized on invalid credentials in Authorization"
    for value in [
        "foobar",
        "Basic foobar",
        &basic("bob:wrong"),
        &basic("nobody:kong"),
        "Bearer x",
    ] {
        let r = get(&proxy, "/api", &[("authorization", value)]).await;
        assert_eq!(r.status, 401, "{value}");
        assert_eq!(r.body, json!({"message": "Unauthorized"}));
    }
    let (_up, proxy) = with(json!({"realm": "test-realm"})).await;
    let r = get(&proxy, "/api", &[]).await;
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"test-realm\"")
    );
}

#[tokio::test]
async fn valid_credentials_in_either_header() {
    let (_up, proxy) = with(json!({})).await;
    // "authenticates valid credentials in Authorization" / "Proxy-Authorization"
    for name in ["authorization", "proxy-authorization"] {
        let r = get(&proxy, "/api", &[(name, &basic("bob:kong"))]).await;
        assert_eq!(r.status, 200, "{name}: {}", r.body);
        assert_eq!(upstream_header(&r, "x-consumer-username"), Some("bob"));
        assert_eq!(upstream_header(&r, "x-consumer-id"), Some("bob-id"));
        assert_eq!(upstream_header(&r, "x-credential-identifier"), Some("bob"));
        // "does not hide credentials by default" (the proxy never forwards
        // Proxy-Authorization, which is meant for it).
        if name == "authorization" {
            assert!(upstream_header(&r, name).is_some());
        }
    }
    // A wrong Proxy-Authorization falls back to Authorization.
    let r = get(
        &proxy,
        "/api",
        &[
            ("proxy-authorization", &basic("nobody:x")),
            ("authorization", &basic("bob:kong")),
        ],
    )
    .await;
    assert_eq!(r.status, 200);
    // "authenticates with a password containing ':'" analogue: Kong's stored
    // SHA-1 form verifies; the hash itself is not a password.
    let r = get(
        &proxy,
        "/api",
        &[("authorization", &basic("stored:secret"))],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        upstream_header(&r, "x-consumer-username"),
        Some("kongstored")
    );
    let r = get(&proxy, "/api", &[("authorization", &basic("stored:other"))]).await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn hide_credentials() {
    // "config.hide_credentials"
    let (_up, proxy) = with(json!({"hide_credentials": true})).await;
    let r = get(&proxy, "/api", &[("authorization", &basic("bob:kong"))]).await;
    assert_eq!(r.status, 200);
    assert_eq!(upstream_header(&r, "authorization"), None);
}

#[tokio::test]
async fn anonymous_and_the_logical_or_with_key_auth() {
    // "config.anonymous": failures continue as the anonymous consumer.
    let (_up, proxy) = with(json!({"anonymous": "anon"})).await;
    let r = get(&proxy, "/api", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(upstream_header(&r, "x-consumer-username"), Some("anon"));
    assert_eq!(upstream_header(&r, "x-anonymous-consumer"), Some("true"));

    // Kong's "multiple auth without anonymous, logical AND" and "with
    // anonymous, logical OR" (spec/03-plugins/10-basic-auth, 4th describe).
    let both = |anon: Option<&str>| {
        let config = anon.map_or(json!({}), |a| json!({"anonymous": a}));
        vec![plugin("key-auth", &config), plugin("basic-auth", &config)]
    };
    let fill = |t: &mut Table| {
        users(t);
        let alice = consumer(t, "alice");
        credential(
            t,
            CredentialType::KeyAuth,
            &alice,
            json!({"key": "alice-key"}),
        );
    };
    let (_up, proxy) = start(both(Some("anon")), fill).await;
    let r = get(&proxy, "/api?apikey=alice-key", &[]).await;
    assert_eq!(upstream_header(&r, "x-consumer-username"), Some("alice"));
    let r = get(&proxy, "/api", &[("authorization", &basic("bob:kong"))]).await;
    assert_eq!(upstream_header(&r, "x-consumer-username"), Some("bob"));
    let r = get(&proxy, "/api", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(upstream_header(&r, "x-consumer-username"), Some("anon"));
    assert_eq!(upstream_header(&r, "x-anonymous-consumer"), Some("true"));
    // Logical AND: both are required.
    let (_up, proxy) = start(both(None), fill).await;
    let r = get(&proxy, "/api?apikey=alice-key", &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"service\"")
    );
    let r = get(
        &proxy,
        "/api?apikey=alice-key",
        &[("authorization", &basic("bob:kong"))],
    )
    .await;
    assert_eq!(r.status, 200);
    // The last plugin to authenticate names the consumer, as in Kong.
    assert_eq!(upstream_header(&r, "x-consumer-username"), Some("bob"));
}
