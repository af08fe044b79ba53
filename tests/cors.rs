//! Kong's `cors` plugin through the real proxy on loopback, each test
//! naming the case of Kong's `spec/03-plugins/13-cors/01-access_spec.lua`
//! it mirrors (the regex table is run in full by the unit tests of
//! `model::plugin::cors`; a sample of it runs here).
//!
//! - `cors/preflight.rs`: `OPTIONS` preflights answered here, or proxied;
//!   the order with the authentication plugins;
//! - `cors/simple.rs`: the headers on every other response, the upstream's,
//!   a refusal's, a 502's; hostile origins;
//! - `cors/admin.rs`: kong.yml and the Admin API with the binary.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

#[path = "cors/admin.rs"]
mod admin;
#[path = "cors/preflight.rs"]
mod preflight;
#[path = "cors/simple.rs"]
mod simple;

use kingress::model::PluginInstance;
use kingress::model::plugin::order_plugins;
use serde_json::Value;
use support::auth::plugin;
use support::oauth2::{Reply, request};
use support::proxy::{TestProxy, route, service, table};
use support::upstream::Upstream;

/// Kong's default `Access-Control-Allow-Methods`.
pub const CORS_DEFAULT_METHODS: &str = "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT";

/// A proxy whose route `/api` carries cors with `config`.
pub async fn cors(config: Value) -> (Upstream, TestProxy) {
    with_plugins(vec![plugin("cors", &config)]).await
}

/// A proxy whose route `/api` (stripped: `/api/status/201` reaches the
/// upstream's `/status/201`) carries `plugins`; consumer `bob` has
/// key-auth key `k`.
pub async fn with_plugins(mut plugins: Vec<PluginInstance>) -> (Upstream, TestProxy) {
    let up = Upstream::start("api").await;
    order_plugins(&mut plugins);
    let mut r = route("api", &["/api"], "api");
    r.strip_path = true;
    r.plugins = plugins;
    let mut t = table(vec![r], vec![service("api", &[up.addr])]);
    let bob = support::auth::consumer(&mut t, "bob");
    support::auth::credential(
        &mut t,
        kingress::model::CredentialType::KeyAuth,
        &bob,
        serde_json::json!({"key": "k"}),
    );
    (up, TestProxy::start(t).await)
}

/// A preflight for `GET` from `origin` with `extra` headers.
pub async fn preflight(proxy: &TestProxy, origin: &str, extra: &[(&str, &str)]) -> Reply {
    let mut headers = vec![("origin", origin), ("access-control-request-method", "GET")];
    headers.extend_from_slice(extra);
    request("OPTIONS", &proxy.http_url("/api"), &headers, None).await
}

/// `method /api…` with `headers`.
pub async fn send(proxy: &TestProxy, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    request(method, &proxy.http_url(path), headers, None).await
}

/// Every value of header `name`.
pub fn all(reply: &Reply, name: &str) -> Vec<String> {
    reply
        .headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// Asserts none of the preflight-only and credential headers is present.
#[track_caller]
pub fn assert_none(reply: &Reply, names: &[&str]) {
    for name in names {
        assert_eq!(reply.header(name), None, "{name} in {:?}", reply.headers);
    }
}
