//! Responses of the status and admin listeners: JSON with Kong's headers,
//! and Kong's wording for the common refusals.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, SERVER};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;
use serde_json::{Value, json};

/// `Server` header value.
pub(super) const SERVER_NAME: &str = concat!("kingress/", env!("CARGO_PKG_VERSION"));

/// A JSON response.
pub(super) fn json(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    // Serialising a `Value` cannot fail.
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    with_type(status, "application/json; charset=utf-8", bytes)
}

/// A response with a given content type.
pub(super) fn with_type(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(SERVER, HeaderValue::from_static(SERVER_NAME));
    response
}

/// 200 with `body`.
pub(super) fn ok(body: &Value) -> Response<Full<Bytes>> {
    json(StatusCode::OK, body)
}

/// 404 `{"message":"Not found"}`.
pub(super) fn not_found() -> Response<Full<Bytes>> {
    json(StatusCode::NOT_FOUND, &json!({ "message": "Not found" }))
}

/// 405 `{"message":"Method not allowed"}`.
pub(super) fn method_not_allowed() -> Response<Full<Bytes>> {
    json(
        StatusCode::METHOD_NOT_ALLOWED,
        &json!({ "message": "Method not allowed" }),
    )
}

/// 204 without a body or a content type.
pub(super) fn no_content() -> Response<Full<Bytes>> {
    let mut response = with_type(StatusCode::NO_CONTENT, "application/json", Bytes::new());
    response.headers_mut().remove(CONTENT_TYPE);
    response
}
