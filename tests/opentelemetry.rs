//! Kong's `opentelemetry` plugin through the real proxy on loopback, with
//! a loopback OTLP/HTTP receiver that decodes the protobuf exports. Each
//! test names the case of Kong's `spec/03-plugins/37-opentelemetry/` it
//! mirrors.
//!
//! - `opentelemetry/export.rs`: spans and log records exported, batching,
//!   retries, sampling, a stuck collector;
//! - `opentelemetry/propagation.rs`: what the upstream sees;
//! - `opentelemetry/admin.rs`: kong.yml and the Admin API with the binary.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

#[path = "opentelemetry/admin.rs"]
mod admin;
#[path = "opentelemetry/export.rs"]
mod export;
#[path = "opentelemetry/propagation.rs"]
mod propagation;

use kingress::model::plugin::Scope;
use kingress::model::{PluginConfig, PluginInstance};
use serde_json::Value;
use support::proxy::{TestProxy, route, service, source, table};
use support::upstream::Upstream;

/// An `opentelemetry` instance with `config`.
pub fn plugin(id: &str, config: &Value) -> PluginInstance {
    PluginInstance {
        id: id.to_string(),
        name: "opentelemetry".to_string(),
        instance_name: None,
        source: source("KongPlugin", id),
        protocols: Vec::new(),
        ordering: Default::default(),
        config: PluginConfig::parse("opentelemetry", config).unwrap(),
        scope: Scope {
            route: true,
            service: false,
            holder: None,
        },
    }
}

/// A proxy with one route `/` to `up`, carrying the plugin with `config`.
pub async fn traced(up: &Upstream, config: &Value) -> TestProxy {
    let mut r = route("r", &["/"], "svc");
    r.plugins.push(plugin("otel-1", config));
    TestProxy::start(table(vec![r], vec![service("svc", &[up.addr])])).await
}

/// `GET url` with `headers`: status, response headers, and the headers the
/// upstream saw (from its echo).
pub async fn get(
    url: &str,
    headers: &[(&str, &str)],
) -> (
    u16,
    reqwest::header::HeaderMap,
    serde_json::Map<String, Value>,
) {
    let mut request = support::client::http1().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let seen = body["headers"].as_object().cloned().unwrap_or_default();
    (status, headers, seen)
}

/// The upstream's view of one header.
pub fn seen<'a>(headers: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(Value::as_str)
}
