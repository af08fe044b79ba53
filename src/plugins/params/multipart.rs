//! `multipart/form-data` bodies (RFC 7578) as Kong's `kong.request.get_body()`
//! reads them: every part with a name is a parameter, file parts included
//! (their content as text), in order. Parsing is `multer`'s; the body is
//! already buffered and bounded by the caller.

use bytes::Bytes;
use std::convert::Infallible;

/// The boundary of a `multipart/form-data` content type, if it has one.
pub(crate) fn boundary(content_type: &str) -> Option<String> {
    multer::parse_boundary(content_type).ok()
}

/// The named parts of `body` as (name, text) pairs; `None` when the body is
/// not multipart with this boundary (Kong then reads no body parameters).
pub(crate) async fn fields(body: Bytes, boundary: &str) -> Option<Vec<(String, String)>> {
    let stream = futures::stream::once(async move { Ok::<Bytes, Infallible>(body) });
    let mut parts = multer::Multipart::new(stream, boundary);
    let mut pairs = Vec::new();
    loop {
        let field = match parts.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Some(pairs),
            Err(e) => {
                tracing::debug!(error = %e, "multipart body not read");
                return None;
            }
        };
        let Some(name) = field.name().map(str::to_string) else {
            continue;
        };
        match field.text().await {
            Ok(text) => pairs.push((name, text)),
            Err(e) => {
                tracing::debug!(error = %e, "multipart body not read");
                return None;
            }
        }
    }
}
