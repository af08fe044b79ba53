//! Every response other than a preflight: "HTTP method: others" of
//! `01-access_spec.lua`, and hostile origins.

use super::{all, assert_none, cors, send};
use crate::support::auth::plugin;
use crate::support::proxy::{TestProxy, route, service, table};
use crate::support::upstream::closed_port;
use kingress::model::plugin::order_plugins;
use serde_json::json;

#[tokio::test]
async fn gives_appropriate_defaults() {
    let (_up, proxy) = cors(json!({})).await;
    let r = send(&proxy, "GET", "/api", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_none(
        &r,
        &[
            "access-control-allow-methods",
            "access-control-allow-headers",
            "access-control-expose-headers",
            "access-control-allow-credentials",
            "access-control-max-age",
            "vary",
        ],
    );
    // "proxies a non-preflight OPTIONS request"
    let r = send(&proxy, "OPTIONS", "/api/anything", &[("origin", "a.test")]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["method"], "OPTIONS");
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_none(&r, &["access-control-allow-methods", "vary"]);
    // "works with 404 responses" (the upstream's)
    let r = send(&proxy, "GET", "/api/status/404", &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn accepts_config_options() {
    let config = json!({
        "origins": ["example.test"], "methods": ["GET"],
        "headers": ["origin", "type", "accepts"], "exposed_headers": ["x-auth-token"],
        "max_age": 23, "credentials": true
    });
    let (_up, proxy) = cors(config).await;
    let r = send(&proxy, "GET", "/api", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("example.test")
    );
    assert_eq!(
        r.header("access-control-expose-headers"),
        Some("x-auth-token")
    );
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(r.header("vary"), Some("Origin"));
    assert_none(
        &r,
        &[
            "access-control-allow-methods",
            "access-control-allow-headers",
            "access-control-max-age",
        ],
    );
}

/// "works even when upstream timeouts": a failed upstream's 502 carries
/// the headers too.
#[tokio::test]
async fn works_when_the_upstream_fails() {
    let mut r = route("api", &["/api"], "api");
    r.plugins = vec![plugin(
        "cors",
        &json!({"origins": ["example.test"], "exposed_headers": ["x-auth-token"], "preflight_continue": true}),
    )];
    order_plugins(&mut r.plugins);
    let proxy =
        TestProxy::start(table(vec![r], vec![service("api", &[closed_port().await])])).await;
    let r = send(&proxy, "GET", "/api", &[]).await;
    assert_eq!(r.status, 502);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("example.test")
    );
    assert_eq!(
        r.header("access-control-expose-headers"),
        Some("x-auth-token")
    );
    assert_eq!(r.header("vary"), Some("Origin"));
    assert_none(
        &r,
        &[
            "access-control-allow-credentials",
            "access-control-allow-methods",
        ],
    );
}

#[tokio::test]
async fn sets_the_origin_from_the_origin_host() {
    // "sets CORS orgin based on origin host"
    let (_up, proxy) = cors(json!({"origins": ["example.test", "example.org"]})).await;
    let r = send(&proxy, "GET", "/api", &[("origin", "example.test")]).await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("example.test")
    );
    assert_eq!(r.header("vary"), Some("Origin"));
    // "does not automatically parse the host"
    for origin in [
        "http://example.test",
        "https://example.test",
        "http://www.example.net",
    ] {
        let r = send(&proxy, "GET", "/api", &[("origin", origin)]).await;
        assert_eq!(r.header("access-control-allow-origin"), None, "{origin}");
    }
    let (_up, proxy) = cors(json!({"origins": [".*\\.?example(?:-foo)?.test"]})).await;
    for (domain, allowed) in [
        ("example.test", true),
        ("www.example.test", true),
        ("example-foo.test", true),
        ("www.example-foo.test", true),
        ("www.example-fo0.test", false),
    ] {
        let r = send(&proxy, "GET", "/api", &[("origin", domain)]).await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("access-control-allow-origin"),
            allowed.then_some(domain)
        );
        assert_eq!(r.header("vary"), Some("Origin"));
    }
}

#[tokio::test]
async fn validates_flat_strings_scheme_and_port() {
    // "properly validates flat strings"
    let (_up, proxy) =
        cors(json!({"origins": ["http://my-site.test", "http://my-other-site.test"]})).await;
    for (origin, want) in [
        ("http://my-site.test", Some("http://my-site.test")),
        ("http://bad-guys.test", None),
        ("http://my-site.test.bad-guys.test", None),
    ] {
        let r = send(&proxy, "OPTIONS", "/api", &[("origin", origin)]).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("access-control-allow-origin"), want, "{origin}");
    }
    // "validates scheme and port"
    let (_up, proxy) =
        cors(json!({"origins": ["http://my-site.test", "https://my-other-site.test:9000"]})).await;
    for (origin, want) in [
        ("http://my-site.test", Some("http://my-site.test")),
        ("http://my-site.test:80", Some("http://my-site.test")),
        ("http://my-site.test:8000", None),
        ("https://my-site.test", None),
        (
            "https://my-other-site.test:9000",
            Some("https://my-other-site.test:9000"),
        ),
        ("https://my-other-site.test:9001", None),
    ] {
        let r = send(&proxy, "GET", "/api", &[("origin", origin)]).await;
        assert_eq!(r.header("access-control-allow-origin"), want, "{origin}");
    }
}

#[tokio::test]
async fn credentials_and_wildcards() {
    // "responds with the requested Origin (including port) when config.credentials=true"
    let (_up, proxy) = cors(json!({"origins": ["*"], "credentials": true})).await;
    for origin in ["http://www.example.net", "http://www.example.net:3000"] {
        let r = send(&proxy, "GET", "/api", &[("origin", origin)]).await;
        assert_eq!(r.header("access-control-allow-origin"), Some(origin));
        assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
        assert_eq!(r.header("vary"), Some("Origin"));
    }
    // "responds with * when origin is explicitly set to * and config.credentials=false"
    let (_up, proxy) = cors(json!({"origins": ["*"], "credentials": false})).await;
    let r = send(
        &proxy,
        "GET",
        "/api",
        &[("origin", "http://www.example.net")],
    )
    .await;
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_none(&r, &["access-control-allow-credentials", "vary"]);
    // "responds with * when origin has multiple entries and have * included"
    let (_up, proxy) = cors(json!({"origins": ["foo.bar", "*"]})).await;
    let r = send(
        &proxy,
        "GET",
        "/api",
        &[("origin", "http://www.example.net")],
    )
    .await;
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn upstream_headers_are_kept_or_replaced() {
    // "sets Vary and don't override existing Vary header"
    let (_up, proxy) = cors(json!({"origins": ["example.test"]})).await;
    let r = send(
        &proxy,
        "GET",
        "/api/response-headers?vary=Accept-Encoding",
        &[("origin", "example.test")],
    )
    .await;
    assert_eq!(all(&r, "vary"), ["Accept-Encoding", "Origin"]);
    // "removes upstream ACAO header when no match is found"
    let (_up, proxy) = cors(json!({
        "credentials": true, "max_age": 1728000, "methods": null,
        "headers": ["DNT", "X-CustomHeader", "Authorization"],
        "origins": ["a.xxx.test", "allowed-domain.test"]
    }))
    .await;
    let path = "/api/response-headers?Response-Header=is-added&Access-Control-Allow-Origin=*";
    let r = send(&proxy, "GET", path, &[("origin", "allowed-domain.test")]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("response-header"), Some("is-added"));
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("allowed-domain.test")
    );
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(r.header("vary"), Some("Origin"));
    assert_eq!(r.body["headers"]["origin"], "allowed-domain.test");
    let r = send(&proxy, "GET", path, &[("origin", "disallowed-domain.test")]).await;
    assert_eq!(r.header("response-header"), Some("is-added"));
    assert_eq!(r.header("access-control-allow-origin"), None);
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
}

#[tokio::test]
async fn allow_origin_absent() {
    let config = |absent: bool| {
        json!({"allow_origin_absent": absent, "origins": ["foo.bar"],
               "exposed_headers": ["x-auth-token"], "credentials": true})
    };
    for origin in [None, Some("")] {
        let headers: Vec<(&str, &str)> = origin.map(|o| ("origin", o)).into_iter().collect();
        // "when allow_origin_absent is disabled … no ACAO is returned"
        let (_up, proxy) = cors(config(false)).await;
        let r = send(&proxy, "GET", "/api", &headers).await;
        assert_eq!(r.status, 200);
        assert_none(
            &r,
            &[
                "access-control-allow-origin",
                "access-control-allow-credentials",
                "access-control-expose-headers",
            ],
        );
        // "when allow_origin_absent is enabled … ACAO is returned"
        let (_up, proxy) = cors(config(true)).await;
        let r = send(&proxy, "GET", "/api", &headers).await;
        assert_eq!(r.header("access-control-allow-origin"), Some("foo.bar"));
        assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
        assert_eq!(
            r.header("access-control-expose-headers"),
            Some("x-auth-token")
        );
    }
}

/// Hostile origins: a regex is never a substring match; a huge origin, a
/// non-UTF-8 one and odd spellings are answered without an ACAO and the
/// request still proxied.
#[tokio::test]
async fn hostile_origins() {
    let (up, proxy) =
        cors(json!({"origins": ["bar.test", "(.*\\.)?example\\.test"], "credentials": true})).await;
    for evil in [
        "http://example.test.evil.test",
        "http://evilexample.test",
        "http://example.test@evil.test",
        "http://evil.test/.example.test",
        "null",
    ] {
        let r = send(&proxy, "GET", "/api", &[("origin", evil)]).await;
        assert_eq!(r.status, 200, "{evil}");
        assert_eq!(r.header("access-control-allow-origin"), None, "{evil}");
    }
    let huge = format!("http://{}.example.test", "a".repeat(16 * 1024));
    let r = send(&proxy, "GET", "/api", &[("origin", &huge)]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some(huge.as_str()));
    let request = b"GET /api HTTP/1.1\r\nHost: x\r\nOrigin: http://\xff\xfe.example.test\r\nConnection: close\r\n\r\n";
    let raw = crate::support::raw::exchange(proxy.http, request, false).await;
    assert_eq!(raw.status, 200, "{raw:?}");
    assert!(
        !raw.head
            .to_ascii_lowercase()
            .contains("access-control-allow-origin"),
        "{}",
        raw.head
    );
    assert_eq!(up.requests(), 7);
}
