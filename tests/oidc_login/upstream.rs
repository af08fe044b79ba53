//! What the upstream gets of a login and of a session: none of the
//! plugin's own cookies (Kong clears them from the request), the session
//! id under `upstream_session_id_header`, and no refresh token the
//! `refresh_token` method used when `hide_credentials` is on.

use super::support::browser::{Browser, Cookie};
use super::{Env, password_tokens, upstream_saw};
use serde_json::json;

/// A browser that already holds the application's own cookie.
fn browser_with_app_cookie() -> Browser {
    let mut browser = Browser::new();
    browser.jar.insert(
        "app".to_string(),
        Cookie {
            value: "kept".to_string(),
            line: "app=kept; Path=/".to_string(),
        },
    );
    browser
}

/// The callback carries the authorization cookie (state, nonce, PKCE
/// verifier) and later requests the session cookie: neither reaches the
/// upstream, the application's own cookies do, unchanged.
#[tokio::test]
async fn the_plugin_cookies_never_reach_the_upstream() {
    let env = Env::start(json!({})).await;
    // A session big enough to be chunked, so every chunk is seen to go.
    env.idp.set_login_claims(super::big_claims());
    let mut browser = browser_with_app_cookie();
    let callback = browser.login(&env.url("/")).await;
    assert!(browser.jar.contains_key("session_2"), "chunked");
    let seen = upstream_saw(&callback);
    assert_eq!(seen["headers"]["cookie"], "app=kept", "{seen}");
    assert_eq!(seen["headers"]["x-user"], "alice");

    let seen = upstream_saw(&browser.get(&env.url("/page")).await);
    assert_eq!(seen["headers"]["cookie"], "app=kept", "{seen}");
    assert_eq!(seen["headers"]["x-user"], "alice");

    // Only plugin cookies: no Cookie header at all.
    browser.jar.remove("app");
    let seen = upstream_saw(&browser.get(&env.url("/page")).await);
    assert!(seen["headers"].get("cookie").is_none(), "{seen}");
}

/// `upstream_session_id_header` and `downstream_session_id_header` carry
/// the session's id: the same on every request of one session, another
/// for another session, on the login callback too.
#[tokio::test]
async fn the_session_id_headers() {
    let env = Env::start(json!({
        "upstream_session_id_header": "x-session-id",
        "downstream_session_id_header": "x-session",
    }))
    .await;
    let mut browser = Browser::new();
    let callback = browser.login(&env.url("/")).await;
    let at_login = upstream_saw(&callback)["headers"]["x-session-id"].clone();
    let id = at_login
        .as_str()
        .expect("a session id at login")
        .to_string();
    assert!(id.len() >= 43, "{id}");
    assert_eq!(callback.headers["x-session"], id.as_str());

    let page = browser.get(&env.url("/")).await;
    assert_eq!(upstream_saw(&page)["headers"]["x-session-id"], id.as_str());
    assert_eq!(page.headers["x-session"], id.as_str());

    let other = Browser::new().login(&env.url("/")).await;
    let other_id = upstream_saw(&other)["headers"]["x-session-id"].clone();
    assert_ne!(other_id, at_login);
    // The id is not a credential: the session cookie does not hold it in
    // the clear.
    assert!(!browser.cookie_header().contains(&id));
}

/// `hide_credentials` with the `refresh_token` method removes the refresh
/// token from where it was found (a header, or the query under
/// `refresh_token_param_name`), and nothing else.
#[tokio::test]
async fn hide_credentials_hides_the_refresh_token() {
    let env = Env::start(json!({
        "auth_methods": ["refresh_token"], "hide_credentials": true,
        "refresh_token_param_type": ["header", "query"],
        "refresh_token_param_name": "refresh_token",
    }))
    .await;
    env.idp
        .add_user("alex", "doe", json!({ "preferred_username": "alex" }));

    let tokens = password_tokens(&env, "alex", "doe").await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let mut browser = Browser::new();
    let request = browser
        .request(reqwest::Method::GET, &env.url("/"))
        .header("refresh-token", refresh)
        .header("x-other", "kept");
    let seen = upstream_saw(&browser.send(request).await);
    assert_eq!(seen["headers"]["x-user"], "alex");
    assert!(seen["headers"].get("refresh-token").is_none(), "{seen}");
    assert_eq!(seen["headers"]["x-other"], "kept");

    let tokens = password_tokens(&env, "alex", "doe").await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let refresh: String = form_urlencoded::byte_serialize(refresh.as_bytes()).collect();
    let url = format!("{}?a=1&refresh_token={refresh}&b=2", env.url("/"));
    let seen = upstream_saw(&browser.get(&url).await);
    assert_eq!(seen["headers"]["x-user"], "alex");
    assert_eq!(seen["query"], "a=1&b=2", "{seen}");
}
