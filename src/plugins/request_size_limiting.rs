//! Kong's `request-size-limiting` plugin
//! (`kong/plugins/request-size-limiting/handler.lua`): a body over
//! `allowed_payload_size` is refused with 413 "Request size limit exceeded"
//! (417 when the client sent `Expect: 100-continue`) before it reaches the
//! upstream.
//!
//! - A `Content-Length` over the limit is refused at once; the body is never
//!   read (and no `100 Continue` is sent).
//! - Without a length (chunked, or an HTTP/2 stream), the first
//!   [`READ_AHEAD`] bytes are read before the upstream is contacted: a body
//!   that ends or crosses the limit there is decided without the upstream.
//!   A longer one streams on, counted ([`counted::Counted`]); crossing the
//!   limit mid-stream fails the upstream request's body, so the upstream
//!   sees its connection closed before a complete request, and the client
//!   gets the same 413/417 (unless the upstream answered before it read
//!   that far). Memory stays at most `READ_AHEAD` per request.
//! - `require_content_length`: neither a length nor chunked framing is 411
//!   "A valid Content-Length header is required".

use super::{Access, BodyRefused, Exchange, Phases, PluginError, Runtime, empty_body};
use crate::model::PluginInstance;
use crate::model::plugin::RequestSizeLimitingConfig;
use http::StatusCode;
use http::header::{CONTENT_LENGTH, EXPECT, TRANSFER_ENCODING};
use http_body::Body as _;
use http_body_util::BodyExt;
use std::sync::Arc;

mod counted;

/// The most of a body without a length read before the upstream is
/// contacted.
pub const READ_AHEAD: u64 = 64 * 1024;

const EXCEEDED: &str = "Request size limit exceeded";

impl Phases for RequestSizeLimitingConfig {
    async fn access(
        config: &Arc<Self>,
        _instance: &PluginInstance,
        exchange: &mut Exchange<'_>,
        _runtime: &Runtime,
    ) -> Result<Access, PluginError> {
        let headers = exchange.headers();
        let refusal = BodyRefused {
            status: if headers.get(EXPECT).is_some_and(|v| {
                v.as_bytes()
                    .trim_ascii()
                    .eq_ignore_ascii_case(b"100-continue")
            }) {
                StatusCode::EXPECTATION_FAILED
            } else {
                StatusCode::PAYLOAD_TOO_LARGE
            },
            message: EXCEEDED,
        };
        let refuse = || PluginError::Plain {
            status: refusal.status,
            message: EXCEEDED.into(),
        };
        let length = headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(length) = length {
            // hyper reads exactly this many bytes, never more.
            return if config.exceeded(length) {
                Err(refuse())
            } else {
                Ok(Access::Continue)
            };
        }
        let chunked = headers
            .get(TRANSFER_ENCODING)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
        if config.require_content_length && !chunked {
            return Err(PluginError::Plain {
                status: StatusCode::LENGTH_REQUIRED,
                message: "A valid Content-Length header is required".into(),
            });
        }
        if exchange.request.body().is_end_stream() {
            return Ok(Access::Continue);
        }
        let mut body = std::mem::replace(exchange.request.body_mut(), empty_body());
        let mut counted = counted::Counted::new(
            config.limit_bytes(),
            config.allowed_payload_size < 0,
            refusal,
        );
        while counted.seen() <= READ_AHEAD && !body.is_end_stream() {
            let Some(frame) = body.frame().await else {
                break;
            };
            let frame = frame.map_err(|e| PluginError::Body(e.to_string()))?;
            if counted.replay(frame) {
                return Err(refuse());
            }
        }
        *exchange.request.body_mut() = counted.then(body);
        Ok(Access::Continue)
    }
}
