//! Kong's "config.anonymous" cases.

use crate::support::jwt::*;
use crate::support::oauth2::request;
use serde_json::json;

#[tokio::test]
async fn anonymous_by_id_and_by_username() {
    let (_up, proxy) = start().await;
    // "works with right credentials and anonymous"
    let bearer = format!("Bearer {}", encode(&payload(KEY), SECRET, "HS256"));
    let r = request(
        "GET",
        &proxy.http_url("/jwt6/request"),
        &[("authorization", &bearer)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let headers = &r.body["headers"];
    assert_eq!(headers["x-consumer-username"], "jwt_tests_consumer");
    assert_eq!(headers["x-credential-identifier"], KEY);
    assert!(headers.get("x-anonymous-consumer").is_none());
    // "works with wrong credentials and anonymous" / "… and username in anonymous"
    for path in ["/jwt6/request", "/jwt13/request"] {
        for headers in [vec![], vec![("authorization", "Bearer invalid.jwt.token")]] {
            let r = request("GET", &proxy.http_url(path), &headers, None).await;
            assert_eq!(r.status, 200, "{path}: {}", r.body);
            let seen = &r.body["headers"];
            assert_eq!(seen["x-anonymous-consumer"], "true", "{path}");
            assert_eq!(seen["x-consumer-username"], "no-body", "{path}");
            assert_eq!(seen["x-consumer-id"], ANONYMOUS_ID, "{path}");
            assert!(seen.get("x-credential-identifier").is_none(), "{path}");
        }
    }
}

#[tokio::test]
async fn a_missing_anonymous_consumer_is_a_500_naming_it() {
    let (up, proxy) = start().await;
    // "errors when anonymous user doesn't exist"
    let r = request("GET", &proxy.http_url("/jwt7/request"), &[], None).await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.body,
        json!({"message": format!("anonymous consumer {NONEXISTING} is configured but doesn't exist")})
    );
    assert_eq!(up.requests(), 0);
}
