//! The proxy's own answers as a gRPC client reads them.
//!
//! Kong (`kong.response.exit` for a gRPC request) keeps the HTTP status,
//! adds `grpc-status` from its HTTP→gRPC table and moves the message into
//! `grpc-message`, with an empty body. kingress uses the same table and
//! messages, but answers as gRPC's own "Trailers-Only" response (and
//! Envoy's local replies) do: HTTP 200 with `content-type:
//! application/grpc`. gRPC clients (grpc-go, grpc-java) ignore
//! `grpc-status` on a non-200 response and derive a code from the HTTP
//! status instead, so Kong's 400 → `INVALID_ARGUMENT` or 504 →
//! `DEADLINE_EXCEEDED` would reach them as `UNKNOWN` / `UNAVAILABLE`.

use super::SERVER_NAME;
use crate::plugins::{BoxBody, empty_body};
use futures::FutureExt;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, SERVER};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use http_body_util::BodyExt;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

const GRPC_STATUS: &str = "grpc-status";
const GRPC_MESSAGE: &str = "grpc-message";
const GRPC: &str = "application/grpc";

/// gRPC's percent-encoding of `grpc-message`: everything outside printable
/// ASCII, and `%` itself.
const MESSAGE_ENCODE: &AsciiSet = &CONTROLS.add(b'%');

/// Kong's `HTTP_TO_GRPC_STATUS`, with its fallbacks by status class.
fn code_for(status: StatusCode) -> u8 {
    match status.as_u16() {
        401 => 16,
        403 => 7,
        404 => 5,
        409 => 6,
        429 => 8,
        499 => 1,
        501 => 12,
        503 => 14,
        504 => 4,
        // Kong's table also lists 200 → 0, 400 → 3 and 500 → 13, which are
        // its fallbacks for the whole class.
        500..=599 => 13,
        400..=499 => 3,
        200..=299 => 0,
        _ => 2,
    }
}

/// Kong's `GRPC_MESSAGES`: the message when the answer had none.
fn default_message(code: u8) -> &'static str {
    match code {
        0 => "OK",
        1 => "Canceled",
        3 => "InvalidArgument",
        4 => "DeadlineExceeded",
        5 => "NotFound",
        6 => "AlreadyExists",
        7 => "PermissionDenied",
        8 => "ResourceExhausted",
        9 => "FailedPrecondition",
        10 => "Aborted",
        11 => "OutOfRange",
        12 => "Unimplemented",
        13 => "Internal",
        14 => "Unavailable",
        15 => "DataLoss",
        16 => "Unauthenticated",
        _ => "Unknown",
    }
}

/// A gRPC status as a Trailers-Only response.
pub(super) fn status(code: u8, message: &str) -> Response<BoxBody> {
    let mut response = Response::new(empty_body());
    set_status(response.headers_mut(), code, message);
    response
        .headers_mut()
        .insert(SERVER, HeaderValue::from_static(SERVER_NAME));
    response
}

/// A gRPC status as the trailers ending a response the upstream began.
pub fn trailers(code: u8, message: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    set_code(&mut headers, code, message);
    headers
}

fn set_status(headers: &mut HeaderMap, code: u8, message: &str) {
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(GRPC));
    set_code(headers, code, message);
}

fn set_code(headers: &mut HeaderMap, code: u8, message: &str) {
    headers.insert(GRPC_STATUS, HeaderValue::from(u16::from(code)));
    let encoded = utf8_percent_encode(message, MESSAGE_ENCODE).to_string();
    if let Ok(value) = HeaderValue::try_from(encoded) {
        headers.insert(GRPC_MESSAGE, value);
    }
}

/// The gRPC form of a response the proxy produced itself (see the module
/// docs): the status maps to `grpc-status` (unless the answer set one), the
/// message is the body's `message` (a JSON body without one falls back to
/// the status's name, as Kong drops it), or a plain body's text. A response
/// already typed `application/grpc…` is a plugin's own gRPC answer and
/// stays as it is. Other headers (`WWW-Authenticate`, CORS) are kept.
pub fn shape(response: Response<BoxBody>) -> Response<BoxBody> {
    let grpc_typed = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(GRPC.as_bytes()));
    if grpc_typed {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let code = parts
        .headers
        .get(GRPC_STATUS)
        .and_then(|v| v.to_str().ok()?.parse::<u8>().ok())
        .unwrap_or_else(|| code_for(parts.status));
    let message = match parts.headers.get(GRPC_MESSAGE) {
        Some(given) => given.to_str().unwrap_or_default().to_string(),
        None => body_message(body, &parts.headers).unwrap_or_else(|| default_message(code).into()),
    };
    parts.status = StatusCode::OK;
    parts.headers.remove(CONTENT_LENGTH);
    parts.headers.remove(GRPC_MESSAGE);
    if parts.headers.contains_key(GRPC_STATUS) {
        // Set by the answer: keep its message as given (already encoded).
        parts
            .headers
            .insert(CONTENT_TYPE, HeaderValue::from_static(GRPC));
        if let Ok(value) = HeaderValue::try_from(message) {
            parts.headers.insert(GRPC_MESSAGE, value);
        }
    } else {
        set_status(&mut parts.headers, code, &message);
    }
    Response::from_parts(parts, empty_body())
}

/// The message of a body the proxy built in memory (read without waiting:
/// answers from this module are whole bodies; anything that would wait is
/// dropped).
fn body_message(body: BoxBody, headers: &HeaderMap) -> Option<String> {
    let bytes = body.collect().now_or_never()?.ok()?.to_bytes();
    if bytes.is_empty() {
        return None;
    }
    let json = headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if json {
        let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        return value.get("message")?.as_str().map(str::to_string);
    }
    String::from_utf8(bytes.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::super::{ProxyError, message};
    use super::*;
    use crate::plugins::PluginError;

    fn grpc(response: &Response<BoxBody>) -> (u16, &str, &str) {
        let h = response.headers();
        (
            response.status().as_u16(),
            h[GRPC_STATUS].to_str().unwrap(),
            h[GRPC_MESSAGE].to_str().unwrap(),
        )
    }

    /// kong/pdk/response.lua `send` for a gRPC request: the status table and
    /// the message moved out of the body.
    #[tokio::test]
    async fn proxy_answers_become_grpc_statuses() {
        let r = shape(ProxyError::NoRoute.into_response());
        assert_eq!(grpc(&r), (200, "5", "no Route matched with those values"));
        assert_eq!(r.headers()[CONTENT_TYPE], GRPC);
        assert!(r.into_body().collect().await.unwrap().to_bytes().is_empty());
        let r = shape(ProxyError::GatewayTimeout("x".into()).into_response());
        assert_eq!(grpc(&r), (200, "4", "The upstream server is timing out"));
        let r = shape(ProxyError::BadGateway("x".into()).into_response());
        assert_eq!(grpc(&r).1, "13");
        let r = shape(message(StatusCode::from_u16(418).unwrap(), "teapot"));
        assert_eq!(grpc(&r), (200, "3", "teapot"));
    }

    #[test]
    fn auth_refusals_are_unauthenticated_and_permission_denied() {
        let r = shape(
            ProxyError::from(PluginError::OAuth {
                status: StatusCode::UNAUTHORIZED,
                error: "invalid_token".into(),
                description: "The access token is invalid or has expired".into(),
                state: None,
                www_authenticate: Some("Bearer realm=\"service\"".into()),
                no_store: false,
            })
            .into_response(),
        );
        // A JSON body without `message` is dropped, as Kong does.
        assert_eq!(grpc(&r), (200, "16", "Unauthenticated"));
        assert_eq!(
            r.headers()[http::header::WWW_AUTHENTICATE],
            "Bearer realm=\"service\""
        );
        let r = shape(
            ProxyError::from(PluginError::Forbidden {
                message: "You cannot consume this service".into(),
                www_authenticate: None,
            })
            .into_response(),
        );
        assert_eq!(grpc(&r), (200, "7", "You cannot consume this service"));
    }

    #[test]
    fn given_statuses_and_grpc_answers_are_kept_and_messages_encoded() {
        let r = shape(ProxyError::GrpcsRequired.into_response());
        assert_eq!(grpc(&r), (200, "1", "gRPC request matched gRPCs route"));
        let mut own = status(9, "x");
        own.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/grpc+proto"),
        );
        assert_eq!(grpc(&shape(own)), (200, "9", "x"));
        let r = shape(message(StatusCode::BAD_REQUEST, "100% naïve\n"));
        assert_eq!(grpc(&r).2, "100%25 na%C3%AFve%0A");
    }
}
