//! The access log's `request_id`: the correlation-id plugin's id when it
//! ran, else the client's own correlation header, else a new UUID; only
//! short printable text is logged as sent.

use http::{HeaderName, HeaderValue};

/// Request headers whose value becomes the access log's `request_id`, first
/// found wins: Kong's correlation-id plugin's default header, then the one
/// nginx, Envoy and most tracing setups pass along.
const REQUEST_ID_HEADERS: [HeaderName; 2] = [
    HeaderName::from_static("kong-request-id"),
    HeaderName::from_static("x-request-id"),
];

/// The longest client-sent request id logged as it is; a longer one is
/// replaced by a generated id so a client cannot bloat every log line.
const MAX_REQUEST_ID_LEN: usize = 128;

/// The request's id for the access log: the client's correlation id when
/// it sent a short printable one, else a new random (v4) UUID.
pub(super) fn request_id(headers: &http::HeaderMap) -> String {
    REQUEST_ID_HEADERS
        .iter()
        .find_map(|name| headers.get(name))
        .and_then(loggable_id)
        .map_or_else(
            || {
                // Encoded into a buffer: `to_string` would go through the
                // formatting machinery, once per logged request.
                let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
                uuid::Builder::from_random_bytes(rand::random())
                    .into_uuid()
                    .hyphenated()
                    .encode_lower(&mut text)
                    .to_owned()
            },
            str::to_owned,
        )
}

/// `id` as the log writes it: short printable text only.
pub(super) fn loggable_id(id: &HeaderValue) -> Option<&str> {
    id.to_str().ok().filter(|id| {
        !id.is_empty() && id.len() <= MAX_REQUEST_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic())
    })
}
