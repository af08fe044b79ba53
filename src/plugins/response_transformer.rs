//! Kong's `response-transformer` (`kong/plugins/response-transformer/`):
//! the response headers in the response phase (remove, rename, replace,
//! add, append, in that order; rename, replace and add look at the headers
//! as the upstream sent them), then a JSON body in the body phase.
//!
//! A JSON body (`application/json` or `application/*+json`) is buffered up
//! to [`BODY_LIMIT`] and edited; its `Content-Length` goes, as in Kong, and
//! the edited body is sent chunked. A body over the bound (by its
//! `Content-Length`, or found while reading) passes through unchanged, and
//! so does one that is not a JSON object.

mod json;

use super::{BoxBody, BoxError, Exchange, Phases, Runtime};
use crate::model::plugin::ResponseTransformerConfig;
use crate::model::plugin::transform::split;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use futures::stream::iter;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body_util::{BodyExt, BodyStream, StreamBody};
use hyper::body::{Body, Frame};
use std::sync::Arc;

/// The largest response body edited: 8 MiB (Kong buffers any size).
pub const BODY_LIMIT: usize = 8 * 1024 * 1024;

impl Phases for ResponseTransformerConfig {
    const SHAPES_ANSWER: bool = true;

    fn response(config: &Arc<Self>, _exchange: &Exchange<'_>, headers: &mut HeaderMap) {
        transform_headers(config, headers);
    }

    fn body(
        config: &Arc<Self>,
        _exchange: &Exchange<'_>,
        _runtime: &Runtime,
        parts: &mut http::response::Parts,
        body: BoxBody,
    ) -> BoxBody {
        if !config.edits_json() || !is_json(parts.headers.get(CONTENT_TYPE)) {
            return body;
        }
        let declared = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        // Past the bound, or no body at all (HEAD, 204, 304): as it is,
        // with its length.
        if declared.is_some_and(|len| len > BODY_LIMIT) || body.size_hint().exact() == Some(0) {
            return body;
        }
        parts.headers.remove(CONTENT_LENGTH);
        edited(config.clone(), body)
    }
}

/// What reading the body up to the bound found.
enum Read {
    /// The whole body, edited or not.
    Whole(Bytes),
    /// The bound was passed: what was read, then the rest.
    Over(Bytes, BoxBody),
    /// The upstream body failed.
    Failed(BoxError),
}

/// The body, edited once read whole.
fn edited(config: Arc<ResponseTransformerConfig>, mut body: BoxBody) -> BoxBody {
    let read = async move {
        let mut buf = BytesMut::new();
        while let Some(frame) = body.frame().await {
            let frame = match frame {
                Ok(frame) => frame,
                Err(e) => return Read::Failed(e),
            };
            if let Ok(data) = frame.into_data() {
                buf.extend_from_slice(&data);
                if buf.len() > BODY_LIMIT {
                    return Read::Over(buf.freeze(), body);
                }
            }
        }
        let whole = buf.freeze();
        match json::transform(&config, &whole) {
            Some(new) => Read::Whole(Bytes::from(new)),
            None => Read::Whole(whole),
        }
    };
    // Concrete stream types (no boxed `dyn Stream`): the body must be `Sync`.
    let frames = futures::stream::once(read).flat_map(|read| match read {
        Read::Whole(bytes) => iter([Ok(Frame::data(bytes))]).left_stream(),
        Read::Over(head, rest) => iter([Ok(Frame::data(head))])
            .chain(BodyStream::new(rest))
            .left_stream()
            .right_stream(),
        Read::Failed(e) => iter([Err(e)]).right_stream().right_stream(),
    });
    BodyExt::boxed(StreamBody::new(frames))
}

/// Kong's `is_json_body`: any of the comma-separated media types is
/// `application/json` or `application/<x>+json`.
fn is_json(content_type: Option<&HeaderValue>) -> bool {
    let Some(ct) = content_type.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    ct.split(',').any(|one| {
        let essence = one.split(';').next().unwrap_or_default().trim();
        let Some((kind, sub)) = essence.split_once('/') else {
            return false;
        };
        let sub = sub.trim().to_ascii_lowercase();
        kind.trim().eq_ignore_ascii_case("application") && (sub == "json" || sub.ends_with("+json"))
    })
}

/// A `name:value` entry with a usable header name.
fn entry(e: &str) -> Option<(HeaderName, &str)> {
    let (name, value) = split(e)?;
    Some((HeaderName::from_bytes(name.as_bytes()).ok()?, value))
}

/// The entries of `list`, each with whether `headers` has it.
fn present<'a>(list: &'a [String], headers: &HeaderMap) -> Vec<(bool, HeaderName, &'a str)> {
    list.iter()
        .filter_map(|e| entry(e))
        .map(|(name, value)| (headers.contains_key(&name), name, value))
        .collect()
}

/// Kong's `header_transformer.transform_headers`.
fn transform_headers(config: &ResponseTransformerConfig, headers: &mut HeaderMap) {
    // Kong reads the headers once, before the first change.
    let renamed: Vec<_> = config
        .rename
        .headers
        .iter()
        .filter_map(|e| entry(e))
        .map(|(old, new)| {
            let values: Vec<HeaderValue> = headers.get_all(&old).iter().cloned().collect();
            (old, new, values)
        })
        .collect();
    let replaced = present(&config.replace.headers, headers);
    let added = present(&config.add.headers, headers);

    for name in &config.remove.headers {
        if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
            headers.remove(name);
        }
    }
    for (old, new, values) in renamed {
        let Ok(new) = HeaderName::from_bytes(new.as_bytes()) else {
            continue;
        };
        if values.is_empty() || new == old {
            continue;
        }
        headers.remove(&new);
        for v in values {
            headers.append(new.clone(), v);
        }
        headers.remove(old);
    }
    let value = |v: &str| HeaderValue::from_str(v).ok().filter(|_| !v.is_empty());
    for (was, name, v) in replaced {
        if let (true, Some(v)) = (was, value(v)) {
            headers.insert(name, v);
        }
    }
    for (was, name, v) in added {
        if let (false, Some(v)) = (was, value(v)) {
            headers.insert(name, v);
        }
    }
    for (name, v) in config.append.headers.iter().filter_map(|e| entry(e)) {
        if let Some(v) = value(v) {
            headers.append(name, v);
        }
    }
}

#[cfg(test)]
mod tests;
