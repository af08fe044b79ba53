//! `/oauth2/authorize`: codes, implicit tokens, PKCE, and the error rows.

use crate::support::oauth2::*;
use serde_json::json;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn authorize_form<'a>(
    client: &'a str,
    response_type: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("provision_key", PROVISION_KEY),
        ("authenticated_userid", "user-9"),
        ("client_id", client),
        ("response_type", response_type),
    ];
    f.extend_from_slice(extra);
    f
}

/// The `code` parameter of a returned redirect URI.
fn code_of(redirect_uri: &str) -> String {
    let query = redirect_uri.split_once('?').unwrap().1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no code in {redirect_uri}"))
}

#[tokio::test]
async fn authorization_code_flow() {
    let (_up, proxy) = start(&default_config()).await;
    let r = post_form(
        &proxy.https_url("/mock/oauth2/authorize"),
        &authorize_form(
            "client",
            "code",
            &[("scope", "email user.read"), ("state", "a,b")],
        ),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("pragma"), Some("no-cache"));
    let uri = r.str("redirect_uri");
    let code = code_of(uri);
    assert_eq!(code.len(), 32);
    assert_eq!(uri, format!("{REDIRECT}?code={code}&state=a%2cb"));

    let token_url = proxy.https_url("/mock/oauth2/token");
    let exchange = [
        ("grant_type", "authorization_code"),
        ("client_id", "client"),
        ("client_secret", "secret"),
        ("code", code.as_str()),
    ];
    // Another client, another service: invalid, and the code is not burnt.
    let r = post_form(
        &token_url,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "hashed"),
            ("client_secret", "hsecret"),
            ("code", &code),
        ],
        &[],
    )
    .await;
    r.assert_error(400, "invalid_request", "Invalid code");
    post_form(&proxy.https_url("/other/oauth2/token"), &exchange, &[])
        .await
        .assert_error(400, "invalid_request", "Invalid code");

    let t = post_form(&token_url, &exchange, &[]).await;
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(t.body["token_type"], "bearer");
    assert_eq!(t.str("refresh_token").len(), 32);
    let echo = get_with(&proxy.https_url("/mock"), t.str("access_token")).await;
    assert_eq!(
        echo.upstream_header("x-authenticated-userid"),
        Some("user-9")
    );
    assert_eq!(
        echo.upstream_header("x-authenticated-scope"),
        Some("email user.read")
    );
    // Single use.
    post_form(&token_url, &exchange, &[]).await.assert_error(
        400,
        "invalid_request",
        "Invalid code",
    );
    post_form(&token_url, &exchange[..3], &[])
        .await
        .assert_error(400, "invalid_request", "Invalid code");
}

#[tokio::test]
async fn concurrent_code_exchange_has_one_winner() {
    let (_up, proxy) = start(&default_config()).await;
    let r = post_form(
        &proxy.https_url("/mock/oauth2/authorize"),
        &authorize_form("client", "code", &[]),
        &[],
    )
    .await;
    let code = code_of(r.str("redirect_uri"));
    let url = proxy.https_url("/mock/oauth2/token");
    let attempt = || {
        let (url, code) = (url.clone(), code.clone());
        tokio::spawn(async move {
            post_form(
                &url,
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", "client"),
                    ("client_secret", "secret"),
                    ("code", &code),
                ],
                &[],
            )
            .await
            .status
            .as_u16()
        })
    };
    let tasks: Vec<_> = (0..6).map(|_| attempt()).collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, vec![200, 400, 400, 400, 400, 400]);
}

#[tokio::test]
async fn pkce_public_client() {
    let (_up, proxy) = start(&default_config()).await;
    let authorize = proxy.https_url("/mock/oauth2/authorize");
    let r = post_form(&authorize, &authorize_form("public", "code", &[]), &[]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.str("redirect_uri"),
        format!(
            "{REDIRECT}?error=invalid_request&error_description=code_challenge%20is%20required%20for%20public%20clients"
        )
    );
    let r = post_form(
        &authorize,
        &authorize_form(
            "public",
            "code",
            &[
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "plain"),
            ],
        ),
        &[],
    )
    .await;
    assert!(
        r.str("redirect_uri").contains(
            "error_description=code_challenge_method%20is%20not%20supported%2c%20must%20be%20S256"
        ),
        "{}",
        r.body
    );
    let r = post_form(
        &authorize,
        &authorize_form("public", "code", &[("code_challenge_method", "S256")]),
        &[],
    )
    .await;
    assert!(
        r.str("redirect_uri")
            .contains("code_challenge%20is%20required%20when%20code_method%20is%20present"),
        "{}",
        r.body
    );

    let r = post_form(
        &authorize,
        &authorize_form(
            "public",
            "code",
            &[
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ],
        ),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let code = code_of(r.str("redirect_uri"));
    let url = proxy.https_url("/mock/oauth2/token");
    let base = [
        ("grant_type", "authorization_code"),
        ("client_id", "public"),
        ("code", code.as_str()),
    ];
    let with = |v: &'static str| [&base[..], &[("code_verifier", v)]].concat();
    post_form(&url, &base, &[]).await.assert_error(
        400,
        "invalid_request",
        "code_verifier is required for PKCE authorization requests",
    );
    post_form(&url, &with("too-short"), &[]).await.assert_error(
        400,
        "invalid_request",
        "code_verifier must be between 43 and 128 characters",
    );
    post_form(
        &url,
        &with("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        &[],
    )
    .await
    .assert_error(400, "invalid_grant", "Invalid code");
    let r = post_form(
        &url,
        &[&base[..], &[("code_verifier", "a"), ("code_verifier", "b")]].concat(),
        &[],
    )
    .await;
    r.assert_error(400, "invalid_request", "code_verifier is not a string");
    // RFC 7636 appendix B verifier.
    let t = post_form(&url, &with(VERIFIER), &[]).await;
    assert_eq!(t.status, 200, "{}", t.body);
}

#[tokio::test]
async fn pkce_strict_and_codes_with_challenges() {
    let (_up, proxy) = start(&config_with(json!({"pkce": "strict"}))).await;
    let r = post_form(
        &proxy.https_url("/mock/oauth2/authorize"),
        &authorize_form("client", "code", &[]),
        &[],
    )
    .await;
    assert!(
        r.str("redirect_uri")
            .ends_with("code_challenge%20is%20required%20for%20confidential%20clients"),
        "{}",
        r.body
    );

    // Under pkce=none a code that carries a challenge is still checked.
    let (_up2, proxy) = start(&config_with(json!({"pkce": "none"}))).await;
    let r = post_form(
        &proxy.https_url("/mock/oauth2/authorize"),
        &authorize_form("client", "code", &[("code_challenge", CHALLENGE)]),
        &[],
    )
    .await;
    let code = code_of(r.str("redirect_uri"));
    let url = proxy.https_url("/mock/oauth2/token");
    let base = [
        ("grant_type", "authorization_code"),
        ("client_id", "client"),
        ("client_secret", "secret"),
        ("code", code.as_str()),
    ];
    post_form(&url, &base, &[]).await.assert_error(
        400,
        "invalid_request",
        "code_verifier is required for PKCE authorization requests",
    );
    let t = post_form(
        &url,
        &[&base[..], &[("code_verifier", VERIFIER)]].concat(),
        &[],
    )
    .await;
    assert_eq!(t.status, 200, "{}", t.body);
}

#[tokio::test]
async fn implicit_grant_puts_the_token_in_the_fragment() {
    let (_up, proxy) = start(&config_with(json!({"pkce": "none"}))).await;
    let r = post_form(
        &proxy.https_url("/mock/oauth2/authorize"),
        &authorize_form(
            "client",
            "token",
            &[("redirect_uri", REDIRECT_2), ("state", "s")],
        ),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let uri = r.str("redirect_uri");
    let (base, fragment) = uri.split_once('#').unwrap();
    assert_eq!(base, REDIRECT_2);
    let params: Vec<(String, String)> = form_urlencoded::parse(fragment.as_bytes())
        .into_owned()
        .collect();
    let keys: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["access_token", "expires_in", "state", "token_type"]);
    let token = &params[0].1;
    assert_eq!(params[1].1, "7200");
    assert_eq!(params[3].1, "bearer");
    let echo = get_with(&proxy.https_url("/mock"), token).await;
    assert_eq!(echo.status, 200, "{}", echo.body);
    assert_eq!(
        echo.upstream_header("x-authenticated-userid"),
        Some("user-9")
    );
}

#[tokio::test]
async fn authorize_errors() {
    let (_up, proxy) = start(&config_with(json!({"enable_implicit_grant": false}))).await;
    let url = proxy.https_url("/mock/oauth2/authorize");
    // Bare JSON errors, checked first.
    let mut f = authorize_form("client", "code", &[("state", "s")]);
    f[0].1 = "wrong";
    let r = post_form(&url, &f, &[]).await;
    r.assert_error(400, "invalid_provision_key", "Invalid provision_key");
    assert_eq!(r.body["state"], "s");
    let mut f = authorize_form("client", "code", &[]);
    f[1].1 = " ";
    post_form(&url, &f, &[]).await.assert_error(
        400,
        "invalid_authenticated_userid",
        "Missing authenticated_userid parameter",
    );
    post_form(&url, &authorize_form("ghost", "code", &[]), &[])
        .await
        .assert_error(400, "invalid_client", "Invalid client authentication");
    post_form(&url, &authorize_form("cc-only", "code", &[]), &[])
        .await
        .assert_error(400, "invalid_client", "Invalid client authentication");

    // Errors sent into the redirect URI.
    let r = post_form(
        &url,
        &authorize_form("client", "token", &[("state", "s")]),
        &[],
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(
        r.str("redirect_uri"),
        format!(
            "{REDIRECT}?error=unsupported_response_type&error_description=Invalid%20response_type&state=s"
        )
    );
    let r = post_form(
        &url,
        &authorize_form("client", "code", &[("scope", "email admin")]),
        &[],
    )
    .await;
    assert_eq!(
        r.str("redirect_uri"),
        format!(
            "{REDIRECT}?error=invalid_scope&error_description=%22admin%22%20is%20an%20invalid%20scope"
        )
    );
    // An unregistered redirect_uri: the error goes to the first registered one.
    let r = post_form(
        &url,
        &authorize_form(
            "client",
            "code",
            &[("redirect_uri", "https://evil.example/cb")],
        ),
        &[],
    )
    .await;
    assert_eq!(r.status, 400);
    let uri = r.str("redirect_uri");
    assert!(
        uri.starts_with(&format!(
            "{REDIRECT}?error=invalid_request&error_description=Invalid%20redirect_uri"
        )),
        "{uri}"
    );
    // The second registered URI keeps its own query.
    let r = post_form(
        &url,
        &authorize_form("client", "code", &[("redirect_uri", REDIRECT_2)]),
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        r.str("redirect_uri")
            .starts_with("https://app.example/alt?code="),
        "{}",
        r.body
    );
    assert!(r.str("redirect_uri").ends_with("&x=1"), "{}", r.body);
    // Plain HTTP.
    post_form(
        &proxy.http_url("/mock/oauth2/authorize"),
        &authorize_form("client", "code", &[]),
        &[],
    )
    .await
    .assert_error(400, "access_denied", "You must use HTTPS");
}
