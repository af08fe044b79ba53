//! Kong's `cors` plugin (`kong/plugins/cors/handler.lua`). A preflight (an
//! `OPTIONS` request with an `Origin` and `Access-Control-Request-Method`)
//! is answered here with 200 and the `Access-Control-Allow-*` headers,
//! before any authentication plugin runs (cors' priority, 2000, is above
//! theirs), unless `preflight_continue` proxies it. Every other response,
//! the upstream's or a local one (a refusal, a 502), gets
//! `Access-Control-Allow-Origin`, `-Credentials`, `-Expose-Headers` and
//! `Vary: Origin` in the response phase.

use super::{Access, Exchange, LocalBody, LocalResponse, Phases, PluginError, Runtime};
use crate::model::PluginInstance;
use crate::model::plugin::CorsConfig;
use crate::model::plugin::cors::Allowed;
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use std::sync::Arc;

const REQUEST_PRIVATE_NETWORK: HeaderName =
    HeaderName::from_static("access-control-request-private-network");
const ALLOW_PRIVATE_NETWORK: HeaderName =
    HeaderName::from_static("access-control-allow-private-network");
const TRUE: HeaderValue = HeaderValue::from_static("true");
const VARY_ORIGIN: HeaderValue = HeaderValue::from_static("Origin");

/// What the access phase saw, for the response phase (the request's
/// headers are gone once it has been forwarded). Kept only when the request
/// had an `Origin`.
#[derive(Clone, Debug)]
struct Seen {
    /// The request's `Origin`, not empty.
    origin: HeaderValue,
    /// A preflight: the response phase adds nothing (answered here, or
    /// left to the upstream by `preflight_continue`).
    preflight: bool,
}

/// How `Vary: Origin` is added: replacing (a preflight answer) or appended
/// to the upstream's (Kong's `add_header` in `header_filter`).
#[derive(Clone, Copy)]
enum Vary {
    Set,
    Add,
}

impl Phases for CorsConfig {
    const SHAPES_ANSWER: bool = true;

    async fn access(
        config: &Arc<Self>,
        _instance: &PluginInstance,
        exchange: &mut Exchange<'_>,
        _runtime: &Runtime,
    ) -> Result<Access, PluginError> {
        let headers = exchange.headers();
        let Some(origin) = headers.get(ORIGIN).filter(|o| !o.is_empty()).cloned() else {
            return Ok(Access::Continue);
        };
        let preflight = exchange.request.method() == Method::OPTIONS
            && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD);
        if !preflight || config.preflight_continue {
            exchange.context.insert(Seen { origin, preflight });
            return Ok(Access::Continue);
        }
        let mut answer = HeaderMap::new();
        allow_origin(config, Some(&origin), &mut answer, Vary::Set);
        let allow_headers = match config.headers.as_deref() {
            Some(list) if !list.is_empty() => HeaderValue::from_str(&list.join(",")).ok(),
            _ => headers.get(ACCESS_CONTROL_REQUEST_HEADERS).cloned(),
        };
        if let Some(value) = allow_headers {
            answer.insert(ACCESS_CONTROL_ALLOW_HEADERS, value);
        }
        let methods: Vec<&str> = config.methods.iter().map(|m| m.as_str()).collect();
        if let Ok(value) = HeaderValue::from_str(&methods.join(",")) {
            answer.insert(ACCESS_CONTROL_ALLOW_METHODS, value);
        }
        if let Some(max_age) = &config.max_age
            && let Ok(value) = HeaderValue::from_str(&max_age.to_string())
        {
            answer.insert(ACCESS_CONTROL_MAX_AGE, value);
        }
        if config.private_network
            && headers
                .get(REQUEST_PRIVATE_NETWORK)
                .is_some_and(|v| v == "true")
        {
            answer.insert(ALLOW_PRIVATE_NETWORK, TRUE);
        }
        exchange.context.insert(Seen { origin, preflight });
        Ok(Access::Respond(LocalResponse {
            status: StatusCode::OK,
            headers: answer,
            body: LocalBody::Raw(bytes::Bytes::new()),
        }))
    }

    fn response(config: &Arc<Self>, exchange: &Exchange<'_>, headers: &mut HeaderMap) {
        let seen = exchange.context.get::<Seen>();
        if seen.is_some_and(|s| s.preflight) {
            return;
        }
        let origin = seen.map(|s| &s.origin);
        if origin.is_none() && !config.allow_origin_absent {
            return;
        }
        allow_origin(config, origin, headers, Vary::Add);
        if let Some(exposed) = config.exposed_headers.as_deref().filter(|e| !e.is_empty())
            && let Ok(value) = HeaderValue::from_str(&exposed.join(","))
        {
            headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, value);
        }
    }
}

/// Kong's `configure_origin` then `configure_credentials`.
fn allow_origin(
    config: &CorsConfig,
    origin: Option<&HeaderValue>,
    headers: &mut HeaderMap,
    vary: Vary,
) {
    let allowed = match origin.map(HeaderValue::to_str) {
        None => config.compiled.allow(None),
        Some(Ok(text)) => config.compiled.allow(Some(text)),
        Some(Err(_)) => config.compiled.allow_opaque(),
    };
    if allowed != (Allowed::Wildcard { vary: false }) {
        add_vary(headers, vary);
    }
    let allow_all = matches!(allowed, Allowed::Wildcard { .. });
    match allowed {
        Allowed::Wildcard { .. } => {
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        }
        Allowed::Origin(value) => match HeaderValue::from_str(&value) {
            Ok(value) => {
                headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, value);
            }
            Err(_) => {
                headers.remove(ACCESS_CONTROL_ALLOW_ORIGIN);
            }
        },
        Allowed::Nobody => {
            headers.remove(ACCESS_CONTROL_ALLOW_ORIGIN);
        }
    }
    if !config.credentials {
        return;
    }
    if !allow_all {
        headers.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, TRUE);
        return;
    }
    // `*` cannot go with credentials: the request's own origin is sent.
    if let Some(origin) = origin {
        add_vary(headers, vary);
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, TRUE);
    }
}

fn add_vary(headers: &mut HeaderMap, vary: Vary) {
    match vary {
        Vary::Set => {
            headers.insert(VARY, VARY_ORIGIN);
        }
        Vary::Add => {
            headers.append(VARY, VARY_ORIGIN);
        }
    }
}
