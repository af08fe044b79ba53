//! `multipart/form-data` bodies, read as Kong reads them: at the token and
//! authorize endpoints for every grant, and for `access_token` on proxied
//! requests (where `hide_credentials` leaves a multipart body as it is, as
//! in Kong); a body that is not multipart adds nothing; an oversize body is
//! Kong's 413, at the same limit as a form body.

use crate::support::oauth2::*;
use serde_json::json;

/// Past the endpoints' body limit (64 KiB).
const OVERSIZE: usize = 64 * 1024 + 1;

/// The `code` parameter of a returned redirect URI.
fn code_of(redirect_uri: &str) -> String {
    let query = redirect_uri.split_once('?').unwrap().1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no code in {redirect_uri}"))
}

#[tokio::test]
async fn token_endpoint_grants() {
    let (_up, proxy) = start(&default_config()).await;
    let url = proxy.https_url("/mock/oauth2/token");
    let r = post_multipart(
        &url,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "client"),
            ("client_secret", "secret"),
            ("scope", "email profile"),
            ("state", "s 1"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["state"], "s 1");
    let echo = get_with(&proxy.https_url("/mock/x"), r.str("access_token")).await;
    assert_eq!(
        echo.upstream_header("x-authenticated-scope"),
        Some("email profile")
    );

    let r = post_multipart(
        &url,
        &[
            ("grant_type", "password"),
            ("client_id", "client"),
            ("client_secret", "secret"),
            ("provision_key", PROVISION_KEY),
            ("authenticated_userid", "user-7"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let echo = get_with(&proxy.https_url("/mock/x"), r.str("access_token")).await;
    assert_eq!(
        echo.upstream_header("x-authenticated-userid"),
        Some("user-7")
    );
    // Checks read the multipart values too: a wrong secret is refused.
    let r = post_multipart(
        &url,
        &[
            ("grant_type", "password"),
            ("client_id", "client"),
            ("client_secret", "wrong"),
        ],
        &[],
    )
    .await;
    r.assert_error(400, "invalid_client", "Invalid client authentication");
}

#[tokio::test]
async fn authorize_then_code_exchange() {
    let (_up, proxy) = start(&default_config()).await;
    let r = post_multipart(
        &proxy.https_url("/mock/oauth2/authorize"),
        &[
            ("provision_key", PROVISION_KEY),
            ("authenticated_userid", "user-9"),
            ("client_id", "client"),
            ("response_type", "code"),
            ("scope", "email"),
            ("state", "xyz"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let uri = r.str("redirect_uri");
    let code = code_of(uri);
    assert_eq!(uri, format!("{REDIRECT}?code={code}&state=xyz"));

    let r = post_multipart(
        &proxy.https_url("/mock/oauth2/token"),
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "client"),
            ("client_secret", "secret"),
            ("code", &code),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let echo = get_with(&proxy.https_url("/mock/x"), r.str("access_token")).await;
    assert_eq!(
        echo.upstream_header("x-authenticated-userid"),
        Some("user-9")
    );
    assert_eq!(echo.upstream_header("x-authenticated-scope"), Some("email"));
}

#[tokio::test]
async fn access_token_in_a_multipart_body() {
    let (_up, proxy) = start(&config_with(json!({"hide_credentials": true}))).await;
    let token = cc_token(&proxy, "/mock", &[])
        .await
        .str("access_token")
        .to_string();
    let (content_type, body) =
        multipart_body("xYzZY", &[("access_token", &token), ("note", "hello")]);
    let url = proxy.https_url("/mock/upload");
    let r = request("POST", &url, &[], Some((&content_type, &body))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.upstream_header("x-credential-identifier"), Some("client"));
    // Kong hides the token only in form bodies; the multipart body and its
    // length reach the upstream unchanged.
    assert_eq!(r.body["body"], body.as_str());
    assert_eq!(
        r.upstream_header("content-length"),
        Some(body.len().to_string().as_str())
    );
    // A wrong token there is refused like any other.
    let (content_type, body) = multipart_body("xYzZY", &[("access_token", "nope")]);
    let r = request("POST", &url, &[], Some((&content_type, &body))).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.body["error"], "invalid_token");
    // GET bodies are not read, as in Kong.
    let (content_type, body) = multipart_body("xYzZY", &[("access_token", &token)]);
    let r = request("GET", &url, &[], Some((&content_type, &body))).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.body["error_description"], "The access token is missing");
}

#[tokio::test]
async fn a_body_that_is_not_multipart_adds_nothing() {
    let (_up, proxy) = start(&default_config()).await;
    let url = proxy.https_url("/mock/oauth2/token?grant_type=client_credentials");
    // Says multipart, is a form: Kong's get_body fails and only the query
    // counts, so there is no client.
    let r = request(
        "POST",
        &url,
        &[],
        Some((
            "multipart/form-data; boundary=abc",
            "client_id=client&client_secret=secret",
        )),
    )
    .await;
    r.assert_error(400, "invalid_client", "Invalid client authentication");
    // Cut off before the closing delimiter: the same.
    let (content_type, body) = multipart_body("abc", &[("client_id", "client")]);
    let cut = &body[..body.len() - 8];
    let r = request("POST", &url, &[], Some((&content_type, cut))).await;
    r.assert_error(400, "invalid_client", "Invalid client authentication");
}

#[tokio::test]
async fn oversize_bodies_are_kongs_413() {
    let (_up, proxy) = start(&default_config()).await;
    let url = proxy.https_url("/mock/oauth2/token");
    let filler = "x".repeat(OVERSIZE);
    let fields = [
        ("grant_type", "client_credentials"),
        ("client_id", "client"),
        ("client_secret", "secret"),
        ("filler", filler.as_str()),
    ];
    for r in [
        post_multipart(&url, &fields, &[]).await,
        post_form(&url, &fields, &[]).await,
    ] {
        assert_eq!(r.status, 413, "{}", r.body);
        assert_eq!(r.body, json!({"message": "Payload too large"}));
    }
    // Just under the limit is read.
    let (content_type, small) = multipart_body("b", &fields[..3]);
    let room = 64 * 1024 - small.len() - 60;
    let padded = [fields[0], fields[1], fields[2], ("filler", &filler[..room])];
    let (_, body) = multipart_body("b", &padded);
    assert!(body.len() <= 64 * 1024, "{}", body.len());
    let r = request("POST", &url, &[], Some((&content_type, &body))).await;
    assert_eq!(r.status, 200, "{}", r.body);
}
