//! `rate-limiting`: counts requests per window (second to year) by consumer,
//! credential, IP, service, header or path, in this process (`local`) or in
//! Redis (`redis`), refuses those over a limit with `error_code` and
//! `error_message`, and tells clients where they stand with Kong's
//! `X-RateLimit-*`, `RateLimit-*` and `Retry-After` headers.

mod digits;
mod local;
mod redis;
mod sharded;
mod usage;
mod window;

use super::{Access, Exchange, Phases, PluginError, Runtime};
use crate::model::PluginInstance;
use crate::model::plugin::rate_limiting::{LimitBy, Policy, RateLimitingConfig};
use http::StatusCode;
use std::sync::Arc;

pub(crate) use usage::{Usage, Used};
use window::Now;

/// This process's counters: one local table for every `local` instance, and
/// per Redis server a connection and the batched counts.
#[derive(Clone)]
pub struct State {
    local: Arc<local::LocalCounters>,
    redis: Arc<redis::RedisCounters>,
}

// === impl State ===

impl State {
    /// Empty counters.
    pub fn new() -> Self {
        Self {
            local: Arc::new(local::LocalCounters::new()),
            redis: Arc::new(redis::RedisCounters::new()),
        }
    }
}

impl Default for State {
    fn default() -> Self {
        Self::new()
    }
}

impl Phases for RateLimitingConfig {
    async fn access(
        config: &Arc<Self>,
        instance: &PluginInstance,
        exchange: &mut Exchange<'_>,
        runtime: &Runtime,
    ) -> Result<Access, PluginError> {
        let now = Now::current();
        // Kong counts per route and service (`ratelimit:<route>:<service>:
        // <identifier>`), whichever instance applies: a consumer's own
        // limit, or a global one, is counted apart on each route.
        let _ = instance;
        let service = exchange.service.map_or("", |s| s.name.as_str());
        let route = &exchange.route.name;
        let mut key = String::with_capacity(route.len() + service.len() + 48);
        key.push_str(route);
        key.push(':');
        key.push_str(service);
        key.push(':');
        identifier(config, exchange, &mut key);
        let state = &runtime.rate_limiting;
        let usage = match config.policy {
            Policy::Local => Ok(state.local.hit(&key, &now, &config.limits)),
            // Boxed: the Redis round trip's future would otherwise make
            // the local policy's as large.
            Policy::Redis => Box::pin(state.redis.hit(config, &key, &now)).await,
        };
        let usage = match usage {
            Ok(usage) => usage,
            // Kong: `fault_tolerant` proxies without limiting (and without
            // headers); otherwise the request fails with a 500.
            Err(e) if config.fault_tolerant => {
                tracing::error!(error = %e, "rate-limiting: failed to get usage");
                return Ok(Access::Continue);
            }
            Err(e) => return Err(PluginError::Internal(format!("rate-limiting: {e}"))),
        };
        if !config.hide_client_headers {
            usage.write_headers(&now, &mut exchange.response_headers);
        }
        if usage.stop.is_some() {
            return Err(PluginError::RateLimited {
                status: StatusCode::from_u16(config.error_code)
                    .unwrap_or(StatusCode::TOO_MANY_REQUESTS),
                message: config.error_message.clone(),
            });
        }
        Ok(Access::Continue)
    }
}

/// Kong's `get_identifier`, appended to `key`: what the request is counted
/// by, falling back to the client's address when that is missing.
fn identifier(config: &RateLimitingConfig, exchange: &Exchange<'_>, key: &mut String) {
    let found = match config.limit_by {
        LimitBy::Service => exchange.service.map(|s| s.name.as_str()),
        LimitBy::Consumer => exchange.authenticated.as_ref().map(|a| {
            // Kong: the consumer's id, else the credential's.
            if a.consumer.id.is_empty() {
                a.credential.as_deref().unwrap_or_default()
            } else {
                a.consumer.id.as_str()
            }
        }),
        LimitBy::Credential => exchange
            .authenticated
            .as_ref()
            .and_then(|a| a.credential.as_deref()),
        LimitBy::Header => config
            .header_name
            .as_deref()
            .and_then(|h| exchange.headers().get(h))
            .and_then(|v| v.to_str().ok()),
        LimitBy::Path => config
            .path
            .as_deref()
            .filter(|p| *p == exchange.request.uri().path()),
        LimitBy::Ip => None,
    };
    match found.filter(|id| !id.is_empty()) {
        Some(id) => key.push_str(id),
        None => push_ip(key, exchange.forwarded_ip),
    }
}

/// Appends `ip` as `Display` writes it; an IPv4 address (the usual one)
/// without the formatter, which costs more than the rest of the key.
fn push_ip(key: &mut String, ip: std::net::IpAddr) {
    match ip {
        std::net::IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    key.push('.');
                }
                if octet >= 100 {
                    key.push(char::from(b'0' + octet / 100));
                }
                if octet >= 10 {
                    key.push(char::from(b'0' + octet / 10 % 10));
                }
                key.push(char::from(b'0' + octet % 10));
            }
        }
        std::net::IpAddr::V6(_) => {
            use std::fmt::Write;
            let _ = write!(key, "{ip}");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.20.199.255",
            "100.9.90.109",
            "::1",
            "2001:db8::8",
        ] {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            let mut key = String::from("k:");
            super::push_ip(&mut key, ip);
            assert_eq!(key, format!("k:{ip}"));
        }
    }
}
