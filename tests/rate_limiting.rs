//! Kong's `rate-limiting` plugin through the real proxy on loopback, each
//! test naming the case of Kong's
//! `spec/03-plugins/23-rate-limiting/04-access_spec.lua` it mirrors.
//!
//! - `rate_limiting/local.rs`: the `local` policy in-process (headers,
//!   refusals, every `limit_by`, windows, custom answers);
//! - `rate_limiting/redis.rs`: the `redis` policy with a real redis-server
//!   shared by two kingress binaries, `sync_rate`, `fault_tolerant`;
//! - `rate_limiting/admin.rs`: the Admin API and kong.yml round trip;
//! - `rate_limiting/consumer.rs`: a consumer's own instance over the route's.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

#[path = "rate_limiting/admin.rs"]
mod admin;
#[path = "rate_limiting/consumer.rs"]
mod consumer;
#[path = "rate_limiting/local.rs"]
mod local;
#[path = "rate_limiting/redis.rs"]
mod redis;

use kingress::model::plugin::Scope;
use kingress::model::{PluginConfig, PluginInstance, Route};
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use support::proxy::source;

/// A `rate-limiting` instance with `config`.
pub fn plugin(id: &str, config: &Value) -> PluginInstance {
    PluginInstance {
        id: id.to_string(),
        name: "rate-limiting".to_string(),
        instance_name: None,
        source: source("KongPlugin", id),
        protocols: Vec::new(),
        ordering: Default::default(),
        config: PluginConfig::parse("rate-limiting", config).unwrap(),
        // Tests attach it to one route.
        scope: Scope {
            route: true,
            service: false,
            holder: None,
        },
    }
}

/// `route` with the instance attached.
pub fn limited(mut route: Route, plugin: PluginInstance) -> Route {
    route.plugins.push(plugin);
    route
}

/// One answer: status, headers, JSON body (or null).
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    pub fn number(&self, name: &str) -> i64 {
        self.header(name)
            .unwrap_or_else(|| panic!("no {name} header: {:?}", self.headers))
            .parse()
            .unwrap()
    }
}

/// `GET url` with `headers`.
pub async fn get(url: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = support::client::http1().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    Reply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

/// Waits, if needed, until at least `margin` seconds remain in the current
/// `window` (seconds), so a test's requests all fall in one window.
pub async fn within_one_window(window: u64, margin: u64) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let left = window - now.as_secs() % window;
    if left <= margin {
        tokio::time::sleep(Duration::from_secs(left) + Duration::from_millis(50)).await;
    }
}
