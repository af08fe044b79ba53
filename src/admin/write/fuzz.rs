//! The entry point of the Admin API half of the `kong_admin` fuzz target
//! (`fuzz/`): a write request applied to a document as a standalone node
//! applies it, before the steps that hash secrets, translate and store.
//! Not an API; hidden from the docs.

use super::endpoint::Endpoint;
use super::{apply, decode_fields};
use crate::admin::api::segments;
use crate::kong::Document;
use http::Method;

/// Applies the write `method path` with `body` (sent with `content_type`)
/// to `doc` at `now`: the answer's status, or the error's.
pub fn write(
    doc: &mut Document,
    method: &[u8],
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<u16, u16> {
    // hyper refuses an invalid method before the Admin API sees it.
    let method = Method::from_bytes(method).map_err(|_| 400_u16)?;
    let decoded = segments(path);
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let result = Endpoint::parse(&method, &segments)
        .and_then(|endpoint| {
            let fields = decode_fields(content_type, body)?;
            apply::apply(doc, &endpoint, fields, now)
        })
        .map(|change| change.status.as_u16());
    result.map_err(|e| e.respond().status().as_u16())
}
