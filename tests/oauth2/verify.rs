//! Proxied requests on routes carrying the plugin.

use crate::support::oauth2::*;
use kingress::model::{CredentialType, Sensitive};
use kingress::tokens::{IssuedToken, random_token, unix_now};
use serde_json::json;

const INVALID: &str = "The access token is invalid or has expired";

#[track_caller]
fn assert_invalid(r: &Reply, description: &str, challenge: &str) {
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"error": "invalid_token", "error_description": description})
    );
    assert_eq!(r.header("www-authenticate"), Some(challenge));
}

fn invalid_challenge(realm: Option<&str>) -> String {
    let realm = realm
        .map(|r| format!("realm=\"{r}\", "))
        .unwrap_or_default();
    format!("Bearer {realm}error=\"invalid_token\", error_description=\"{INVALID}\"")
}

#[tokio::test]
async fn missing_and_unknown_tokens() {
    for realm in [None, Some("kingress")] {
        let config = match realm {
            Some(r) => config_with(json!({"realm": r})),
            None => default_config(),
        };
        let (_up, proxy) = start(&config).await;
        let r = request("GET", &proxy.https_url("/mock"), &[], None).await;
        assert_eq!(r.status, 401);
        assert_eq!(
            r.body,
            json!({"error": "invalid_request", "error_description": "The access token is missing"})
        );
        let expected = realm.map_or("Bearer".to_string(), |r| format!("Bearer realm=\"{r}\""));
        assert_eq!(r.header("www-authenticate"), Some(expected.as_str()));
        let r = request(
            "GET",
            &proxy.https_url("/mock"),
            &[("authorization", "")],
            None,
        )
        .await;
        assert_eq!(r.body["error_description"], "The access token is missing");
        // As in Kong, a lone scheme is taken as the (raw) token itself.
        let r = request(
            "GET",
            &proxy.https_url("/mock"),
            &[("authorization", "Bearer")],
            None,
        )
        .await;
        assert_eq!(r.body["error_description"], INVALID);
        let r = get_with(&proxy.https_url("/mock"), "unknowntoken").await;
        assert_invalid(&r, INVALID, &invalid_challenge(realm));
    }
}

#[tokio::test]
async fn token_locations() {
    let (_up, proxy) = start(&default_config()).await;
    let token = cc_token(&proxy, "/mock", &[])
        .await
        .str("access_token")
        .to_string();
    let url = proxy.https_url("/mock/x");
    for auth in [
        format!("Bearer {token}"),
        format!("token {token}"),
        token.clone(),
    ] {
        let r = request("GET", &url, &[("authorization", &auth)], None).await;
        assert_eq!(r.status, 200, "{auth}: {}", r.body);
        // Not hidden by default.
        assert_eq!(r.upstream_header("authorization"), Some(auth.as_str()));
    }
    let r = request("GET", &format!("{url}?access_token={token}"), &[], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = request(
        "POST",
        &url,
        &[],
        Some((
            "application/x-www-form-urlencoded",
            &format!("a=1&access_token={token}"),
        )),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["body"], format!("a=1&access_token={token}"));
    let r = request(
        "PUT",
        &url,
        &[],
        Some((
            "application/json",
            &format!("{{\"access_token\":\"{token}\"}}"),
        )),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // A repeated parameter is no token; a custom header name is honoured.
    let r = request(
        "GET",
        &format!("{url}?access_token={token}&access_token={token}"),
        &[],
        None,
    )
    .await;
    assert_eq!(r.body["error_description"], "The access token is missing");
    let (_up2, custom) = start(&config_with(json!({"auth_header_name": "x-api-token"}))).await;
    let t = cc_token(&custom, "/mock", &[])
        .await
        .str("access_token")
        .to_string();
    assert_eq!(
        request(
            "GET",
            &custom.https_url("/mock"),
            &[("x-api-token", &format!("Bearer {t}"))],
            None
        )
        .await
        .status,
        200
    );
    assert_eq!(get_with(&custom.https_url("/mock"), &t).await.status, 401);
}

#[tokio::test]
async fn consumer_headers_are_set_and_client_copies_cleared() {
    let (_up, proxy) = start(&default_config()).await;
    let token = cc_token(&proxy, "/mock", &[("scope", "email")])
        .await
        .str("access_token")
        .to_string();
    let auth = format!("Bearer {token}");
    let forged = [
        ("authorization", auth.as_str()),
        ("x-consumer-id", "forged"),
        ("x-consumer-custom-id", "forged"),
        ("x-consumer-username", "forged"),
        ("x-credential-identifier", "forged"),
        ("x-anonymous-consumer", "true"),
        ("x-authenticated-scope", "admin"),
        ("x-authenticated-userid", "root"),
    ];
    let r = request("GET", &proxy.https_url("/mock"), &forged, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.upstream_header("x-consumer-id"), Some(JANE));
    assert_eq!(
        r.upstream_header("x-consumer-custom-id"),
        Some("jane-custom")
    );
    assert_eq!(r.upstream_header("x-consumer-username"), Some("jane"));
    assert_eq!(r.upstream_header("x-credential-identifier"), Some("client"));
    assert_eq!(r.upstream_header("x-authenticated-scope"), Some("email"));
    assert_eq!(r.upstream_header("x-anonymous-consumer"), None);
    assert_eq!(
        r.upstream_header("x-authenticated-userid"),
        None,
        "no user on this token"
    );
}

#[tokio::test]
async fn service_binding_and_global_tokens() {
    let (_up, proxy) = start(&default_config()).await;
    let bound = cc_token(&proxy, "/mock", &[])
        .await
        .str("access_token")
        .to_string();
    let global = cc_token(&proxy, "/global-a", &[])
        .await
        .str("access_token")
        .to_string();
    let challenge = invalid_challenge(None);
    // Service-bound: its own service only (any route of it).
    assert_eq!(
        get_with(&proxy.https_url("/mock"), &bound).await.status,
        200
    );
    assert_eq!(
        get_with(&proxy.https_url("/global-a"), &bound).await.status,
        200
    );
    assert_invalid(
        &get_with(&proxy.https_url("/other"), &bound).await,
        INVALID,
        &challenge,
    );
    assert_invalid(
        &get_with(&proxy.https_url("/global-b"), &bound).await,
        INVALID,
        &challenge,
    );
    // Global: every global plugin, no non-global one.
    assert_eq!(
        get_with(&proxy.https_url("/global-a"), &global)
            .await
            .status,
        200
    );
    assert_eq!(
        get_with(&proxy.https_url("/global-b"), &global)
            .await
            .status,
        200
    );
    let r = get_with(&proxy.https_url("/mock"), &global).await;
    assert_invalid(
        &r,
        "The access token is global, but the current plugin is configured without 'global_credentials'",
        &challenge,
    );
}

#[tokio::test]
async fn expired_tokens_and_deleted_credentials() {
    let (up, proxy) = start(&default_config()).await;
    let row = |created_at: u64, expires_in: u64| IssuedToken {
        access_token: Sensitive::new(random_token()),
        refresh_token: None,
        credential_id: "cred-client".into(),
        service: Some("svc".into()),
        scope: None,
        authenticated_userid: None,
        expires_in,
        created_at,
        ttl: None,
    };
    let now = unix_now();
    let expired = row(now - 61, 60);
    let fresh = row(now - 59, 60);
    let eternal = row(now - 100_000_000, 0);
    for t in [&expired, &fresh, &eternal] {
        proxy.runtime.tokens.insert_token(t).await.unwrap();
    }
    assert_invalid(
        &get_with(&proxy.https_url("/mock"), expired.access_token.expose()).await,
        INVALID,
        &invalid_challenge(None),
    );
    assert_eq!(
        get_with(&proxy.https_url("/mock"), fresh.access_token.expose())
            .await
            .status,
        200
    );
    assert_eq!(
        get_with(&proxy.https_url("/mock"), eternal.access_token.expose())
            .await
            .status,
        200
    );

    // Removing the credential from the table revokes its tokens.
    let mut table = oauth_table(&up, &default_config());
    table.credentials.remove(CredentialType::Oauth2, "client");
    proxy.table.publish(table);
    assert_eq!(
        get_with(&proxy.https_url("/mock"), fresh.access_token.expose())
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn hide_credentials() {
    let (_up, proxy) = start(&config_with(json!({"hide_credentials": true})).clone()).await;
    let token = cc_token(&proxy, "/mock", &[])
        .await
        .str("access_token")
        .to_string();
    let url = proxy.https_url("/mock/x");
    for auth in [format!("Bearer {token}"), token.clone()] {
        let r = request("GET", &url, &[("authorization", &auth)], None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.upstream_header("authorization"), None);
    }
    let r = request(
        "GET",
        &format!("{url}?a=%41&access_token={token}&b=c"),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["query"], "a=%41&b=c");
    let r = request(
        "POST",
        &url,
        &[],
        Some((
            "application/x-www-form-urlencoded",
            &format!("access_token={token}&keep=1"),
        )),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["body"], "keep=1");
    assert_eq!(r.upstream_header("content-length"), Some("6"));
    // JSON bodies keep it, as in Kong.
    let json_body = format!("{{\"access_token\":\"{token}\"}}");
    let r = request("POST", &url, &[], Some(("application/json", &json_body))).await;
    assert_eq!(r.body["body"], json_body);
    // Hidden before validation: an invalid token is stripped too (401 anyway).
    assert_eq!(get_with(&url, "bad").await.status, 401);
}

#[tokio::test]
async fn anonymous_fallback() {
    let (up, proxy) = start(&config_with(json!({"anonymous": "guest"}))).await;
    let r = request(
        "GET",
        &proxy.https_url("/mock"),
        &[
            ("x-consumer-id", "forged"),
            ("x-authenticated-scope", "admin"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.upstream_header("x-consumer-id"), Some("guest-id"));
    assert_eq!(r.upstream_header("x-consumer-username"), Some("guest"));
    assert_eq!(r.upstream_header("x-anonymous-consumer"), Some("true"));
    assert_eq!(r.upstream_header("x-authenticated-scope"), None);
    assert_eq!(r.upstream_header("x-credential-identifier"), None);
    let r = get_with(&proxy.https_url("/mock"), "bad-token").await;
    assert_eq!(r.upstream_header("x-consumer-id"), Some("guest-id"));
    // A real token still wins.
    let token = cc_token(&proxy, "/mock", &[])
        .await
        .str("access_token")
        .to_string();
    assert_eq!(
        get_with(&proxy.https_url("/mock"), &token)
            .await
            .upstream_header("x-consumer-id"),
        Some(JANE)
    );
    // By id as well as by username; a missing consumer is a 500.
    proxy.table.publish(oauth_table(
        &up,
        &config_with(json!({"anonymous": "guest-id"})),
    ));
    let r = request("GET", &proxy.https_url("/mock"), &[], None).await;
    assert_eq!(r.upstream_header("x-consumer-id"), Some("guest-id"));
    proxy.table.publish(oauth_table(
        &up,
        &config_with(json!({"anonymous": "nobody"})),
    ));
    let r = request("GET", &proxy.https_url("/mock"), &[], None).await;
    // Kong's answer names the consumer; which plugin and route is logged.
    assert_eq!(r.status, 500);
    assert_eq!(
        r.body,
        json!({"message": "anonymous consumer nobody is configured but doesn't exist"})
    );
    assert_eq!(r.upstream_header("x-consumer-id"), None);
    // Only a failed authentication looks for it: a good token is served.
    assert_eq!(
        get_with(&proxy.https_url("/mock"), &token).await.status,
        200
    );
}

/// With a valid token, no spelling of a consumer header sent by the client
/// reaches the upstream next to the real one, with `--underscores-in-headers`
/// off (the default) or on.
#[tokio::test]
async fn identity_header_spellings_never_reach_the_upstream() {
    use crate::support::proxy::{Settings, TestProxy};
    use crate::support::upstream::Upstream;
    for underscores_in_headers in [false, true] {
        let up = Upstream::start("echo").await;
        let proxy = TestProxy::start_with(
            oauth_table(&up, &default_config()),
            Settings {
                underscores_in_headers,
                ..Settings::default()
            },
        )
        .await;
        let token = cc_token(&proxy, "/mock", &[("scope", "email")])
            .await
            .str("access_token")
            .to_string();
        let auth = format!("Bearer {token}");
        let sent = [
            ("authorization", auth.as_str()),
            ("X_Consumer_Username", "forged"),
            ("X_Consumer_ID", "forged"),
            ("x_authenticated_scope", "forged"),
            ("X-CONSUMER-ID", "forged"),
            ("x_credential_identifier", "forged"),
            ("x_anonymous_consumer", "forged"),
            ("x_authenticated_userid", "forged"),
            ("x_consumer_custom_id", "forged"),
            ("my_header", "mine"),
        ];
        let r = request("GET", &proxy.https_url("/mock"), &sent, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let headers = r.body["headers"].as_object().unwrap();
        for (name, value) in headers {
            assert!(
                !value.to_string().contains("forged"),
                "{name} reached the upstream (underscores {underscores_in_headers}): {headers:?}"
            );
        }
        assert_eq!(r.upstream_header("x-consumer-id"), Some(JANE));
        assert_eq!(r.upstream_header("x-consumer-username"), Some("jane"));
        assert_eq!(r.upstream_header("x-authenticated-scope"), Some("email"));
        let mine = r.upstream_header("my_header");
        assert_eq!(mine, underscores_in_headers.then_some("mine"));
    }
}
