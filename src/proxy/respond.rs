//! The one place where anything that stops a request becomes an HTTP
//! response: Kong's JSON answers for the proxy's own failures, the plugins'
//! refusals and the plugins' local responses. Keeping it here means every
//! error body has the same content type, `Server` header and wording.
//!
//! A gRPC client gets the same answers gRPC-shaped ([`grpc::shape`]).

mod grpc;

pub use grpc::{shape as grpc_shape, trailers as grpc_trailers};

use crate::plugins::{BoxBody, LocalBody, LocalResponse, PluginError, empty_body, full_body};
use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONNECTION, CONTENT_TYPE, LOCATION, PRAGMA, SERVER, UPGRADE};
use http::{HeaderValue, Response, StatusCode};
use serde_json::json;

/// `Server` header value on every response kingress produces itself.
pub const SERVER_NAME: &str = concat!("kingress/", env!("CARGO_PKG_VERSION"));

const JSON: &str = "application/json; charset=utf-8";

/// Why the proxy answered instead of the upstream.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// No route matches the request (404).
    #[error("no route matched")]
    NoRoute,
    /// Every target of the route's service is unhealthy (503, Kong's
    /// ring-balancer message).
    #[error("no healthy target in service {0}")]
    NoHealthyTarget(String),
    /// The route has no service, and no plugin answered (503).
    #[error("route has no service")]
    NoService,
    /// The route's service has no targets (503).
    #[error("service {0} has no targets")]
    NoTargets(String),
    /// The route fails closed because its configuration is broken (503);
    /// the message names the misconfiguration and carries no secret.
    #[error("route is misconfigured: {0}")]
    Fault(String),
    /// Plain HTTP on a route that only speaks HTTPS: 426, or a redirect when
    /// `location` is set.
    #[error("route requires https")]
    HttpsRequired {
        /// 426, 301, 302, 307 or 308.
        status: StatusCode,
        /// `https://…` target for redirects.
        location: Option<String>,
    },
    /// The client's request is malformed (400, Kong's `Bad request`): a bad
    /// path or authority, a broken body. The detail is logged as a client
    /// error, never sent back.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The upstream could not be reached or sent something invalid (502).
    /// The detail is logged, never sent to the client.
    #[error("upstream failure: {0}")]
    BadGateway(String),
    /// The upstream did not answer in time (504).
    #[error("upstream timed out: {0}")]
    GatewayTimeout(String),
    /// A route whose protocols are `grpc`/`grpcs` matched a request that is
    /// not a gRPC call (415, Kong's wording).
    #[error("non-gRPC request matched a gRPC route")]
    NotGrpc,
    /// A gRPC call over HTTP/1 (426 asking for HTTP/2, as Kong does).
    #[error("gRPC request over HTTP/1")]
    Http2Required,
    /// A plain-text gRPC call matched a `grpcs`-only route: Kong answers
    /// gRPC status 1 (`CANCELLED`) with its message.
    #[error("gRPC request matched a gRPCs route")]
    GrpcsRequired,
    /// A plugin refused the request.
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// A plugin answered the request itself (not a failure, but it ends the
    /// request the same way).
    #[error("answered by a plugin with status {}", .0.status)]
    Local(Box<LocalResponse>),
}

// === impl ProxyError ===

impl ProxyError {
    /// The response for this error.
    pub fn into_response(self) -> Response<BoxBody> {
        match self {
            ProxyError::NoRoute => {
                message(StatusCode::NOT_FOUND, "no Route matched with those values")
            }
            ProxyError::NoService => message(
                StatusCode::SERVICE_UNAVAILABLE,
                "no Service found with those values",
            ),
            ProxyError::NoTargets(_) => message(
                StatusCode::SERVICE_UNAVAILABLE,
                "failure to get a peer from the ring-balancer",
            ),
            ProxyError::NoHealthyTarget(service) => {
                tracing::warn!(%service, "every target is unhealthy");
                message(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "failure to get a peer from the ring-balancer",
                )
            }
            ProxyError::Fault(msg) => message(StatusCode::SERVICE_UNAVAILABLE, &msg),
            ProxyError::HttpsRequired { status, location } => https_required(status, location),
            ProxyError::BadRequest(detail) => {
                tracing::info!(%detail, "client error");
                message(StatusCode::BAD_REQUEST, "Bad request")
            }
            ProxyError::BadGateway(detail) => {
                tracing::warn!(%detail, "upstream failure");
                message(
                    StatusCode::BAD_GATEWAY,
                    "An invalid response was received from the upstream server",
                )
            }
            ProxyError::GatewayTimeout(detail) => {
                tracing::warn!(%detail, "upstream timeout");
                message(
                    StatusCode::GATEWAY_TIMEOUT,
                    "The upstream server is timing out",
                )
            }
            ProxyError::NotGrpc => message(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Non-gRPC request matched gRPC route",
            ),
            ProxyError::Http2Required => {
                let mut response =
                    message(StatusCode::UPGRADE_REQUIRED, "Please use HTTP2 protocol");
                let headers = response.headers_mut();
                headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
                headers.insert(UPGRADE, HeaderValue::from_static("HTTP/2"));
                response
            }
            ProxyError::GrpcsRequired => grpc::status(1, "gRPC request matched gRPCs route"),
            ProxyError::Plugin(e) => plugin_error(e),
            ProxyError::Local(local) => local_response(*local),
        }
    }
}

/// A JSON response with Kong's headers.
pub fn json(status: StatusCode, body: &serde_json::Value) -> Response<BoxBody> {
    // Serialising a `Value` cannot fail.
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = Response::new(full_body(Bytes::from(bytes)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    headers.insert(SERVER, HeaderValue::from_static(SERVER_NAME));
    response
}

/// `{"message": …}` with `status`.
pub fn message(status: StatusCode, message: &str) -> Response<BoxBody> {
    json(status, &json!({ "message": message }))
}

/// Kong's `https_redirect_status_code` handling: 301/302/307/308 redirect
/// with an empty body; anything else is 426 with the upgrade headers.
fn https_required(status: StatusCode, location: Option<String>) -> Response<BoxBody> {
    let location = location.and_then(|l| HeaderValue::from_str(&l).ok());
    match (status.is_redirection(), location) {
        (true, Some(location)) => {
            let mut response = Response::new(empty_body());
            *response.status_mut() = status;
            response.headers_mut().insert(LOCATION, location);
            response
                .headers_mut()
                .insert(SERVER, HeaderValue::from_static(SERVER_NAME));
            response
        }
        _ => {
            let mut response = message(StatusCode::UPGRADE_REQUIRED, "Please use HTTPS protocol");
            let headers = response.headers_mut();
            headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
            headers.insert(UPGRADE, HeaderValue::from_static("TLS/1.2, HTTP/1.1"));
            response
        }
    }
}

fn plugin_error(error: PluginError) -> Response<BoxBody> {
    match error {
        PluginError::OAuth {
            status,
            error,
            description,
            state,
            www_authenticate,
            no_store,
        } => {
            let mut body = json!({ "error": error, "error_description": description });
            if let Some(state) = state {
                body["state"] = state.into();
            }
            let mut response = json(status, &body);
            let headers = response.headers_mut();
            if let Some(value) = www_authenticate.and_then(|v| HeaderValue::from_str(&v).ok()) {
                headers.insert(http::header::WWW_AUTHENTICATE, value);
            }
            if no_store {
                headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
            }
            response
        }
        PluginError::Unauthorized {
            message: msg,
            www_authenticate,
        } => with_challenge(
            message(StatusCode::UNAUTHORIZED, &msg),
            Some(www_authenticate),
        ),
        PluginError::UnauthorizedJson {
            body,
            www_authenticate,
        } => with_challenge(json(StatusCode::UNAUTHORIZED, &body), www_authenticate),
        PluginError::Forbidden {
            message: msg,
            www_authenticate,
        } => with_challenge(message(StatusCode::FORBIDDEN, &msg), www_authenticate),
        PluginError::Plain {
            status,
            message: msg,
        } => message(status, &msg),
        PluginError::Unavailable(msg) => message(StatusCode::SERVICE_UNAVAILABLE, &msg),
        // Kong's `kong.response.error(500, …)`; the plugin logged the detail.
        missing @ PluginError::AnonymousMissing(_) => {
            message(StatusCode::INTERNAL_SERVER_ERROR, &missing.to_string())
        }
        PluginError::Internal(detail) => {
            tracing::error!(%detail, "plugin failed");
            message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "An unexpected error occurred",
            )
        }
        PluginError::Body(detail) => {
            tracing::debug!(%detail, "unreadable request body");
            message(StatusCode::BAD_REQUEST, "Cannot read the request body")
        }
        PluginError::RateLimited {
            status,
            message: msg,
        } => message(status, &msg),
        PluginError::BodyTooLarge { limit } => {
            tracing::debug!(limit, "request body larger than a plugin reads");
            message(StatusCode::PAYLOAD_TOO_LARGE, "Payload too large")
        }
    }
}

fn with_challenge(mut response: Response<BoxBody>, challenge: Option<String>) -> Response<BoxBody> {
    if let Some(value) = challenge.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response
            .headers_mut()
            .insert(http::header::WWW_AUTHENTICATE, value);
    }
    response
}

fn local_response(local: LocalResponse) -> Response<BoxBody> {
    let bare = |body: BoxBody| {
        let mut r = Response::new(body);
        *r.status_mut() = local.status;
        r.headers_mut()
            .insert(SERVER, HeaderValue::from_static(SERVER_NAME));
        r
    };
    let mut response = match local.body {
        LocalBody::Json(serde_json::Value::Null) => bare(empty_body()),
        LocalBody::Json(body) => json(local.status, &body),
        LocalBody::Raw(bytes) => bare(full_body(bytes)),
    };
    // The plugin's headers come last so it can override the defaults;
    // every value of a repeated header (`Set-Cookie`) is kept.
    for name in local.headers.keys() {
        response.headers_mut().remove(name);
    }
    for (name, value) in local.headers.iter() {
        response.headers_mut().append(name.clone(), value.clone());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_json(response: Response<BoxBody>) -> serde_json::Value {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn kong_messages_and_headers() {
        let r = ProxyError::NoRoute.into_response();
        assert_eq!(r.status(), 404);
        assert_eq!(r.headers()[CONTENT_TYPE], JSON);
        assert_eq!(r.headers()[SERVER], SERVER_NAME);
        assert_eq!(
            body_json(r).await,
            json!({"message": "no Route matched with those values"})
        );
        let r = ProxyError::GatewayTimeout("x".into()).into_response();
        assert_eq!(r.status(), 504);
        let r = ProxyError::BadGateway("refused".into()).into_response();
        assert_eq!(r.status(), 502);
        assert_eq!(
            body_json(r).await,
            json!({"message": "An invalid response was received from the upstream server"})
        );
    }

    #[tokio::test]
    async fn oauth_error_body_and_cache_headers() {
        let r = ProxyError::from(PluginError::OAuth {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request".into(),
            description: "missing code".into(),
            state: Some("xyz".into()),
            www_authenticate: Some("Bearer realm=\"service\"".into()),
            no_store: true,
        })
        .into_response();
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(r.headers()[PRAGMA], "no-cache");
        assert_eq!(
            r.headers()[http::header::WWW_AUTHENTICATE],
            "Bearer realm=\"service\""
        );
        assert_eq!(
            body_json(r).await,
            json!({"error": "invalid_request", "error_description": "missing code", "state": "xyz"})
        );
    }

    #[tokio::test]
    async fn internal_errors_hide_the_detail() {
        let r = ProxyError::from(PluginError::Internal("db password wrong".into())).into_response();
        assert_eq!(r.status(), 500);
        assert_eq!(
            body_json(r).await,
            json!({"message": "An unexpected error occurred"})
        );
    }

    #[tokio::test]
    async fn a_missing_anonymous_consumer_is_named() {
        let r = ProxyError::from(PluginError::AnonymousMissing("ghost".into())).into_response();
        assert_eq!(r.status(), 500);
        assert_eq!(
            body_json(r).await,
            json!({"message": "anonymous consumer ghost is configured but doesn't exist"})
        );
    }

    #[tokio::test]
    async fn a_401_with_a_json_body_and_an_optional_challenge() {
        let r = ProxyError::from(PluginError::UnauthorizedJson {
            body: json!({"exp": "token expired"}),
            www_authenticate: Some("Bearer error=\"invalid_token\"".into()),
        })
        .into_response();
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.headers()[http::header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\""
        );
        assert_eq!(body_json(r).await, json!({"exp": "token expired"}));
        let r = ProxyError::from(PluginError::UnauthorizedJson {
            body: json!({"message": "m"}),
            www_authenticate: None,
        })
        .into_response();
        assert_eq!(r.status(), 401);
        assert!(!r.headers().contains_key(http::header::WWW_AUTHENTICATE));
    }

    #[tokio::test]
    async fn body_limit_is_413_other_body_errors_400() {
        let r = ProxyError::from(PluginError::BodyTooLarge { limit: 2 }).into_response();
        assert_eq!(r.status(), 413);
        assert_eq!(body_json(r).await, json!({"message": "Payload too large"}));
        let r = ProxyError::from(PluginError::Body("connection reset".into())).into_response();
        assert_eq!(r.status(), 400);
    }

    #[tokio::test]
    async fn rate_limited_carries_its_status_and_message() {
        let r = ProxyError::from(PluginError::RateLimited {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: "API rate limit exceeded".into(),
        })
        .into_response();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()[CONTENT_TYPE], JSON);
        assert_eq!(
            body_json(r).await,
            json!({"message": "API rate limit exceeded"})
        );
    }

    #[tokio::test]
    async fn https_redirects_and_426() {
        let r = ProxyError::HttpsRequired {
            status: StatusCode::PERMANENT_REDIRECT,
            location: Some("https://a.example/x?y=1".into()),
        }
        .into_response();
        assert_eq!(r.status(), 308);
        assert_eq!(r.headers()[LOCATION], "https://a.example/x?y=1");
        let r = ProxyError::HttpsRequired {
            status: StatusCode::UPGRADE_REQUIRED,
            location: None,
        }
        .into_response();
        assert_eq!(r.status(), 426);
        assert_eq!(
            body_json(r).await,
            json!({"message": "Please use HTTPS protocol"})
        );
    }

    #[tokio::test]
    async fn local_response_keeps_plugin_headers() {
        let mut headers = http::HeaderMap::new();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        let r = ProxyError::Local(Box::new(LocalResponse {
            status: StatusCode::OK,
            headers,
            body: json!({"access_token": "t"}).into(),
        }))
        .into_response();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(r.headers()[CONTENT_TYPE], JSON);
    }
}
