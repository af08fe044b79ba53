//! `/oauth2/token`: every grant, client authentication, the error rows, HTTPS.

use crate::support::oauth2::*;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

fn assert_token_shape(value: &str) {
    assert_eq!(value.len(), 32, "{value}");
    assert!(value.bytes().all(|b| b.is_ascii_alphanumeric()), "{value}");
}

#[tokio::test]
async fn client_credentials_with_params_and_basic() {
    let (_up, proxy) = start(&default_config()).await;
    let url = proxy.https_url("/mock/oauth2/token");
    let r = post_form(
        &url,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "client"),
            ("client_secret", "secret"),
            ("scope", "email profile"),
            ("state", "st 1"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_token_shape(r.str("access_token"));
    assert_eq!(r.body["token_type"], "bearer");
    assert_eq!(r.body["expires_in"], 7200);
    assert_eq!(r.body["state"], "st 1");
    assert!(
        r.body.get("refresh_token").is_none(),
        "no refresh token for client_credentials"
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("pragma"), Some("no-cache"));

    let echo = get_with(&proxy.https_url("/mock/x"), r.str("access_token")).await;
    assert_eq!(echo.status, 200, "{}", echo.body);
    assert_eq!(
        echo.upstream_header("x-authenticated-scope"),
        Some("email profile")
    );
    assert_eq!(
        echo.upstream_header("x-credential-identifier"),
        Some("client")
    );

    // HTTP Basic, the trailing slash form and a query-only client_id.
    let r = post_form(
        &proxy.https_url("/mock/oauth2/token/"),
        &[("grant_type", "client_credentials")],
        &[("authorization", &basic("client", "secret"))],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Body wins over the query.
    let r = post_form(
        &proxy.https_url("/mock/oauth2/token?client_secret=wrong&grant_type=password"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "client"),
            ("client_secret", "secret"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // A JSON body works too.
    let r = request(
        "POST",
        &url,
        &[],
        Some((
            "application/json",
            r#"{"grant_type":"client_credentials","client_id":"client","client_secret":"secret"}"#,
        )),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn hashed_secrets_argon2_kong_pbkdf2_and_bcrypt() {
    let (_up, proxy) = start(&default_config()).await;
    let url = proxy.https_url("/mock/oauth2/token");
    for (id, secret) in [("hashed", "hsecret"), ("kong", "tofu"), ("bcrypt", "tofu")] {
        for _ in 0..2 {
            // The second round is served from the verification cache.
            let r = post_form(
                &url,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", id),
                    ("client_secret", secret),
                ],
                &[],
            )
            .await;
            assert_eq!(r.status, 200, "{id}: {}", r.body);
        }
        let r = post_form(
            &url,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", "nope"),
            ],
            &[],
        )
        .await;
        r.assert_error(400, "invalid_client", "Invalid client authentication");
        assert_eq!(r.header("www-authenticate"), None);
        let r = post_form(
            &url,
            &[("grant_type", "client_credentials")],
            &[("authorization", &basic(id, "nope"))],
        )
        .await;
        r.assert_error(401, "invalid_client", "Invalid client authentication");
        assert_eq!(
            r.header("www-authenticate"),
            Some("Basic realm=\"OAuth2.0\"")
        );
    }
}

#[tokio::test]
async fn password_grant_and_its_errors() {
    let (_up, proxy) = start(&default_config()).await;
    let url = proxy.https_url("/mock/oauth2/token");
    let base = [
        ("grant_type", "password"),
        ("client_id", "client"),
        ("client_secret", "secret"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut f = base.to_vec();
        f.extend_from_slice(extra);
        f
    };
    let r = post_form(
        &url,
        &with(&[
            ("provision_key", PROVISION_KEY),
            ("authenticated_userid", "u-42"),
            ("scope", "user.read"),
        ]),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_token_shape(r.str("refresh_token"));
    let echo = get_with(&proxy.https_url("/mock"), r.str("access_token")).await;
    assert_eq!(echo.upstream_header("x-authenticated-userid"), Some("u-42"));
    assert_eq!(
        echo.upstream_header("x-authenticated-scope"),
        Some("user.read")
    );

    post_form(&url, &with(&[("authenticated_userid", "u")]), &[])
        .await
        .assert_error(400, "invalid_provision_key", "Invalid provision_key");
    post_form(
        &url,
        &with(&[("provision_key", "wrong"), ("authenticated_userid", "u")]),
        &[],
    )
    .await
    .assert_error(400, "invalid_provision_key", "Invalid provision_key");
    post_form(
        &url,
        &with(&[
            ("provision_key", PROVISION_KEY),
            ("authenticated_userid", "  "),
        ]),
        &[],
    )
    .await
    .assert_error(
        400,
        "invalid_authenticated_userid",
        "Missing authenticated_userid parameter",
    );
    post_form(
        &url,
        &with(&[
            ("provision_key", PROVISION_KEY),
            ("authenticated_userid", "u"),
            ("scope", "email admin"),
        ]),
        &[],
    )
    .await
    .assert_error(400, "invalid_scope", "\"admin\" is an invalid scope");
    let r = post_form(
        &format!("{url}?scope=a"),
        &with(&[
            ("provision_key", PROVISION_KEY),
            ("authenticated_userid", "u"),
            ("scope", "b"),
        ]),
        &[],
    )
    .await;
    r.assert_error(400, "invalid_scope", "\"b\" is an invalid scope");
    let r = post_form(
        &url,
        &with(&[
            ("provision_key", PROVISION_KEY),
            ("authenticated_userid", "u"),
            ("scope", "email"),
            ("scope", "profile"),
        ]),
        &[],
    )
    .await;
    r.assert_error(400, "invalid_scope", "scope must be a string");
}

#[tokio::test]
async fn mandatory_scope_and_disabled_grants() {
    let config = config_with(json!({"mandatory_scope": true, "enable_password_grant": false}));
    let (_up, proxy) = start(&config).await;
    let url = proxy.https_url("/mock/oauth2/token");
    let cc = [
        ("grant_type", "client_credentials"),
        ("client_id", "client"),
        ("client_secret", "secret"),
    ];
    post_form(&url, &cc, &[])
        .await
        .assert_error(400, "invalid_scope", "You must specify a scope");
    let r = post_form(
        &url,
        &[
            ("grant_type", "password"),
            ("client_id", "client"),
            ("client_secret", "secret"),
        ],
        &[],
    )
    .await;
    r.assert_error(400, "unsupported_grant_type", "Invalid grant_type");
    post_form(
        &url,
        &[("client_id", "client"), ("client_secret", "secret")],
        &[],
    )
    .await
    .assert_error(400, "unsupported_grant_type", "Invalid grant_type");
}

#[tokio::test]
async fn client_and_redirect_uri_errors_in_kong_order() {
    let (_up, proxy) = start(&default_config()).await;
    let url = proxy.https_url("/mock/oauth2/token");
    let desc = "Invalid client authentication";
    // An unknown client with an unsupported grant reports invalid_client.
    post_form(
        &url,
        &[
            ("grant_type", "nope"),
            ("client_id", "ghost"),
            ("client_secret", "x"),
        ],
        &[],
    )
    .await
    .assert_error(400, "invalid_client", desc);
    // Via Basic, for a grant needing redirect URIs: 401 with a Basic challenge.
    let r = post_form(
        &url,
        &[("grant_type", "password")],
        &[("authorization", &basic("ghost", "x"))],
    )
    .await;
    r.assert_error(401, "invalid_client", desc);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"OAuth2.0\"")
    );
    // client_credentials with an unknown client via Basic: 400, no challenge.
    let r = post_form(
        &url,
        &[("grant_type", "client_credentials")],
        &[("authorization", &basic("ghost", "x"))],
    )
    .await;
    r.assert_error(400, "invalid_client", desc);
    assert_eq!(r.header("www-authenticate"), None);
    // A client without redirect URIs: fine for client_credentials only.
    let cc_only = [("client_id", "cc-only"), ("client_secret", "ccsecret")];
    let r = post_form(
        &url,
        &[&[("grant_type", "client_credentials")], &cc_only[..]].concat(),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = post_form(
        &url,
        &[
            &[
                ("grant_type", "password"),
                ("provision_key", PROVISION_KEY),
                ("authenticated_userid", "u"),
            ],
            &cc_only[..],
        ]
        .concat(),
        &[],
    )
    .await;
    r.assert_error(400, "invalid_client", desc);
    // Unregistered redirect_uri.
    let r = post_form(
        &url,
        &[
            ("grant_type", "password"),
            ("client_id", "client"),
            ("client_secret", "secret"),
            ("redirect_uri", "https://evil.example/"),
        ],
        &[],
    )
    .await;
    r.assert_error(400, "invalid_request", "Invalid redirect_uri that does not match with any redirect_uri created with the application");
    // A public client must not send a secret.
    let r = post_form(
        &url,
        &[
            ("grant_type", "password"),
            ("client_id", "public"),
            ("client_secret", "s"),
        ],
        &[],
    )
    .await;
    r.assert_error(
        400,
        "invalid_request",
        "client_secret is disallowed for public clients",
    );
    // The state is echoed on errors too.
    let r = post_form(
        &url,
        &[
            ("grant_type", "nope"),
            ("client_id", "client"),
            ("client_secret", "secret"),
            ("state", "xyz"),
        ],
        &[],
    )
    .await;
    r.assert_error(400, "unsupported_grant_type", "Invalid grant_type");
    assert_eq!(r.body["state"], "xyz");
}

#[tokio::test]
async fn non_post_is_405_and_plain_http_is_refused() {
    let (_up, proxy) = start(&config_with(json!({"realm": "api"}))).await;
    for (path, endpoint) in [
        ("/mock/oauth2/token", "token"),
        ("/mock/oauth2/authorize", "authorization"),
    ] {
        let r = request("GET", &proxy.https_url(path), &[], None).await;
        let description = format!("The HTTP method GET is invalid for the {endpoint} endpoint");
        assert_eq!(r.status, 405);
        assert_eq!(
            r.body,
            json!({"error": "invalid_method", "error_description": description})
        );
        assert_eq!(
            r.header("www-authenticate").unwrap(),
            format!(
                "Bearer realm=\"api\", error=\"invalid_method\", error_description=\"{description}\""
            )
        );
        assert_eq!(r.header("cache-control"), None);
        let r = post_form(
            &proxy.http_url(path),
            &[("grant_type", "client_credentials"), ("state", "s")],
            &[("x-forwarded-proto", "https")],
        )
        .await;
        r.assert_error(400, "access_denied", "You must use HTTPS");
        assert_eq!(r.body["state"], "s");
    }
}

#[tokio::test]
async fn forwarded_proto_from_trusted_peers_only() {
    let config = config_with(json!({"accept_http_if_already_terminated": true}));
    let cc = [
        ("grant_type", "client_credentials"),
        ("client_id", "client"),
        ("client_secret", "secret"),
    ];
    let (_up, trusted) = start_trusting(&config, "127.0.0.1").await;
    let url = trusted.http_url("/mock/oauth2/token");
    let r = post_form(&url, &cc, &[("x-forwarded-proto", "HTTPS")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    post_form(&url, &cc, &[])
        .await
        .assert_error(400, "access_denied", "You must use HTTPS");
    post_form(&url, &cc, &[("x-forwarded-proto", "http")])
        .await
        .assert_error(400, "access_denied", "You must use HTTPS");
    post_form(&url, &cc, &[("x-forwarded-proto", "https, http")])
        .await
        .assert_error(
            400,
            "access_denied",
            "Only one X-Forwarded-Proto header allowed",
        );
    // The same header from a peer that is not trusted is ignored.
    let (_up2, untrusted) = start(&config).await;
    post_form(
        &untrusted.http_url("/mock/oauth2/token"),
        &cc,
        &[("x-forwarded-proto", "https")],
    )
    .await
    .assert_error(400, "access_denied", "You must use HTTPS");
}

#[tokio::test]
async fn refresh_rotation() {
    let (_up, proxy) = start(&default_config()).await;
    let url = proxy.https_url("/mock/oauth2/token");
    let first = post_form(
        &url,
        &[
            ("grant_type", "password"),
            ("client_id", "client"),
            ("client_secret", "secret"),
            ("provision_key", PROVISION_KEY),
            ("authenticated_userid", "u"),
            ("scope", "email"),
        ],
        &[],
    )
    .await;
    let refresh = first.str("refresh_token").to_string();
    let refresh_form = |r: &str| {
        vec![
            ("grant_type", "refresh_token".to_string()),
            ("client_id", "client".into()),
            ("client_secret", "secret".into()),
            ("refresh_token", r.to_string()),
        ]
    };
    let form = refresh_form(&refresh);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let second = post_form(&url, &form, &[]).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_ne!(second.str("refresh_token"), refresh);
    assert_ne!(second.str("access_token"), first.str("access_token"));
    // The old pair is gone; the new access token carries the old scope.
    post_form(&url, &form, &[])
        .await
        .assert_error(400, "invalid_request", "Invalid refresh_token");
    assert_eq!(
        get_with(&proxy.https_url("/mock"), first.str("access_token"))
            .await
            .status,
        401
    );
    let echo = get_with(&proxy.https_url("/mock"), second.str("access_token")).await;
    assert_eq!(echo.upstream_header("x-authenticated-scope"), Some("email"));
    // Another client, another service, unknown tokens.
    let new_refresh = second.str("refresh_token");
    let r = post_form(
        &url,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "hashed"),
            ("client_secret", "hsecret"),
            ("refresh_token", new_refresh),
        ],
        &[],
    )
    .await;
    r.assert_error(400, "invalid_client", "Invalid client authentication");
    let other = proxy.https_url("/other/oauth2/token");
    let r = post_form(
        &other,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "client"),
            ("client_secret", "secret"),
            ("refresh_token", new_refresh),
        ],
        &[],
    )
    .await;
    r.assert_error(400, "invalid_request", "Invalid refresh_token");
    let r = post_form(
        &url,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "client"),
            ("client_secret", "secret"),
            ("refresh_token", "nope"),
        ],
        &[],
    )
    .await;
    r.assert_error(400, "invalid_request", "Invalid refresh_token");
}

#[tokio::test]
async fn refresh_reuse_and_scope_mismatch() {
    let (up, proxy) = start(&config_with(json!({"reuse_refresh_token": true}))).await;
    let url = proxy.https_url("/mock/oauth2/token");
    let first = post_form(
        &url,
        &[
            ("grant_type", "password"),
            ("client_id", "client"),
            ("client_secret", "secret"),
            ("provision_key", PROVISION_KEY),
            ("authenticated_userid", "u"),
            ("scope", "profile"),
        ],
        &[],
    )
    .await;
    let refresh = first.str("refresh_token");
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", "client"),
        ("client_secret", "secret"),
        ("refresh_token", refresh),
    ];
    let second = post_form(&url, &form, &[]).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(
        second.str("refresh_token"),
        refresh,
        "reuse keeps the refresh token"
    );
    assert_eq!(
        get_with(&proxy.https_url("/mock"), first.str("access_token"))
            .await
            .status,
        401
    );
    assert_eq!(
        get_with(&proxy.https_url("/mock"), second.str("access_token"))
            .await
            .status,
        200
    );
    let third = post_form(&url, &form, &[]).await;
    assert_eq!(third.status, 200, "{}", third.body);

    // The plugin no longer allows the token's scope.
    let mut table = oauth_table(
        &up,
        &config_with(json!({"reuse_refresh_token": true, "scopes": ["email"]})),
    );
    table.routes.truncate(1);
    proxy.table.publish(table);
    post_form(&url, &form, &[])
        .await
        .assert_error(400, "invalid_scope", "Scope mismatch");
}

#[tokio::test]
async fn tokens_that_never_expire() {
    let (_up, proxy) = start(&config_with(json!({"token_expiration": 0}))).await;
    let r = post_form(
        &proxy.https_url("/mock/oauth2/token"),
        &[
            ("grant_type", "password"),
            ("client_id", "client"),
            ("client_secret", "secret"),
            ("provision_key", PROVISION_KEY),
            ("authenticated_userid", "u"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.get("expires_in").is_none() && r.body.get("refresh_token").is_none(),
        "{}",
        r.body
    );
    assert_eq!(
        get_with(&proxy.https_url("/mock"), r.str("access_token"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn client_credentials_bound_to_a_user_need_the_provision_key() {
    let (_up, proxy) = start(&default_config()).await;
    let url = proxy.https_url("/mock/oauth2/token");
    let cc = [
        ("grant_type", "client_credentials"),
        ("client_id", "client"),
        ("client_secret", "secret"),
        ("authenticated_userid", "u-7"),
    ];
    post_form(&url, &cc, &[]).await.assert_error(
        400,
        "invalid_provision_key",
        "Invalid provision_key",
    );
    let r = post_form(
        &url,
        &[&cc[..], &[("provision_key", PROVISION_KEY)]].concat(),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let echo = get_with(&proxy.https_url("/mock"), r.str("access_token")).await;
    assert_eq!(echo.upstream_header("x-authenticated-userid"), Some("u-7"));
}

#[tokio::test]
async fn token_store_down_is_503_and_never_lets_requests_through() {
    let up = crate::support::upstream::Upstream::start("echo").await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let store = kingress::tokens::TokenStore::from_url(
        &format!("redis://127.0.0.1:{closed}/"),
        kingress::metrics::Metrics::new(),
    )
    .await
    .unwrap();
    let config = config_with(json!({"anonymous": "guest"}));
    let (addr, task) = start_with_store(oauth_table(&up, &config), store).await;
    let url = |p: &str| format!("https://{addr}{p}");
    let r = post_form(
        &url("/mock/oauth2/token"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "client"),
            ("client_secret", "secret"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(
        r.body["message"].as_str().unwrap().contains("token store"),
        "{}",
        r.body
    );
    // A presented token cannot be checked: 503, not the anonymous consumer.
    let r = get_with(&url("/mock"), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(r.status, 503, "{}", r.body);
    task.abort();
}
