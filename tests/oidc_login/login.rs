//! The authorization code flow: redirect, callback, attacks, actions.

use super::support::browser::Browser;
use super::support::idp::{param, s256};
use super::{Env, assert_unauthorized, config, idp, logged_in, query, upstream_saw};
use serde_json::json;

/// Kong: an unauthenticated request is sent to the authorization endpoint
/// with code, client, redirect_uri (the request URL without its query),
/// scope, state, nonce and PKCE S256; the state lives in a cookie.
#[tokio::test]
async fn redirect_carries_state_nonce_and_pkce() {
    let env = Env::start(json!({})).await;
    let mut browser = Browser::new();
    let first = browser.get(&env.url("/app/page?x=1")).await;
    assert_eq!(first.status, 302);
    let location = first.location().unwrap();
    assert!(
        location.starts_with(&env.idp.authorization_url()),
        "{location}"
    );
    let q = query(location);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "kong");
    assert_eq!(q["redirect_uri"], env.url("/app/page"));
    assert_eq!(q["scope"], "openid");
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["state"].len() >= 43 && q["nonce"].len() >= 43);
    assert_ne!(q["state"], q["nonce"]);
    assert!(!q.contains_key("response_mode"));
    // The authorization cookie: Kong's name and defaults (no SameSite).
    let cookie = &browser.jar["authorization"];
    assert!(cookie.line.contains("; Path=/"), "{}", cookie.line);
    assert!(cookie.line.contains("; Max-Age=600"), "{}", cookie.line);
    assert!(cookie.line.contains("HttpOnly") && !cookie.line.contains("SameSite"));
    assert!(
        !cookie.line.contains("Secure"),
        "plain HTTP: {}",
        cookie.line
    );
    assert!(!cookie.value.contains(&q["state"]), "the state is sealed");
    assert_eq!(first.headers["cache-control"], "no-store");

    // The provider's PKCE check passes with the verifier the proxy kept.
    let page = browser.finish_login(location).await;
    upstream_saw(&page);
    let token_request = &env.idp.token_requests()[0];
    assert_eq!(
        param(token_request, "grant_type"),
        Some("authorization_code")
    );
    let verifier = param(token_request, "code_verifier").unwrap();
    assert_eq!(s256(verifier), q["code_challenge"]);
    assert_eq!(
        param(token_request, "redirect_uri"),
        Some(q["redirect_uri"].as_str())
    );
    assert_eq!(
        env.idp.last_client_auth().as_deref(),
        Some("client_secret_post")
    );
}

/// Kong's default `login_action: upstream`: the callback request goes
/// upstream with the user's token and claims, without code and state;
/// later requests ride on the session, without the provider.
#[tokio::test]
async fn callback_proxies_with_claims_then_the_session_is_used() {
    let env = Env::start(json!({})).await;
    let (mut browser, page) = logged_in(&env, "/app/page?x=1").await;
    let seen = upstream_saw(&page);
    assert_eq!(seen["path"], "/app/page");
    assert_eq!(seen["query"], serde_json::Value::Null, "{seen}");
    assert_eq!(seen["headers"]["x-user"], "alice");
    let bearer = seen["headers"]["authorization"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(bearer.starts_with("Bearer ey"), "{bearer}");
    assert!(browser.jar.contains_key("session"));
    assert!(
        !browser.jar.contains_key("authorization"),
        "expired after use"
    );

    let before = env.idp.counts();
    let again = browser.get(&env.url("/other")).await;
    let seen = upstream_saw(&again);
    assert_eq!(seen["headers"]["authorization"], bearer.as_str());
    assert_eq!(seen["headers"]["x-user"], "alice");
    assert_eq!(
        env.idp.counts(),
        before,
        "the session needs no provider call"
    );
}

/// `preserve_query_args`: the upstream sees the original query again.
#[tokio::test]
async fn preserve_query_args_restores_the_original_query() {
    let env = Env::start(json!({ "preserve_query_args": true })).await;
    let (_, page) = logged_in(&env, "/app?x=1&y=2").await;
    let seen = upstream_saw(&page);
    assert_eq!(seen["query"], "x=1&y=2");
}

/// A callback whose `state` is not the cookie's is refused, and the
/// authorization cookie is spent.
#[tokio::test]
async fn state_mismatch_is_refused() {
    let env = Env::start(json!({})).await;
    let mut browser = Browser::new();
    let first = browser.get(&env.url("/app")).await;
    let authorize = first.location().unwrap().replace("state=", "state=x");
    let page = browser.finish_login(&authorize).await;
    assert_unauthorized(&page, "login state missing, expired or not matching");
    assert!(
        page.set_cookies()
            .iter()
            .any(|c| c.starts_with("authorization=;") && c.contains("Max-Age=0"))
    );
    assert_eq!(env.idp.counts().token, 0, "no code exchange");
    // A callback without the authorization cookie: refused, no loop.
    let mut stranger = Browser::new();
    let page = stranger.get(&env.url("/app?code=abc&state=def")).await;
    assert_unauthorized(&page, "login state missing, expired or not matching");
}

/// A code is spent by its first use: replaying the callback (with the
/// same authorization cookie) fails at the provider.
#[tokio::test]
async fn a_code_replayed_fails() {
    let env = Env::start(json!({})).await;
    let mut browser = Browser::new();
    let first = browser.get(&env.url("/app")).await;
    let jar = browser.jar.clone();
    let idp_answer = browser.get(first.location().unwrap()).await;
    let callback = idp_answer.location().unwrap().to_string();
    let mut replay = Browser::new();
    replay.jar = jar.clone();
    upstream_saw(&browser.get(&callback).await);
    let page = replay.get(&callback).await;
    assert_unauthorized(&page, "the identity provider refused the grant");
    assert_eq!(env.idp.counts().token, 2);
}

/// The ID token must carry this login's nonce and name this client.
#[tokio::test]
async fn id_token_nonce_and_audience_are_checked() {
    let env = Env::start(json!({})).await;
    env.idp
        .patch_next_id_token(json!({ "nonce": "replayed-nonce" }));
    let page = Browser::new().login(&env.url("/")).await;
    assert_unauthorized(&page, "ID token nonce mismatch");

    env.idp
        .patch_next_id_token(json!({ "aud": "someone-else" }));
    let page = Browser::new().login(&env.url("/")).await;
    assert_unauthorized(&page, "ID token not issued to this client");

    env.idp.patch_next_id_token(json!({ "exp": 1000 }));
    let page = Browser::new().login(&env.url("/")).await;
    assert_unauthorized(&page, "token expired");

    // `verify_nonce: false` accepts a foreign nonce.
    let env = Env::start(json!({ "verify_nonce": false })).await;
    env.idp
        .patch_next_id_token(json!({ "nonce": "replayed-nonce" }));
    upstream_saw(&Browser::new().login(&env.url("/")).await);
}

/// The provider's `error` answer ends the login with 401.
#[tokio::test]
async fn a_denied_login_is_refused() {
    let env = Env::start(json!({})).await;
    env.idp.deny_next_login("access_denied");
    let page = Browser::new().login(&env.url("/")).await;
    assert_unauthorized(&page, "the identity provider denied the login");
}

/// `login_action: redirect` without `login_redirect_uri` goes back to the
/// original URL on the request's own origin, with `login_tokens` (Kong's
/// default: the ID token, in the fragment). A path that looks like a
/// protocol-relative URL stays on the origin.
#[tokio::test]
async fn redirect_action_stays_on_the_origin() {
    let env = Env::start(json!({ "login_action": "redirect", "preserve_query_args": true })).await;
    let (mut browser, page) = logged_in(&env, "/app/page?x=1").await;
    assert_eq!(page.status, 302);
    let location = page.location().unwrap();
    let (base, fragment) = location.split_once('#').unwrap();
    assert_eq!(base, env.url("/app/page?x=1"));
    assert!(fragment.starts_with("id_token=ey"), "{fragment}");
    upstream_saw(&browser.get(&env.url("/app/page?x=1")).await);

    let (_, page) = logged_in(&env, "//evil.example/x").await;
    let location = page.location().unwrap();
    assert!(
        location.starts_with(&env.url("/evil.example/x")),
        "{location}"
    );

    // A configured target is used as is, tokens in the query.
    let env = Env::start(json!({
        "login_action": "redirect", "login_redirect_uri": "https://app.example/done",
        "login_redirect_mode": "query", "login_tokens": ["access_token", "id_token"],
    }))
    .await;
    let (_, page) = logged_in(&env, "/").await;
    let location = page.location().unwrap();
    assert!(
        location.starts_with("https://app.example/done?access_token=ey"),
        "{location}"
    );
    assert!(location.contains("&id_token=ey"));
}

/// `response_mode: form_post`: the provider posts the code; the proxy
/// reads it from the body, and the redirect action turns it into a GET of
/// the original URL (Kong's how-to setup, `login_tokens: null`).
#[tokio::test]
async fn form_post_callback() {
    let env = Env::start(json!({
        "response_mode": "form_post", "login_action": "redirect",
        "preserve_query_args": true, "login_tokens": null,
    }))
    .await;
    let mut browser = Browser::new();
    let first = browser.get(&env.url("/app?hello=world")).await;
    assert_eq!(
        query(first.location().unwrap())["response_mode"],
        "form_post"
    );
    let page = browser.finish_login(first.location().unwrap()).await;
    assert_eq!(page.status, 302, "{page:?}");
    assert_eq!(page.location().unwrap(), env.url("/app?hello=world"));
    upstream_saw(&browser.get(&env.url("/app?hello=world")).await);
}

/// `login_action: response` answers the tokens.
#[tokio::test]
async fn response_action_answers_tokens() {
    let env = Env::start(json!({
        "login_action": "response", "login_tokens": ["id_token", "refresh_token"],
    }))
    .await;
    let (_, page) = logged_in(&env, "/").await;
    assert_eq!(page.status, 200);
    let body = page.json();
    assert!(body["id_token"].as_str().unwrap().starts_with("ey"));
    assert!(
        env.idp
            .refresh_token_valid(body["refresh_token"].as_str().unwrap())
    );
    assert!(body.get("access_token").is_none());
}

/// Kong's rules: without `authorization_code` a request with no
/// credentials gets 401 with Kong's body (session-only and bearer-only
/// routes); with it, it is redirected.
#[tokio::test]
async fn which_requests_get_401() {
    for methods in [
        json!(["session"]),
        json!(["bearer"]),
        json!(["bearer", "session"]),
    ] {
        let idp = idp().await;
        let c = config(
            &idp,
            json!({ "auth_methods": methods, "display_errors": false }),
        );
        let env = Env::start_for(idp, &c).await;
        let page = Browser::new().get(&env.url("/")).await;
        assert_eq!(page.status, 401, "{methods}");
        assert_eq!(page.json(), json!({ "message": "Unauthorized" }));
    }
    let env = Env::start(json!({ "auth_methods": ["bearer", "authorization_code"] })).await;
    let page = Browser::new().get(&env.url("/")).await;
    assert_eq!(page.status, 302);
}

/// Endpoint settings: `authorization_endpoint` overrides the discovered
/// one (Kong's how-to sets it when the browser reaches the provider by
/// another name), `token_endpoint_auth_method` overrides `client_auth` at
/// the token endpoint.
#[tokio::test]
async fn endpoint_overrides_and_token_client_auth() {
    let env = Env::start(json!({
        "authorization_endpoint": "https://login.example/auth",
        "token_endpoint_auth_method": "client_secret_basic",
    }))
    .await;
    let mut browser = Browser::new();
    let first = browser.get(&env.url("/")).await;
    let location = first.location().unwrap();
    assert!(
        location.starts_with("https://login.example/auth?response_type=code"),
        "{location}"
    );
    // The provider is reached by its own URL for the rest of the login.
    let real = location.replace("https://login.example/auth", &env.idp.authorization_url());
    upstream_saw(&browser.finish_login(&real).await);
    assert_eq!(
        env.idp.last_client_auth().as_deref(),
        Some("client_secret_basic")
    );
}

/// Kong's `unauthorized_destroy_session` (default on): a 401 expires the
/// session cookie the request carried; off, it is left alone.
#[tokio::test]
async fn a_401_destroys_the_session_cookie() {
    for (destroy, expired) in [(json!(null), true), (json!(false), false)] {
        let env = Env::start(json!({
            "auth_methods": ["session"], "unauthorized_destroy_session": destroy,
        }))
        .await;
        let mut browser = Browser::new();
        let request = browser
            .request(reqwest::Method::GET, &env.url("/"))
            .header("cookie", "session=forged; session_2=more");
        let page = browser.send(request).await;
        assert_eq!(page.status, 401);
        let cleared = page.set_cookies();
        assert_eq!(
            cleared
                .iter()
                .any(|c| c.starts_with("session=;") && c.contains("Max-Age=0")),
            expired,
            "{cleared:?}"
        );
        assert_eq!(
            cleared.iter().any(|c| c.starts_with("session_2=;")),
            expired
        );
    }
}
