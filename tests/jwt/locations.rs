//! Where tokens are found: Kong's HS256 cases for cookies, query
//! parameters and custom headers, and the consumer headers upstream.

use crate::support::jwt::*;
use crate::support::oauth2::{Reply, request};
use serde_json::json;

async fn get(url: &str, headers: &[(&str, &str)]) -> Reply {
    request("GET", url, headers, None).await
}

#[tokio::test]
async fn verified_requests_carry_the_token_and_consumer_headers() {
    let (_up, proxy) = start().await;
    // "proxies the request with token and consumer headers if it was verified"
    let bearer = format!("Bearer {}", encode(&payload(KEY), SECRET, "HS256"));
    // Client copies of identity headers never reach the upstream.
    let r = get(
        &proxy.http_url("/jwt1/request"),
        &[
            ("authorization", &bearer),
            ("x-anonymous-consumer", "true"),
            ("x-consumer-username", "mallory"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let headers = &r.body["headers"];
    assert_eq!(headers["authorization"], bearer.as_str());
    assert_eq!(headers["x-consumer-username"], "jwt_tests_consumer");
    assert_eq!(headers["x-consumer-id"], "jwt_tests_consumer-id");
    assert_eq!(headers["x-credential-identifier"], KEY);
    assert!(headers.get("x-anonymous-consumer").is_none(), "{headers}");
}

#[tokio::test]
async fn the_key_in_the_header_or_another_claim() {
    let (_up, proxy) = start().await;
    // "proxies the request if the key is found in headers"
    let header = json!({"typ": "JWT", "alg": "HS256", "kid": KEY_2});
    let token = encode_with(&payload("ignored"), SECRET_2, "HS256", &header);
    let r = get(
        &proxy.http_url("/jwt10/request"),
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["headers"]["x-consumer-username"],
        "jwt_tests_consumer_6"
    );
    // The claim comes first: a `kid` claim naming nobody is not rescued by
    // the header's.
    let mut claims = payload("x");
    claims["kid"] = json!("nobody");
    let token = encode_with(&claims, SECRET_2, "HS256", &header);
    let r = get(
        &proxy.http_url("/jwt10/request"),
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await;
    assert_eq!(
        r.body,
        json!({"message": "No credentials found for given 'kid'"})
    );

    // "proxies the request if secret key is stored in a field other than iss"
    let mut claims = payload("x");
    claims["aud"] = json!(KEY);
    let bearer = format!("Bearer {}", encode(&claims, SECRET, "HS256"));
    let r = get(
        &proxy.http_url("/jwt4/request"),
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["headers"]["x-credential-identifier"], KEY);
}

#[tokio::test]
async fn base64_secrets() {
    let (_up, proxy) = start().await;
    // "proxies the request if secret is base64"
    let bearer = format!("Bearer {}", encode(&payload(B64_KEY), B64_SECRET, "HS256"));
    let r = get(
        &proxy.http_url("/jwt5/request"),
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["headers"]["x-consumer-username"],
        "jwt_tests_base64_consumer"
    );
    // Without `secret_is_base64` the stored (encoded) text is the secret.
    let r = get(
        &proxy.http_url("/jwt1/request"),
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(r.body, json!({"message": "Invalid signature"}));
    // RS256 ignores `secret_is_base64` ("proxies the request if conf.secret is base64").
    let token = encode(&payload("key-rs256"), &pem("rsa_private"), "RS256");
    let bearer = format!("Bearer {token}");
    let r = get(
        &proxy.http_url("/jwt5/request"),
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn cookies_with_a_realm() {
    let (_up, proxy) = start().await;
    let url = proxy.http_url("/jwt9/request");
    let jwt = encode(&payload(KEY), SECRET, "HS256");
    // "returns 200 the JWT is found in the cookie crumble" / "… silly"
    for name in ["crumble", "silly"] {
        let cookie = format!("{name}={jwt}; path=/;domain=.jwt9.test");
        let r = get(&url, &[("cookie", &cookie)]).await;
        assert_eq!(r.status, 200, "{name}: {}", r.body);
    }
    let realm_invalid = "Bearer realm=\"test-jwt\", error=\"invalid_token\"";
    // "returns 401 if the JWT found in the cookie does not match a credential"
    let wrong = encode(&payload("incorrect-issuer"), SECRET, "HS256");
    let r = get(&url, &[("cookie", &format!("silly={wrong}; path=/"))]).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body,
        json!({"message": "No credentials found for given 'iss'"})
    );
    assert_eq!(r.header("www-authenticate"), Some(realm_invalid));
    // "returns a 401 if the JWT in the cookie is corrupted"
    let cookie = format!("silly=no-way-this-works{jwt}; path=/");
    let r = get(&url, &[("cookie", &cookie)]).await;
    assert_eq!(r.body, json!({"message": "Bad token; invalid JSON"}));
    assert_eq!(r.header("www-authenticate"), Some(realm_invalid));
    // "reports a 200 without cookies but with a JWT token in the Authorization header"
    let r = get(&url, &[("authorization", &format!("Bearer {jwt}"))]).await;
    assert_eq!(r.status, 200);
    // "returns 401 if no JWT tokens are found in cookies or Authorization header"
    let r = get(&url, &[("cookie", "other=1")]).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"test-jwt\"")
    );
    // Cookies are not searched where none are configured.
    let r = get(
        &proxy.http_url("/jwt1/request"),
        &[("cookie", &format!("silly={jwt}"))],
    )
    .await;
    assert_eq!(r.body, json!({"message": "Unauthorized"}));
}

#[tokio::test]
async fn custom_headers_and_query_parameters() {
    let (_up, proxy) = start().await;
    let jwt = encode(&payload(KEY), SECRET, "HS256");
    // "returns 200 without cookies but with a JWT token in the CustomAuthorization header"
    let url = proxy.http_url("/jwt12/request");
    let r = get(&url, &[("CustomAuthorization", &format!("Bearer {jwt}"))]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // "finds the JWT in the first header occurrence of a duplicated custom authorization header"
    let r = get(
        &url,
        &[
            ("CustomAuthorization", &format!("Bearer {jwt}")),
            ("CustomAuthorization", "Bearer other-token"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // `Authorization` is not searched when other headers are configured.
    let r = get(&url, &[("authorization", &format!("Bearer {jwt}"))]).await;
    assert_eq!(r.body, json!({"message": "Unauthorized"}));

    // "finds the JWT if given in URL parameters"
    let r = get(&proxy.http_url(&format!("/jwt1/request/?jwt={jwt}")), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The upstream still gets the query as sent.
    assert_eq!(r.body["query"], format!("jwt={jwt}"));
    // "finds the JWT if given in a custom URL parameter"
    let r = get(&proxy.http_url(&format!("/jwt2/request/?token={jwt}")), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = get(&proxy.http_url(&format!("/jwt1/request/?token={jwt}")), &[]).await;
    assert_eq!(r.status, 401);
}
