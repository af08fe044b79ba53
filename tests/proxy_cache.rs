//! Kong's `proxy-cache` plugin through the real kingress binary on
//! loopback, configured by a kong.yml shaped like the setup of Kong's
//! `spec/03-plugins/31-proxy-cache/02-access_spec.lua` (routes by path here,
//! `/route-N/…`, where Kong's spec uses hosts `route-N.test`). Each test
//! names the Kong case it mirrors.
//!
//! - `proxy_cache/access.rs`: hits, misses, bypasses, keys, TTLs;
//! - `proxy_cache/control.rs`: `cache_control` (request and response
//!   `Cache-Control`, `Expires`), `only-if-cached`;
//! - `proxy_cache/admin.rs`: Kong's `/proxy-cache` Admin API
//!   (`03-api_spec.lua`) and the plugin's Admin API / kong.yml round trip;
//! - `proxy_cache/bounds.rs`: what kingress adds: the per-entry bound,
//!   streaming, repeated headers.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

#[path = "proxy_cache/access.rs"]
mod access;
#[path = "proxy_cache/admin.rs"]
mod admin;
#[path = "proxy_cache/bounds.rs"]
mod bounds;
#[path = "proxy_cache/control.rs"]
mod control;

use support::standalone::Standalone;
use support::upstream::Upstream;

/// The id of the route-1 instance (Kong's `plugin1` in `03-api_spec.lua`).
pub const PLUGIN1: &str = "a1b2c3d4-0000-4000-8000-000000000001";

/// The routes of Kong's spec with their proxy-cache (and key-auth)
/// configurations, as kong.yml route entries.
fn routes() -> String {
    let memory = "strategy: memory, memory: {dictionary_name: kong}, \
                  content_type: [text/plain, application/json]";
    let cache = |extra: &str| {
        format!(
            "[{{name: proxy-cache, config: {{{memory}{sep}{extra}}}}}]",
            sep = if extra.is_empty() { "" } else { ", " }
        )
    };
    let key_auth = "[{name: key-auth}]";
    let key_auth_cache =
        format!("[{{name: key-auth}}, {{name: proxy-cache, config: {{{memory}}}}}]");
    let mut routes: Vec<(u32, String)> = vec![
        (1, format!("[{{name: proxy-cache, id: {PLUGIN1}, config: {{{memory}}}}}]")),
        (2, cache("")),
        (3, "[]".into()),
        (4, "[]".into()),
        (5, key_auth_cache),
        (6, cache("cache_ttl: 1")),
        (7, cache("cache_control: true")),
        (8, cache("cache_control: true, storage_ttl: 600")),
        (9, cache("cache_ttl: 1, storage_ttl: 60")),
        (
            10,
            "[{name: proxy-cache, config: {strategy: memory, memory: {dictionary_name: kong}, \
             content_type: ['text/html; charset=utf-8', application/json], \
             response_code: [200, 417], request_method: [GET, HEAD, POST]}}]"
                .into(),
        ),
        (11, cache("response_code: [200], request_method: [GET, HEAD, POST], vary_headers: [foo]")),
        (12, cache("response_code: [200], request_method: [GET, HEAD, POST], vary_query_params: [foo]")),
        (13, key_auth.into()),
        (14, key_auth.into()),
        (15, key_auth.into()),
        (16, key_auth.into()),
        (17, "[{name: proxy-cache, config: {strategy: memory, content_type: ['*/*']}}]".into()),
        (
            18,
            "[{name: proxy-cache, config: {strategy: memory, content_type: ['application/xml; charset=UTF-8']}}]".into(),
        ),
        (19, "[{name: proxy-cache, config: {strategy: memory, content_type: ['application/xml;']}}]".into()),
        (20, cache("ignore_uri_case: true")),
        (21, cache("ignore_uri_case: false")),
        (22, cache("response_headers: {age: false, X-Cache-Status: false, X-Cache-Key: false}")),
        (23, cache("response_headers: {age: true, X-Cache-Status: true, X-Cache-Key: true}")),
        (24, cache("")),
    ];
    routes.sort_by_key(|(n, _)| *n);
    routes
        .into_iter()
        .map(|(n, plugins)| {
            format!(
                "      - name: route-{n}\n        paths: [/route-{n}]\n        plugins: {plugins}\n"
            )
        })
        .collect()
}

/// kong.yml: one service to `upstream` with the spec's routes, the
/// consumers bob and alice (key-auth keys `bob` and `alice`) and a global
/// proxy-cache instance (routes 3, 4 and 13–16 use it).
pub fn kong_yml(upstream: &Upstream) -> String {
    format!(
        r#"_format_version: "3.0"
services:
  - name: httpbin
    url: http://{addr}
    routes:
{routes}consumers:
  - username: bob
    keyauth_credentials:
      - key: bob
  - username: alice
    keyauth_credentials:
      - key: alice
plugins:
  - name: proxy-cache
    config:
      strategy: memory
      content_type: [text/plain, application/json]
      memory: {{dictionary_name: kong}}
"#,
        addr = upstream.addr,
        routes = routes(),
    )
}

/// kingress (the binary) serving [`kong_yml`] for a fresh upstream.
pub struct Kong {
    pub k: Standalone,
    pub upstream: Upstream,
    _dir: tempfile::TempDir,
}

impl Kong {
    /// Starts with the binary's defaults plus `args`.
    pub async fn start(args: &[&str]) -> Kong {
        let upstream = Upstream::start("httpbin").await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kong.yml"), kong_yml(&upstream)).unwrap();
        let k = Standalone::start(dir.path(), args).await;
        Kong {
            k,
            upstream,
            _dir: dir,
        }
    }

    /// `GET path` on the proxy with `headers`.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.send(reqwest::Method::GET, path, headers).await
    }

    /// `method path` on the proxy with `headers`.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request =
            support::client::http1().request(method, format!("http://{}{path}", self.k.http));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.bytes().await.unwrap(),
        }
    }
}

/// One answer.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: bytes::Bytes,
}

impl Reply {
    /// A header's value, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// `X-Cache-Status`.
    pub fn cache(&self) -> Option<&str> {
        self.header("x-cache-status")
    }

    /// `X-Cache-Key`, checked to be Kong's 64 hex digits.
    pub fn key(&self) -> String {
        let key = self.header("x-cache-key").expect("an X-Cache-Key");
        assert_eq!(key.len(), 64, "{key}");
        assert!(key.bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
        key.to_string()
    }
}
