//! Preflights: "HTTP method: OPTIONS" of `01-access_spec.lua`, and the
//! order with the authentication plugins (Kong's `run_on_preflight`).

use super::{CORS_DEFAULT_METHODS, assert_none, cors, preflight, send, with_plugins};
use crate::support::auth::plugin;
use serde_json::json;

#[tokio::test]
async fn gives_appropriate_defaults() {
    let (up, proxy) = cors(json!({})).await;
    let r = preflight(&proxy, "origin1.test", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("0"));
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some(CORS_DEFAULT_METHODS)
    );
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_none(
        &r,
        &[
            "access-control-allow-headers",
            "access-control-expose-headers",
            "access-control-allow-credentials",
            "access-control-max-age",
            "vary",
        ],
    );
    assert_eq!(up.requests(), 0, "a preflight is answered, not proxied");
    // "gives * wildcard when config.origins is empty"
    let (_up, proxy) = cors(json!({"origins": []})).await;
    let r = preflight(&proxy, "empty-origin.test", &[]).await;
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("vary"), None);
}

#[tokio::test]
async fn credentials_with_a_wildcard_echo_the_origin() {
    // "gives appropriate defaults when origin is explicitly set to * and
    // config.credentials=true"
    let (_up, proxy) = cors(json!({"origins": ["*"], "credentials": true})).await;
    let r = preflight(&proxy, "origin5.test", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("origin5.test")
    );
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(r.header("vary"), Some("Origin"));
    assert_none(
        &r,
        &["access-control-allow-headers", "access-control-max-age"],
    );
    // "replies with request-headers if present in request"
    let r = preflight(
        &proxy,
        "origin5.test",
        &[("access-control-request-headers", "origin,accepts")],
    )
    .await;
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("origin,accepts")
    );
    // "gives * wildcard when origin has multiple entries and have * included"
    let (_up, proxy) = cors(json!({"origins": ["foo.bar", "*"]})).await;
    let r = preflight(&proxy, "http://www.example.net", &[]).await;
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_none(
        &r,
        &["access-control-allow-credentials", "access-control-max-age"],
    );
}

#[tokio::test]
async fn accepts_config_options() {
    let (_up, proxy) = cors(json!({
        "origins": ["example.test"], "methods": ["GET"],
        "headers": ["origin", "type", "accepts"], "exposed_headers": ["x-auth-token"],
        "max_age": 23, "credentials": true
    }))
    .await;
    let r = preflight(&proxy, "origin5.test", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("0"));
    assert_eq!(r.header("access-control-allow-methods"), Some("GET"));
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("example.test")
    );
    assert_eq!(r.header("access-control-max-age"), Some("23"));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("origin,type,accepts")
    );
    assert_eq!(r.header("vary"), Some("Origin"));
    assert_none(&r, &["access-control-expose-headers"]);
}

#[tokio::test]
async fn preflight_continue_and_private_network() {
    // "preflight_continue enabled": the upstream answers.
    let (up, proxy) = cors(json!({
        "origins": ["example.test"], "methods": ["GET"], "max_age": 23,
        "preflight_continue": true
    }))
    .await;
    let r = send(
        &proxy,
        "OPTIONS",
        "/api/status/201",
        &[
            ("origin", "example.test"),
            ("access-control-request-method", "GET"),
        ],
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["method"], "OPTIONS");
    assert_eq!(up.requests(), 1);
    // Left to the upstream: cors adds nothing.
    assert_none(
        &r,
        &[
            "access-control-allow-origin",
            "access-control-allow-methods",
            "vary",
        ],
    );
    // "support private-network"
    let (_up, proxy) =
        cors(json!({"private_network": true, "origins": ["allowed-domain.test"]})).await;
    let r = preflight(
        &proxy,
        "allowed-domain.test",
        &[("access-control-request-private-network", "true")],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-private-network"),
        Some("true")
    );
    let r = preflight(&proxy, "allowed-domain.test", &[]).await;
    assert_eq!(r.header("access-control-allow-private-network"), None);
}

/// A sample of `regex_testcases` through the proxy: anchored regexes, a
/// preflight accepted or refused (200 either way, ACAO or none).
#[tokio::test]
async fn regex_origins_are_anchored() {
    let (_up, proxy) = cors(json!({"origins": ["(.*[./])?foo\\.test"]})).await;
    for (origin, want) in [
        ("http://foo.test", Some("http://foo.test")),
        (
            "http://something.foo.test",
            Some("http://something.foo.test"),
        ),
        ("http://foo.test:80", Some("http://foo.test")),
        ("http://foo.test.evil.test", None),
        ("http://evilfoo.test", None),
        ("http://foobtest", None),
    ] {
        let r = preflight(&proxy, origin, &[]).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("access-control-allow-origin"), want, "{origin}");
        if want.is_some() {
            assert_eq!(
                r.header("access-control-allow-methods"),
                Some(super::CORS_DEFAULT_METHODS)
            );
        }
    }
}

/// cors (2000) runs before key-auth (1250): a preflight is answered without
/// credentials. With `preflight_continue`, key-auth's `run_on_preflight`
/// (default true) asks for a key, and the refusal carries no CORS headers
/// (Kong's `skip_response_headers`); with `run_on_preflight: false` the
/// preflight reaches the upstream.
#[tokio::test]
async fn preflight_comes_before_authentication() {
    let (up, proxy) = with_plugins(vec![
        plugin("key-auth", &json!({})),
        plugin("cors", &json!({})),
    ])
    .await;
    let r = preflight(&proxy, "origin1.test", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(up.requests(), 0);
    // "works with 40x responses returned by another plugin"
    let r = send(&proxy, "GET", "/api", &[("origin", "origin1.test")]).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));

    let (_up, proxy) = with_plugins(vec![
        plugin("key-auth", &json!({})),
        plugin("cors", &json!({"preflight_continue": true})),
    ])
    .await;
    let r = preflight(&proxy, "origin1.test", &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("access-control-allow-origin"), None);

    let (up, proxy) = with_plugins(vec![
        plugin("key-auth", &json!({"run_on_preflight": false})),
        plugin("cors", &json!({"preflight_continue": true})),
    ])
    .await;
    // The key opens the door with `run_on_preflight` on, too.
    let r = send(
        &proxy,
        "GET",
        "/api?apikey=k",
        &[("origin", "origin1.test")],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let r = preflight(&proxy, "origin1.test", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["method"], "OPTIONS");
    assert_eq!(up.requests(), 2);
}
