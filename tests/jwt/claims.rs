//! Kong's "JWT private claims checks" and the maximum expiration cases.

use crate::support::jwt::*;
use crate::support::oauth2::{Reply, request};
use serde_json::{Value, json};

const INVALID: &str = "Bearer error=\"invalid_token\"";

async fn send(proxy: &crate::support::proxy::TestProxy, path: &str, claims: &Value) -> Reply {
    let bearer = format!("Bearer {}", encode(claims, SECRET, "HS256"));
    request(
        "GET",
        &proxy.http_url(path),
        &[("authorization", &bearer)],
        None,
    )
    .await
}

#[track_caller]
fn assert_claims(r: &Reply, body: Value) {
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.body, body);
    assert_eq!(r.header("www-authenticate"), Some(INVALID));
}

#[tokio::test]
async fn exp_and_nbf() {
    let (_up, proxy) = start().await;
    // "requires the checked fields to be in the claims"
    let r = send(&proxy, "/jwt3/request", &json!({"iss": KEY})).await;
    assert_claims(
        &r,
        json!({"nbf": "must be a number", "exp": "must be a number"}),
    );
    let r = send(
        &proxy,
        "/jwt3/request",
        &json!({"iss": KEY, "nbf": now(), "exp": "soon"}),
    )
    .await;
    assert_claims(&r, json!({"exp": "must be a number"}));
    // "checks if the fields are valid: `exp` claim"
    let r = send(
        &proxy,
        "/jwt3/request",
        &json!({"iss": KEY, "exp": now() - 10, "nbf": now() - 10}),
    )
    .await;
    assert_claims(&r, json!({"exp": "token expired"}));
    // "checks if the fields are valid: `nbf` claim"
    let r = send(
        &proxy,
        "/jwt3/request",
        &json!({"iss": KEY, "exp": now() + 10, "nbf": now() + 5}),
    )
    .await;
    assert_claims(&r, json!({"nbf": "token not valid yet"}));
    let r = send(&proxy, "/jwt3/request", &payload(KEY)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Unchecked where not configured: an expired token passes `/jwt1`.
    let r = send(
        &proxy,
        "/jwt1/request",
        &json!({"iss": KEY, "exp": now() - 10}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The signature is checked before the claims.
    let bearer = format!("Bearer {}", encode(&json!({"iss": KEY}), "wrong", "HS256"));
    let r = request(
        "GET",
        &proxy.http_url("/jwt3/request"),
        &[("authorization", &bearer)],
        None,
    )
    .await;
    assert_eq!(r.body, json!({"message": "Invalid signature"}));
}

#[tokio::test]
async fn maximum_expiration() {
    let (_up, proxy) = start().await;
    // "returns 401 if the token exceeds the maximum allowed expiration limit"
    let claims = json!({"iss": KEY, "exp": now() + 3600, "nbf": now() - 30});
    let jwt = encode(&claims, SECRET, "HS256");
    let r = request(
        "GET",
        &proxy.http_url(&format!("/jwt11/request/?jwt={jwt}")),
        &[],
        None,
    )
    .await;
    assert_claims(&r, json!({"exp": "exceeds maximum allowed expiration"}));
    // "accepts a JWT token within the maximum allowed expiration limit"
    let claims = json!({"iss": KEY, "exp": now() + 270, "nbf": now() - 30});
    let jwt = encode(&claims, SECRET, "HS256");
    let r = request(
        "GET",
        &proxy.http_url(&format!("/jwt11/request/?jwt={jwt}")),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}
