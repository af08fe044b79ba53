//! Logout: triggers, cookie and server-side session removal, revocation,
//! RP-initiated logout at the end-session endpoint.

use super::support::browser::Browser;
use super::support::idp::param;
use super::{Env, logged_in, query, upstream_saw};
use reqwest::Method;
use serde_json::json;

/// Kong's logout: `logout_uri_suffix` with a method of `logout_methods`
/// (POST and DELETE by default) clears every chunk of the session cookie,
/// revokes the tokens with `logout_revoke`, and sends the browser to the
/// provider's end-session endpoint with `id_token_hint` and
/// `post_logout_redirect_uri`.
#[tokio::test]
async fn logout_clears_revokes_and_ends_the_provider_session() {
    let env = Env::start(json!({
        "logout_uri_suffix": "/logout", "logout_revoke": true,
        "logout_redirect_uri": ["https://app.example/bye"],
    }))
    .await;
    env.idp.set_login_claims(super::big_claims());
    let (mut browser, page) = logged_in(&env, "/").await;
    upstream_saw(&page);
    assert!(browser.jar.contains_key("session_2"));
    let id_token = {
        let r = browser
            .send(browser.request(Method::GET, &env.url("/")).header("x", "1"))
            .await;
        upstream_saw(&r);
        env.idp.token_requests().len()
    };
    assert_eq!(id_token, 1);

    // GET is not a logout method by default: it is just a request.
    upstream_saw(&browser.get(&env.url("/app/logout")).await);

    let request = browser.request(Method::POST, &env.url("/app/logout"));
    let out = browser.send(request).await;
    assert_eq!(out.status, 302, "{out:?}");
    let expired: Vec<String> = out
        .set_cookies()
        .into_iter()
        .filter(|c| c.contains("Max-Age=0"))
        .collect();
    assert!(
        expired.iter().any(|c| c.starts_with("session=;")),
        "{expired:?}"
    );
    assert!(
        expired.iter().any(|c| c.starts_with("session_2=;")),
        "{expired:?}"
    );
    assert!(browser.jar.is_empty(), "{:?}", browser.jar.keys());

    let location = out.location().unwrap();
    assert!(
        location.starts_with(&env.idp.end_session_url()),
        "{location}"
    );
    let q = query(location);
    assert_eq!(q["post_logout_redirect_uri"], "https://app.example/bye");
    assert!(q["id_token_hint"].starts_with("ey"));
    let ended = browser.get(location).await;
    assert_eq!(ended.location(), Some("https://app.example/bye"));
    assert_eq!(env.idp.end_session_requests().len(), 1);

    let revoked = env.idp.revocations();
    let hints: Vec<_> = revoked
        .iter()
        .map(|r| param(r, "token_type_hint").unwrap())
        .collect();
    assert_eq!(hints, ["refresh_token", "access_token"]);
    assert_eq!(
        env.idp.last_client_auth().as_deref(),
        Some("client_secret_post")
    );
    let refresh = param(&revoked[0], "token").unwrap();
    assert!(
        !env.idp.refresh_token_valid(refresh),
        "revoked at the provider"
    );

    // Logged out: the next request goes to log in.
    assert_eq!(browser.get(&env.url("/")).await.status, 302);
}

/// `logout_query_arg`, `logout_post_arg`, `logout_methods`; without
/// `logout_revoke` nothing is revoked.
#[tokio::test]
async fn logout_triggers() {
    let env = Env::start(json!({
        "logout_query_arg": "logout", "logout_post_arg": "bye",
        "logout_methods": ["GET", "POST"],
    }))
    .await;
    let (mut browser, _) = logged_in(&env, "/").await;
    let out = browser.get(&env.url("/any?logout")).await;
    assert_eq!(out.status, 302);
    assert!(
        out.location()
            .unwrap()
            .starts_with(&env.idp.end_session_url())
    );
    assert!(browser.jar.is_empty());

    let (mut browser, _) = logged_in(&env, "/").await;
    upstream_saw(
        &browser
            .post_form(&env.url("/form"), &[("other".into(), "1".into())])
            .await,
    );
    let out = browser
        .post_form(&env.url("/form"), &[("bye".into(), "1".into())])
        .await;
    assert_eq!(out.status, 302);
    assert!(browser.jar.is_empty());
    // DELETE is not in this logout_methods.
    let (mut browser, _) = logged_in(&env, "/").await;
    let request = browser.request(Method::DELETE, &env.url("/x?logout"));
    upstream_saw(&browser.send(request).await);
    assert!(env.idp.revocations().is_empty());
    let _ = Browser::new();
}
