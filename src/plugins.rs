//! The plugin phases and the plugins.
//!
//! For each request the proxy runs the route's plugins in order (already
//! sorted by Kong priority and `ordering`). The access phase may answer the
//! request itself ([`Access::Respond`], e.g. the token endpoint), fail it
//! ([`PluginError`], turned into HTTP by `proxy::respond`), or continue,
//! possibly after authenticating a consumer and setting upstream headers.
//! The response phase may adjust the upstream's response headers.

pub mod acl;
pub mod basic_auth;
pub mod consumer;
pub mod correlation_id;
pub mod cors;
mod exchange;
pub mod file_log;
pub mod grpc_web;
pub mod http_log;
pub mod ip_restriction;
pub mod jwt;
pub mod key_auth;
pub mod log;
pub mod oauth2;
pub mod openid_connect;
pub mod opentelemetry;
pub(crate) mod params;
pub mod pipeline;
pub mod prometheus;
pub mod proxy_cache;
pub mod queue;
pub mod rate_limiting;
mod real_ip;
pub mod request_size_limiting;
pub mod request_termination;
pub mod request_transformer;
pub mod response_transformer;

use crate::model::{PluginConfig, PluginInstance};
use crate::tokens::TokenStore;
use http::{HeaderMap, StatusCode};
use std::sync::Arc;

pub use exchange::{
    Authenticated, BoxBody, BoxError, Connection, Exchange, HeaderList, SetHeader, TrustedIps,
    empty_body, full_body,
};
pub use log::{LogRecord, RequestFacts, ResponseFacts};
pub use real_ip::{RealIp, RealIpError};

/// What the access phase decided.
#[derive(Debug)]
pub enum Access {
    /// Go on with the next plugin, then the upstream.
    Continue,
    /// Answer locally with this response; nothing is proxied.
    Respond(LocalResponse),
}

/// A response produced by a plugin (e.g. a token endpoint success).
#[derive(Debug)]
pub struct LocalResponse {
    /// Status code.
    pub status: StatusCode,
    /// Extra headers (`Cache-Control`, `Pragma`, …); they override the
    /// defaults (`Content-Type` of a JSON body, `Server`).
    pub headers: HeaderMap,
    /// The body.
    pub body: LocalBody,
}

/// The body of a [`LocalResponse`].
#[derive(Debug)]
pub enum LocalBody {
    /// JSON with `Content-Type: application/json; charset=utf-8`; `Null`
    /// sends no body at all.
    Json(serde_json::Value),
    /// Bytes as they are; the `Content-Type`, if any, is in the headers.
    Raw(bytes::Bytes),
}

impl From<serde_json::Value> for LocalBody {
    fn from(value: serde_json::Value) -> Self {
        LocalBody::Json(value)
    }
}

/// A plugin's refusal. `proxy::respond` is the only place these become HTTP.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// An OAuth 2.0 error (`{"error":…,"error_description":…}` body).
    #[error("oauth2 error {error}: {description}")]
    OAuth {
        /// HTTP status.
        status: StatusCode,
        /// `error` code.
        error: String,
        /// `error_description`.
        description: String,
        /// `state` echoed back, if the request carried one.
        state: Option<String>,
        /// `WWW-Authenticate` value, if any.
        www_authenticate: Option<String>,
        /// Add `Cache-Control: no-store` and `Pragma: no-cache`.
        no_store: bool,
    },
    /// 401 with a `{"message":…}` body and a `WWW-Authenticate` header.
    #[error("unauthorized: {message}")]
    Unauthorized {
        /// Body message.
        message: String,
        /// `WWW-Authenticate` value.
        www_authenticate: String,
    },
    /// 401 with a body other than `{"message":…}` (jwt's claim errors,
    /// `{"exp":"token expired"}`) or without a challenge.
    #[error("unauthorized: {body}")]
    UnauthorizedJson {
        /// The JSON body.
        body: serde_json::Value,
        /// `WWW-Authenticate` value, if any.
        www_authenticate: Option<String>,
    },
    /// 403 with a `{"message":…}` body.
    #[error("forbidden: {message}")]
    Forbidden {
        /// Body message.
        message: String,
        /// `WWW-Authenticate` value, if any.
        www_authenticate: Option<String>,
    },
    /// A `{"message":…}` body with `status` and no other header (Kong's
    /// `kong.response.error(status, message)`).
    #[error("{status}: {message}")]
    Plain {
        /// HTTP status.
        status: StatusCode,
        /// Body message.
        message: String,
    },
    /// 503: a dependency (token store, identity provider) is unavailable.
    /// The message is safe to show clients.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// 500 naming the configured `anonymous` consumer that does not exist,
    /// in Kong's words (configuration the operator wrote, not internals).
    #[error("anonymous consumer {0} is configured but doesn't exist")]
    AnonymousMissing(String),
    /// 500 with a message that is safe to show (no internals).
    #[error("internal: {0}")]
    Internal(String),
    /// The request body could not be read.
    #[error("bad request body: {0}")]
    Body(String),
    /// A rate limit is reached: `status` (Kong's `error_code`, 429 by
    /// default) with `{"message": …}`. The plugin's headers (`X-RateLimit-*`,
    /// `RateLimit-*`, `Retry-After`) travel in `Exchange::response_headers`,
    /// which the proxy adds to refusals too.
    #[error("rate limit exceeded ({status})")]
    RateLimited {
        /// `error_code`.
        status: StatusCode,
        /// `error_message`.
        message: String,
    },
    /// The request body is larger than the plugin reads (Kong's 413).
    #[error("request body larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit, in bytes (for the log).
        limit: usize,
    },
}

/// A plugin refused the request body while it streamed to the upstream
/// (its length was not known in advance). Found in the upstream client's
/// error chain, it becomes `status` with `{"message": message}` instead of a
/// 502: the upstream never received a complete request.
#[derive(Clone, Copy, Debug, thiserror::Error)]
#[error("request body refused while streaming: {status}")]
pub struct BodyRefused {
    /// HTTP status.
    pub status: StatusCode,
    /// Body message.
    pub message: &'static str,
}

/// Shared state the plugins use across requests: the token store and each
/// plugin's caches. One per process.
#[derive(Clone)]
pub struct Runtime {
    /// Issued tokens, codes and refresh tokens.
    pub tokens: TokenStore,
    /// Peers whose `X-Forwarded-Proto` and real-IP header are believed.
    pub trusted_ips: TrustedIps,
    /// Where a trusted peer puts the client address (`--real-ip-header`).
    pub real_ip: RealIp,
    /// oauth2 state (secret-verification cache, hashing pool).
    pub oauth2: oauth2::State,
    /// openid-connect state (discovery/JWKS/introspection caches, IdP client).
    pub oidc: openid_connect::State,
    /// rate-limiting counters (local windows, Redis connections and batches).
    pub rate_limiting: rate_limiting::State,
    /// opentelemetry export queues and their drop counter.
    pub opentelemetry: opentelemetry::State,
    /// proxy-cache entries (bounded memory, every instance's namespaces).
    pub proxy_cache: proxy_cache::Store,
    /// correlation-id's per-process UUID and counter.
    pub correlation_id: correlation_id::State,
    /// The key key-auth keys are digested with when the table keeps
    /// digests (the `Sealer`'s); `None` when it keeps the keys.
    pub api_keys: Option<crate::secret::DigestKey>,
    /// The metrics the prometheus plugin counts into (Kong's series).
    pub metrics: crate::metrics::Metrics,
    /// http-log queues.
    pub http_log: http_log::State,
    /// file-log writers.
    pub file_log: file_log::State,
}

// === impl Runtime ===

impl Runtime {
    /// Builds the runtime around a token store.
    pub fn new(tokens: TokenStore, trusted_ips: TrustedIps) -> Self {
        Self {
            tokens,
            trusted_ips,
            real_ip: RealIp::default(),
            oauth2: oauth2::State::new(),
            oidc: openid_connect::State::new(),
            rate_limiting: rate_limiting::State::new(),
            opentelemetry: opentelemetry::State::new(),
            proxy_cache: proxy_cache::Store::new(proxy_cache::Bounds::default()),
            correlation_id: correlation_id::State::new(),
            api_keys: None,
            metrics: crate::metrics::Metrics::new(),
            http_log: http_log::State::default(),
            file_log: file_log::State::default(),
        }
    }

    /// Keeps proxy-cache entries within `bounds` instead of the defaults.
    pub fn proxy_cache_bounds(mut self, bounds: proxy_cache::Bounds) -> Self {
        self.proxy_cache = proxy_cache::Store::new(bounds);
        self
    }

    /// Reads the client address from `real_ip` (trusted peers only).
    pub fn with_real_ip(mut self, real_ip: RealIp) -> Self {
        self.real_ip = real_ip;
        self
    }

    /// Counts the prometheus plugin's series into `metrics` (the ones the
    /// status listener serves).
    pub fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Looks key-auth keys up by their digest under `key` too (the key the
    /// `Sealer` digests the table's keys with).
    pub fn digest_api_keys(mut self, key: crate::secret::DigestKey) -> Self {
        self.api_keys = Some(key);
        self
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

/// What a plugin does in each of Kong's phases. Each plugin's config type
/// implements it in the plugin's own module; a phase it does not have keeps
/// the default, which does nothing.
pub trait Phases: Sized {
    /// `access`: may answer the request itself, refuse it, or continue
    /// (possibly after authenticating a consumer or editing the request).
    fn access(
        config: &Arc<Self>,
        instance: &PluginInstance,
        exchange: &mut Exchange<'_>,
        runtime: &Runtime,
    ) -> impl Future<Output = Result<Access, PluginError>> + Send {
        let _ = (config, instance, exchange, runtime);
        async { Ok(Access::Continue) }
    }

    /// `header_filter`: adjusts the response headers, the upstream's or a
    /// local answer's.
    fn response(config: &Arc<Self>, exchange: &Exchange<'_>, headers: &mut HeaderMap) {
        let _ = (config, exchange, headers);
    }

    /// `body_filter`: may replace the response body, the upstream's or a
    /// local answer's. Runs after every plugin's `header_filter`, in the
    /// same order; `parts` hold the status and headers the client will get
    /// (a plugin that changes the body's length fixes `Content-Length`).
    /// The returned body streams to the client; a plugin that needs the
    /// whole body buffers it with a bound.
    fn body(
        config: &Arc<Self>,
        exchange: &Exchange<'_>,
        runtime: &Runtime,
        parts: &mut http::response::Parts,
        body: BoxBody,
    ) -> BoxBody {
        let _ = (config, exchange, runtime, parts);
        body
    }

    /// Whether the plugin has a `response` or `body` phase. An upstream's
    /// answer reaches the client as the bytes it came in, without a header
    /// map (`listen::fields::RawFields`), only when no plugin of the
    /// request has one; `tests/architecture.rs` checks that every plugin
    /// that implements either phase says so.
    const SHAPES_ANSWER: bool = false;

    /// Whether the plugin has a `log` phase: the proxy gathers a
    /// [`LogRecord`] only when a plugin that ran has one.
    const LOGS: bool = false;

    /// Whether its log phase reads the request and response headers
    /// themselves; the proxy copies them into the [`LogRecord`] only when a
    /// logging plugin of the request does (their sizes are always there).
    const LOG_HEADERS: bool = true;

    /// `log`: runs once the response has been sent (its last byte written,
    /// or the client gone). It runs on the connection's task and must not
    /// block: work that waits (a file, the network) goes to a queue.
    fn log(config: &Arc<Self>, instance: &PluginInstance, record: &LogRecord, runtime: &Runtime) {
        let _ = (config, instance, record, runtime);
    }
}

#[cfg(test)]
mod tests;

/// The registry expanded into phase dispatch.
macro_rules! dispatch {
    ($($variant:ident => $module:ident :: $config:ident,)*) => {
        /// Runs one plugin's access phase.
        ///
        /// Each plugin's future is boxed at its own size: inline, this
        /// future would be as large as the largest plugin's (kilobytes for
        /// openid-connect's IdP calls), and every plugin, however small,
        /// would allocate and copy that much per request.
        ///
        /// Boxing copies the whole future, so inside a plugin an await on
        /// a path most requests do not take (an identity provider call, a
        /// Redis round trip, a multipart body, a login) is boxed where it
        /// is made: inline, its kilobytes would be part of the common
        /// path's future and copied with it on every request (5.4 KiB for
        /// openid-connect's and 3.8 KiB for oauth2's before; the box costs
        /// such a path one allocation beside its round trip).
        pub async fn access(
            plugin: &PluginInstance,
            exchange: &mut Exchange<'_>,
            runtime: &Runtime,
        ) -> Result<Access, PluginError> {
            match &plugin.config {
                $(PluginConfig::$variant(c) => {
                    Box::pin(Phases::access(c, plugin, exchange, runtime)).await
                })*
            }
        }

        /// Runs one plugin's response phase on the response headers.
        pub fn response(plugin: &PluginInstance, exchange: &Exchange<'_>, headers: &mut HeaderMap) {
            match &plugin.config {
                $(PluginConfig::$variant(c) => Phases::response(c, exchange, headers),)*
            }
        }

        /// Runs one plugin's body phase.
        pub fn body(
            plugin: &PluginInstance,
            exchange: &Exchange<'_>,
            runtime: &Runtime,
            parts: &mut http::response::Parts,
            body: BoxBody,
        ) -> BoxBody {
            match &plugin.config {
                $(PluginConfig::$variant(c) => Phases::body(c, exchange, runtime, parts, body),)*
            }
        }

        /// Whether one plugin has a response or body phase.
        pub fn shapes_answer(plugin: &PluginInstance) -> bool {
            match &plugin.config {
                $(PluginConfig::$variant(c) => shapes_answer_of(c),)*
            }
        }

        /// Whether one plugin has a log phase.
        pub fn logs(plugin: &PluginInstance) -> bool {
            match &plugin.config {
                $(PluginConfig::$variant(c) => logs_of(c),)*
            }
        }

        /// Whether one plugin's log phase reads the headers.
        pub fn log_headers(plugin: &PluginInstance) -> bool {
            match &plugin.config {
                $(PluginConfig::$variant(c) => log_headers_of(c),)*
            }
        }

        /// Runs one plugin's log phase.
        pub fn log(plugin: &PluginInstance, record: &LogRecord, runtime: &Runtime) {
            match &plugin.config {
                $(PluginConfig::$variant(c) => Phases::log(c, plugin, record, runtime),)*
            }
        }
    };
}

crate::model::plugin::registry!(dispatch);

/// `T::LOGS`, named through a value (the registry's module path names the
/// configuration's module, not the phases').
fn logs_of<T: Phases>(_: &Arc<T>) -> bool {
    T::LOGS
}

/// `T::SHAPES_ANSWER`, named as [`logs_of`] names `T::LOGS`.
fn shapes_answer_of<T: Phases>(_: &Arc<T>) -> bool {
    T::SHAPES_ANSWER
}

/// `T::LOG_HEADERS`, named as [`logs_of`] names `T::LOGS`.
fn log_headers_of<T: Phases>(_: &Arc<T>) -> bool {
    T::LOG_HEADERS
}
