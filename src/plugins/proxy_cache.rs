//! `proxy-cache` (Kong's `kong/plugins/proxy-cache/handler.lua`): caches
//! upstream responses in memory by Kong's cache key. The access phase
//! answers a fresh hit itself (stored status, headers and body, with
//! `Age`, `X-Cache-Status: Hit` and `X-Cache-Key`); on a miss or a stale
//! entry it lets the request through and the body phase copies the
//! response as it streams to the client, storing it once complete if it
//! is cacheable and small enough. `X-Cache-Status` says `Miss`, `Hit`,
//! `Refresh` (stale entry replaced) or `Bypass` (not cacheable).

mod control;
mod key;
mod store;
mod tee;

use control::{Directives, content_type_matches, resource_ttl};
use key::{KeyInput, build as cache_key};
pub use store::{Bounds, DEFAULT_MAX_ENTRY, DEFAULT_MEMORY, Entry, Store};

use super::{
    Access, BoxBody, Exchange, LocalBody, LocalResponse, Phases, PluginError, Runtime, SetHeader,
};
use crate::model::PluginInstance;
use crate::model::plugin::proxy_cache::ProxyCacheConfig;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use http_body_util::BodyExt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

const X_CACHE_STATUS: HeaderName = HeaderName::from_static("x-cache-status");
const X_CACHE_KEY: HeaderName = HeaderName::from_static("x-cache-key");
const AGE: HeaderName = http::header::AGE;
/// A request carrying this header (any value) gets every diagnostic header,
/// whatever `response_headers` says (Kong's `ngx.var.http_kong_debug`).
const KONG_DEBUG: &str = "kong-debug";

/// Which diagnostic headers the client gets.
#[derive(Clone, Copy, Debug)]
struct Show {
    age: bool,
    status: bool,
    key: bool,
}

/// What the access phase leaves for the body phase on a miss or refresh.
#[derive(Clone, Debug)]
struct Pending {
    key: String,
    show: Show,
}

impl Phases for ProxyCacheConfig {
    const SHAPES_ANSWER: bool = true;

    async fn access(
        config: &Arc<Self>,
        _instance: &PluginInstance,
        exchange: &mut Exchange<'_>,
        runtime: &Runtime,
    ) -> Result<Access, PluginError> {
        let show = Show::of(config, exchange.headers());
        let cc = directives(config, exchange.headers());
        if !cacheable_request(config, exchange, &cc) {
            show.set_status(&mut exchange.response_headers, "Bypass");
            return Ok(Access::Continue);
        }
        let request = &exchange.request;
        let input = KeyInput {
            consumer: exchange
                .authenticated
                .as_ref()
                .map(|a| a.consumer.id.as_str()),
            route: Some(exchange.route.name.as_str()),
            method: request.method(),
            uri: request.uri(),
            version: request.version(),
            headers: request.headers(),
        };
        let key = cache_key(&input, config);
        show.set_key(&mut exchange.response_headers, &key);
        let now = unix_now();
        let status = match runtime
            .proxy_cache
            .fetch(&config.memory.dictionary_name, &key)
        {
            // RFC 7234 5.2.1.7: the client wants a stored answer or none.
            None if config.cache_control && cc.has("only-if-cached") => {
                return Ok(Access::Respond(LocalResponse {
                    status: StatusCode::GATEWAY_TIMEOUT,
                    headers: HeaderMap::new(),
                    body: LocalBody::Json(serde_json::Value::Null),
                }));
            }
            None => "Miss",
            Some(entry) if stale(config, &cc, &entry, now) => "Refresh",
            Some(entry) => return Ok(Access::Respond(hit(&entry, &key, show, now))),
        };
        show.set_status(&mut exchange.response_headers, status);
        exchange.context.insert(Pending { key, show });
        Ok(Access::Continue)
    }

    fn body(
        config: &Arc<Self>,
        exchange: &Exchange<'_>,
        runtime: &Runtime,
        parts: &mut http::response::Parts,
        body: BoxBody,
    ) -> BoxBody {
        let Some(pending) = exchange.context.get::<Pending>() else {
            return body;
        };
        let cc = directives(config, &parts.headers);
        if !cacheable_response(config, parts, &cc) {
            pending.show.set_status(&mut parts.headers, "Bypass");
            return body;
        }
        let now = SystemTime::now();
        let ttl = if config.cache_control {
            resource_ttl(&cc, &parts.headers, now)
        } else {
            config.cache_ttl.unsigned_abs()
        };
        // Kong keeps an entry `storage_ttl` seconds when set (0: until
        // evicted), else as long as it is fresh.
        let storage_ttl = match config.storage_ttl {
            Some(0) => None,
            Some(t) => Some(t.unsigned_abs()),
            None => Some(ttl),
        };
        let entry = Entry {
            status: parts.status.as_u16(),
            headers: parts.headers.clone(),
            body: bytes::Bytes::new(),
            timestamp: seconds(now),
            ttl,
            storage_ttl,
        };
        let store = runtime.proxy_cache.clone();
        let dictionary = config.memory.dictionary_name.clone();
        let key = pending.key.clone();
        if http_body::Body::is_end_stream(&body) {
            store.store(&dictionary, &key, entry);
            return body;
        }
        let limit = usize::try_from(store.bounds().max_entry).unwrap_or(usize::MAX);
        let budget = store.reserve();
        let done = Box::new(move |bytes| {
            store.store(
                &dictionary,
                &key,
                Entry {
                    body: bytes,
                    ..entry
                },
            );
        });
        tee::Tee::new(body, limit, budget, done).boxed()
    }
}

// === impl Show ===

impl Show {
    fn of(config: &ProxyCacheConfig, headers: &HeaderMap) -> Self {
        let debug = headers.contains_key(KONG_DEBUG);
        let r = &config.response_headers;
        Self {
            age: debug || r.age,
            status: debug || r.x_cache_status,
            key: debug || r.x_cache_key,
        }
    }

    fn set_status(self, headers: &mut impl SetHeader, status: &'static str) {
        if self.status {
            headers.set_header(X_CACHE_STATUS, HeaderValue::from_static(status));
        }
    }

    fn set_key(self, headers: &mut impl SetHeader, key: &str) {
        if let Some(value) = self.key.then(|| HeaderValue::from_str(key).ok()).flatten() {
            headers.set_header(X_CACHE_KEY, value);
        }
    }
}

/// The `Cache-Control` directives of `headers`, read only when the
/// instance honours them.
fn directives(config: &ProxyCacheConfig, headers: &HeaderMap) -> Directives {
    if config.cache_control {
        Directives::of(headers)
    } else {
        Directives::default()
    }
}

/// Kong's `cacheable_request`: a configured method and, with
/// `cache_control`, no `no-store`/`no-cache`. Kong meant to refuse requests
/// with `Authorization` too (its check reads an nginx variable that is
/// never set); kingress does, as RFC 7234 3.2 requires of a shared cache.
fn cacheable_request(config: &ProxyCacheConfig, exchange: &Exchange<'_>, cc: &Directives) -> bool {
    config.caches_method(exchange.request.method())
        && !(config.cache_control
            && (cc.has("no-store")
                || cc.has("no-cache")
                || exchange.headers().contains_key(AUTHORIZATION)))
}

/// Kong's `cacheable_response`: a configured status, one `Content-Type`
/// matching `content_type`, and with `cache_control` no `private`,
/// `no-store` or `no-cache` and a positive freshness.
fn cacheable_response(
    config: &ProxyCacheConfig,
    parts: &http::response::Parts,
    cc: &Directives,
) -> bool {
    if !config.caches_status(parts.status.as_u16()) {
        return false;
    }
    let mut types = parts.headers.get_all(CONTENT_TYPE).iter();
    let content_type = match (types.next(), types.next()) {
        (Some(one), None) => one.to_str().unwrap_or_default(),
        _ => return false,
    };
    if content_type.is_empty() || !content_type_matches(content_type, &config.content_type) {
        return false;
    }
    if !config.cache_control {
        return true;
    }
    !(cc.has("private") || cc.has("no-store") || cc.has("no-cache"))
        && resource_ttl(cc, &parts.headers, SystemTime::now()) > 0
}

/// Whether a stored entry may not be served: older than `cache_ttl`, or
/// with `cache_control` failing the request's `max-age`, `max-stale` or
/// `min-fresh`.
fn stale(config: &ProxyCacheConfig, cc: &Directives, entry: &Entry, now: u64) -> bool {
    let age = now.saturating_sub(entry.timestamp) as f64;
    if !config.cache_control {
        return age > config.cache_ttl as f64;
    }
    let ttl = entry.ttl as f64;
    cc.number("max-age").is_some_and(|max| age > max)
        || cc.number("max-stale").is_some_and(|max| age - ttl > max)
        || cc.number("min-fresh").is_some_and(|min| ttl - age < min)
}

/// The local answer of a hit: the stored response without hop-by-hop
/// headers, `Content-Length` (the body sets it), rate-limit remainders (the
/// current request's own apply) or the miss's diagnostic headers.
fn hit(entry: &Entry, key: &str, show: Show, now: u64) -> LocalResponse {
    let mut headers = HeaderMap::with_capacity(entry.headers.len() + 3);
    for (name, value) in &entry.headers {
        if replayable(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    if show.age {
        headers.insert(AGE, HeaderValue::from(now.saturating_sub(entry.timestamp)));
    }
    show.set_status(&mut headers, "Hit");
    show.set_key(&mut headers, key);
    LocalResponse {
        status: StatusCode::from_u16(entry.status).unwrap_or(StatusCode::OK),
        headers,
        body: LocalBody::Raw(entry.body.clone()),
    }
}

/// Kong's `overwritable_header` minus the diagnostic headers it resets.
fn replayable(name: &HeaderName) -> bool {
    const DROPPED: [&str; 12] = [
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "age",
        "x-cache-status",
        "x-cache-key",
    ];
    let name = name.as_str();
    !DROPPED.contains(&name) && !name.contains("ratelimit-remaining")
}

fn unix_now() -> u64 {
    seconds(SystemTime::now())
}

fn seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests;
