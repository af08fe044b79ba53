//! Session cookies (attributes, tampering, timeouts, chunks), refreshes,
//! the `refresh_token` method, and Redis storage shared by two proxies.

use super::support::browser::{Browser, Page};
use super::support::idp::param;
use super::support::proxy::TestProxy;
use super::support::redis_server::RedisServer;
use super::support::upstream::Upstream;
use super::{Env, config, idp, logged_in, plugin_table, upstream_saw};
use serde_json::json;
use std::time::Duration;

/// Kong 3.x session cookie defaults: `session`, Path=/, SameSite=Lax,
/// HttpOnly, Secure only over HTTPS unless configured; `Max-Age` is the
/// time left (the idling timeout, 900 s, comes first).
#[tokio::test]
async fn session_cookie_attributes() {
    let env = Env::start(json!({})).await;
    let (browser, _) = logged_in(&env, "/").await;
    let line = &browser.jar["session"].line;
    assert!(line.starts_with("session="), "{line}");
    assert!(
        line.contains("; Path=/; Max-Age=900; SameSite=Lax; HttpOnly"),
        "{line}"
    );
    assert!(!line.contains("Secure"), "{line}");

    let env = Env::start(json!({
        "session_cookie_name": "sid", "session_cookie_same_site": "Strict",
        "session_cookie_secure": true, "session_cookie_path": "/app",
        "session_cookie_domain": "example.test",
    }))
    .await;
    let (browser, _) = logged_in(&env, "/app").await;
    let line = &browser.jar["sid"].line;
    assert!(line.contains("; Path=/app; Domain=example.test"), "{line}");
    assert!(
        line.contains("; SameSite=Strict; Secure; HttpOnly"),
        "{line}"
    );

    // SameSite=None is always Secure (browsers drop it otherwise).
    let env = Env::start(json!({ "session_cookie_same_site": "None" })).await;
    let (browser, _) = logged_in(&env, "/").await;
    assert!(
        browser.jar["session"]
            .line
            .contains("; SameSite=None; Secure")
    );
}

/// Any change to the sealed cookie makes it no session at all: the
/// request is sent to log in again, never proxied.
#[tokio::test]
async fn a_tampered_cookie_is_no_session() {
    let env = Env::start(json!({})).await;
    let (browser, _) = logged_in(&env, "/").await;
    let value = browser.jar["session"].value.clone();
    let client = super::support::client::http1();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
    let requests_before = env.upstream.requests();
    for i in 0..value.len() {
        let mut bytes = value.clone().into_bytes();
        // Another character of the cookie's own alphabet at position i.
        let at = alphabet.iter().position(|b| *b == bytes[i]).unwrap();
        bytes[i] = alphabet[(at + 1) % alphabet.len()];
        let cookie = format!("session={}", String::from_utf8(bytes).unwrap());
        let response = client
            .get(env.url("/"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 302, "byte {i} flipped");
    }
    assert_eq!(env.upstream.requests(), requests_before);
    // Truncated and extended values too.
    for bad in [&value[..value.len() - 1], &format!("{value}A")] {
        let response = client
            .get(env.url("/"))
            .header("cookie", format!("session={bad}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 302);
    }
}

async fn sleep_secs(s: f64) {
    tokio::time::sleep(Duration::from_secs_f64(s)).await;
}

/// `session_idling_timeout`: unused for that long, the session is over
/// (and its cookie expired); used, it is touched and lives on. (Times are
/// whole seconds, as in Kong: the sleeps leave a second of margin.)
#[tokio::test]
async fn idle_sessions_expire() {
    let env = Env::start(json!({ "session_idling_timeout": 3 })).await;
    let (mut browser, _) = logged_in(&env, "/").await;
    let stale = browser.jar.clone();
    sleep_secs(1.5).await;
    upstream_saw(&browser.get(&env.url("/")).await);
    sleep_secs(1.5).await;
    upstream_saw(&browser.get(&env.url("/")).await);
    sleep_secs(0.6).await;
    // The untouched copy has been idle for over 3 s.
    let mut old = Browser::new();
    old.jar = stale;
    let page = old.get(&env.url("/")).await;
    assert_eq!(page.status, 302);
    assert!(
        page.set_cookies()
            .iter()
            .any(|c| c.starts_with("session=;") && c.contains("Max-Age=0"))
    );
}

/// `session_rolling_timeout`: a session is renewed once three quarters
/// of it are gone (before that, using it writes no cookie), and a copy
/// that was not renewed expires; `session_absolute_timeout` ends it
/// however it is used (renewals never extend it: see the unit tests).
#[tokio::test]
async fn rolling_and_absolute_timeouts() {
    let env = Env::start(json!({
        "session_idling_timeout": 0, "session_rolling_timeout": 8,
        "session_absolute_timeout": 0,
    }))
    .await;
    let (mut browser, _) = logged_in(&env, "/").await;
    let stale = browser.jar.clone();
    sleep_secs(1.1).await;
    let early = browser.get(&env.url("/")).await;
    upstream_saw(&early);
    assert!(early.set_cookies().is_empty(), "{:?}", early.set_cookies());
    sleep_secs(5.2).await;
    let renewed = browser.get(&env.url("/")).await;
    upstream_saw(&renewed);
    assert!(
        renewed
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("session=") && !c.contains("Max-Age=0"))
    );
    sleep_secs(2.2).await;
    upstream_saw(&browser.get(&env.url("/")).await);
    let mut old = Browser::new();
    old.jar = stale;
    assert_eq!(old.get(&env.url("/")).await.status, 302);

    let env = Env::start(json!({
        "session_idling_timeout": 0, "session_rolling_timeout": 0,
        "session_absolute_timeout": 2,
    }))
    .await;
    let (mut browser, _) = logged_in(&env, "/").await;
    sleep_secs(0.5).await;
    upstream_saw(&browser.get(&env.url("/")).await);
    sleep_secs(2.1).await;
    assert_eq!(browser.get(&env.url("/")).await.status, 302, "absolute end");
}

/// A session too large for one cookie is split over `session`,
/// `session_2`… and read back whole; a smaller one later expires the
/// chunks it no longer needs.
#[tokio::test]
async fn chunked_cookie_round_trip() {
    let env = Env::start(json!({})).await;
    env.idp.set_login_claims(super::big_claims());
    let (mut browser, page) = logged_in(&env, "/").await;
    upstream_saw(&page);
    assert!(
        browser.jar.contains_key("session_2"),
        "{:?}",
        browser.jar.keys()
    );
    for (name, cookie) in &browser.jar {
        assert!(cookie.line.len() < 4096, "{name}: {}", cookie.line.len());
    }
    let seen = upstream_saw(&browser.get(&env.url("/")).await);
    assert_eq!(seen["headers"]["x-user"], "alice");

    // A new, small login over the big one drops the extra chunks.
    env.idp.set_login_claims(json!({}));
    let mut fresh = Browser::new();
    fresh.jar = browser.jar.clone();
    fresh.jar.remove("session");
    let first = fresh.get(&env.url("/")).await;
    let page = fresh.finish_login(first.location().unwrap()).await;
    upstream_saw(&page);
    assert!(
        page.set_cookies()
            .iter()
            .any(|c| c.starts_with("session_2=;") && c.contains("Max-Age=0")),
        "{:?}",
        page.set_cookies()
    );
    assert!(!fresh.jar.contains_key("session_2"));
}

/// `refresh_tokens` (default on): an access token about to expire is
/// refreshed with the session's refresh token, once for concurrent
/// requests of the session, and the upstream gets the new one.
#[tokio::test]
async fn expiring_access_tokens_are_refreshed_once() {
    let env = Env::start(json!({})).await;
    env.idp.set_token_lifetime(4);
    let (browser, page) = logged_in(&env, "/").await;
    let first = upstream_saw(&page)["headers"]["authorization"].clone();
    let cookie = browser.cookie_header();
    let client = super::support::client::http1();
    // Used once before the refresh: the session's headers, kept with the
    // opened session, must not outlive its tokens.
    let again = client
        .get(env.url("/"))
        .header("cookie", cookie.clone())
        .send()
        .await
        .unwrap();
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(again["headers"]["authorization"], first);
    sleep_secs(2.2).await;
    let requests = (0..5).map(|_| {
        client
            .get(env.url("/"))
            .header("cookie", cookie.clone())
            .send()
    });
    let mut seen = Vec::new();
    for response in futures::future::join_all(requests).await {
        let response = response.unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        seen.push(body["headers"]["authorization"].clone());
    }
    let refreshes = env
        .idp
        .token_requests()
        .iter()
        .filter(|r| param(r, "grant_type") == Some("refresh_token"))
        .count();
    assert_eq!(refreshes, 1, "single flight");
    assert!(
        seen.iter().all(|s| *s == seen[0] && *s != first),
        "{seen:?}"
    );
}

/// A refresh the provider refuses ends the session: its cookie is
/// expired and the browser is sent to log in again; a provider outage
/// keeps a still-valid session going.
#[tokio::test]
async fn a_refused_refresh_ends_the_session() {
    let env = Env::start(json!({})).await;
    env.idp.set_token_lifetime(4);
    let (mut browser, _) = logged_in(&env, "/").await;
    env.idp.force_token_status(Some(503));
    sleep_secs(2.2).await;
    upstream_saw(&browser.get(&env.url("/")).await);
    env.idp.force_token_status(Some(400));
    let page = browser.get(&env.url("/")).await;
    assert_eq!(page.status, 302, "{page:?}");
    assert!(!browser.jar.contains_key("session"));
}

/// The `refresh_token` method (Kong's how-to: header `Refresh-Token`):
/// the presented refresh token is exchanged and the upstream gets the
/// new access token.
#[tokio::test]
async fn refresh_token_method() {
    let env = Env::start(json!({
        "auth_methods": ["refresh_token"], "refresh_token_param_type": ["header"],
        "refresh_token_param_name": "refresh_token",
    }))
    .await;
    env.idp
        .add_user("alex", "doe", json!({ "preferred_username": "alex" }));
    let tokens = super::password_tokens(&env, "alex", "doe").await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let mut browser = Browser::new();
    let request = browser
        .request(reqwest::Method::GET, &env.url("/"))
        .header("refresh-token", refresh);
    let page = browser.send(request).await;
    let seen = upstream_saw(&page);
    assert_eq!(seen["headers"]["x-user"], "alex");
    let bearer = seen["headers"]["authorization"].as_str().unwrap();
    assert_ne!(
        bearer,
        format!("Bearer {}", tokens["access_token"].as_str().unwrap())
    );
    assert!(
        !browser.jar.contains_key("session"),
        "no session method, no cookie"
    );

    let request = browser
        .request(reqwest::Method::GET, &env.url("/"))
        .header("refresh-token", "not-a-refresh-token");
    let page = browser.send(request).await;
    super::assert_unauthorized(&page, "the identity provider refused the grant");
}

fn redis_config(idp: &super::support::idp::Idp, redis: &RedisServer) -> serde_json::Value {
    let port: u16 = redis
        .url()
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .parse()
        .unwrap();
    config(
        idp,
        json!({
            "session_storage": "redis",
            "redis": { "host": "127.0.0.1", "port": port, "prefix": "t1:" },
            "logout_uri_suffix": "/logout",
        }),
    )
}

async fn keys(redis: &RedisServer) -> Vec<String> {
    let mut conn = redis.raw().await;
    redis::cmd("KEYS")
        .arg("t1:kingress:oidc:session:*")
        .query_async(&mut conn)
        .await
        .unwrap()
}

/// `session_storage: redis`: the cookie carries only a sealed id; two
/// proxies with the same secret and Redis share the session, and a logout
/// through one deletes it for both.
#[tokio::test]
async fn redis_sessions_across_two_instances() {
    let redis = RedisServer::start();
    let idp = idp().await;
    let upstream = Upstream::start("echo").await;
    let config = redis_config(&idp, &redis);
    let a = TestProxy::start(plugin_table(&config, &upstream)).await;
    let b = TestProxy::start(plugin_table(&config, &upstream)).await;
    let mut browser = Browser::new();
    let page: Page = browser.login(&a.http_url("/")).await;
    upstream_saw(&page);
    assert!(browser.jar["session"].value.len() < 300, "only an id");
    assert_eq!(keys(&redis).await.len(), 1);
    let before = idp.counts();
    let seen = upstream_saw(&browser.get(&b.http_url("/")).await);
    assert_eq!(seen["headers"]["x-user"], "alice");
    assert_eq!(idp.counts(), before);

    let stale = browser.jar.clone();
    let request = browser.request(reqwest::Method::POST, &b.http_url("/logout"));
    let out = browser.send(request).await;
    assert!(out.status == 200 || out.status == 302, "{out:?}");
    assert!(
        keys(&redis).await.is_empty(),
        "the server-side session is gone"
    );
    let mut old = Browser::new();
    old.jar = stale;
    assert_eq!(
        old.get(&a.http_url("/")).await.status,
        302,
        "revoked everywhere"
    );
}
