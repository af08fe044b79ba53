//! Kong's second describe block: two authentication plugins on a route,
//! "logical AND" without `anonymous` and "logical OR" with it. Kong pairs
//! jwt with key-auth; here the other plugin is oauth2 (priority 1400, so it
//! runs after jwt as key-auth does); each reads its own header.

use crate::support::jwt::{self as jwt, ANONYMOUS_ID, KEY, SECRET, encode, payload};
use crate::support::oauth2::{self as oauth2, Reply, cc_token, default_config, request};
use crate::support::proxy::{TestProxy, route};
use crate::support::upstream::Upstream;
use serde_json::{Value, json};

async fn start() -> (Upstream, TestProxy) {
    let up = Upstream::start("echo").await;
    let mut table = oauth2::oauth_table(&up, &default_config());
    let mut anonymous = jwt::consumer("no-body");
    anonymous.id = ANONYMOUS_ID.to_string();
    let user = jwt::consumer("jwt_tests_consumer");
    for c in [anonymous, user] {
        table.consumers.insert(c.id.clone(), c.into());
    }
    table
        .credentials
        .insert(jwt::hs("jwt_tests_consumer", KEY, "HS256", SECRET))
        .unwrap();
    let mut or_config = default_config();
    or_config["anonymous"] = json!(ANONYMOUS_ID);
    for (name, jwt_config, oauth_config) in [
        ("and", json!({"header_names": ["x-jwt"]}), default_config()),
        (
            "or",
            json!({"header_names": ["x-jwt"], "anonymous": ANONYMOUS_ID}),
            or_config,
        ),
    ] {
        let mut r = route(name, &[&format!("/{name}")], "svc");
        // jwt (1450) before oauth2 (1400), as Kong orders them.
        r.plugins = vec![
            jwt::plugin(&format!("jwt-{name}"), jwt_config),
            oauth2::plugin(&format!("oauth2-{name}"), &oauth_config),
        ];
        table.routes.push(kingress::model::Shared::new(r));
    }
    let proxy = TestProxy::start(table).await;
    (up, proxy)
}

/// A request to `/<route>` with the jwt in `X-Jwt` and the oauth2 token
/// in `Authorization`, each when given.
async fn send(proxy: &TestProxy, route: &str, jwt: Option<&str>, oauth: Option<&str>) -> Reply {
    let jwt = jwt.map(|t| format!("Bearer {t}"));
    let oauth = oauth.map(|t| format!("Bearer {t}"));
    let mut headers: Vec<(&str, &str)> = Vec::new();
    if let Some(jwt) = &jwt {
        headers.push(("x-jwt", jwt));
    }
    if let Some(oauth) = &oauth {
        headers.push(("authorization", oauth));
    }
    request(
        "GET",
        &proxy.https_url(&format!("/{route}/x")),
        &headers,
        None,
    )
    .await
}

fn seen<'a>(r: &'a Reply, header: &str) -> &'a Value {
    &r.body["headers"][header]
}

#[tokio::test]
async fn logical_and_without_anonymous() {
    let (_up, proxy) = start().await;
    let token = cc_token(&proxy, "/mock", &[]).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let jwt = encode(&payload(KEY), SECRET, "HS256");
    // "passes with all credentials provided": the last plugin's credential.
    let r = send(&proxy, "and", Some(&jwt), Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(seen(&r, "x-credential-identifier"), "client");
    assert_eq!(seen(&r, "x-consumer-username"), "jane");
    assert!(seen(&r, "x-anonymous-consumer").is_null());
    // "fails 401, with only the first credential provided": oauth2 answers.
    let r = send(&proxy, "and", Some(&jwt), None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error_description"], "The access token is missing");
    // "fails 401, with only the second credential provided": jwt answers.
    let r = send(&proxy, "and", None, Some(&token)).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body, json!({"message": "Unauthorized"}));
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    // "fails 401, with no credential provided"
    let r = send(&proxy, "and", None, None).await;
    assert_eq!(r.body, json!({"message": "Unauthorized"}));
}

#[tokio::test]
async fn logical_or_with_anonymous() {
    let (_up, proxy) = start().await;
    let token = cc_token(&proxy, "/mock", &[]).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let jwt = encode(&payload(KEY), SECRET, "HS256");
    // "passes with all credentials provided": jwt authenticated first, and
    // oauth2 keeps it.
    let r = send(&proxy, "or", Some(&jwt), Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(seen(&r, "x-credential-identifier"), KEY);
    assert_eq!(seen(&r, "x-consumer-username"), "jwt_tests_consumer");
    assert!(seen(&r, "x-anonymous-consumer").is_null());
    // "passes with only the first credential provided" (here: the jwt).
    let r = send(&proxy, "or", Some(&jwt), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(seen(&r, "x-credential-identifier"), KEY);
    // "passes with only the second credential provided": oauth2 replaces
    // the anonymous consumer jwt fell back to.
    let r = send(&proxy, "or", None, Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(seen(&r, "x-consumer-username"), "jane");
    assert_eq!(seen(&r, "x-credential-identifier"), "client");
    assert!(seen(&r, "x-anonymous-consumer").is_null(), "{}", r.body);
    // "passes with no credential provided"
    let r = send(&proxy, "or", None, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(seen(&r, "x-anonymous-consumer"), "true");
    assert_eq!(seen(&r, "x-consumer-id"), ANONYMOUS_ID);
    assert!(seen(&r, "x-credential-identifier").is_null());
}
