//! Header fields of an HTTP/1 head parsed by `httparse`, turned into a
//! `HeaderMap` whose values are slices of the head's own bytes; shared by
//! the client side (`h1`) and the upstream client (`proxy::forward::direct`).

use bytes::Bytes;
use http::header::CONNECTION;
use http::{HeaderMap, HeaderName, HeaderValue};

/// Where one field's name and value lie in the buffer it was parsed from.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span {
    name: (usize, usize),
    value: (usize, usize),
}

/// The spans of `fields`, parsed from the buffer that starts at `base`, so
/// that once the head is split off and frozen the values can be slices of
/// it rather than copies.
pub(crate) fn spans<'h, 'b: 'h>(
    base: *const u8,
    fields: impl IntoIterator<Item = &'h httparse::Header<'b>>,
) -> Vec<Span> {
    let base = base as usize;
    fields
        .into_iter()
        .map(|field| {
            let name = field.name.as_ptr() as usize - base;
            let value = field.value.as_ptr() as usize - base;
            Span {
                name: (name, name + field.name.len()),
                value: (value, value + field.value.len()),
            }
        })
        .collect()
}

/// The fields at `spans` of `head`, in their order, in a map with room
/// for `spare` more (what the caller will add, without a rehash).
pub(crate) fn header_map(head: &Bytes, spans: &[Span], spare: usize) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::with_capacity(spans.len() + spare);
    for span in spans {
        let name =
            HeaderName::from_bytes(&head[span.name.0..span.name.1]).map_err(|e| e.to_string())?;
        let value = HeaderValue::from_maybe_shared(head.slice(span.value.0..span.value.1))
            .map_err(|e| e.to_string())?;
        headers.append(name, value);
    }
    Ok(headers)
}

/// A response's header fields kept as the bytes the upstream sent, for an
/// answer nothing reads or changes on its way to a client on the own
/// HTTP/1.1 loop: no plugin ran, so the only rules left are the framing
/// the encoder applies and the hop-by-hop fields the upstream client left
/// out. Building a `HeaderMap` of them (a name parsed, a value checked and
/// a hash per field), taking the hop-by-hop ones out of it and writing it
/// again cost about a seventh of a proxied request's instructions.
#[derive(Clone)]
pub(crate) struct RawFields {
    head: Bytes,
    spans: Vec<Span>,
    /// The response's `Content-Length` (all its values agree).
    pub content_length: Option<u64>,
    /// Whether a `Date` field is among them.
    pub date: bool,
}

impl RawFields {
    /// The fields at `spans` of `head`: names httparse read as tokens,
    /// values `HeaderValue` takes, no hop-by-hop field.
    pub(crate) fn new(head: Bytes, spans: Vec<Span>, content_length: Option<u64>) -> Self {
        let date = spans
            .iter()
            .any(|s| head[s.name.0..s.name.1].eq_ignore_ascii_case(b"date"));
        Self {
            head,
            spans,
            content_length,
            date,
        }
    }

    /// Each field as (name, value), in the order they came.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.spans.iter().map(|s| {
            (
                &self.head[s.name.0..s.name.1],
                &self.head[s.value.0..s.value.1],
            )
        })
    }
}

/// Only the names: values may be cookies or tokens.
impl std::fmt::Debug for RawFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = self.iter().map(|(name, _)| String::from_utf8_lossy(name));
        f.debug_list().entries(names).finish()
    }
}

/// Whether `value` is one `HeaderValue` takes: visible ASCII, spaces, tabs
/// and obs-text, no other control character.
pub(crate) fn valid_value(value: &[u8]) -> bool {
    // Without a short cut, so the compiler checks many bytes at a time.
    value
        .iter()
        .fold(true, |ok, &b| ok & (b == b'\t' || (b >= b' ' && b != 0x7f)))
}

/// A decimal number of ASCII digits only (no sign, no spaces), without
/// overflow.
pub(crate) fn digits(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |n, b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// Whether the `Connection` fields say `close`, and whether they say
/// `keep-alive`.
pub(crate) fn connection_options(headers: &HeaderMap) -> (bool, bool) {
    let (mut close, mut keep_alive) = (false, false);
    for value in headers.get_all(CONNECTION) {
        close |= list_has(value.as_bytes(), "close");
        keep_alive |= list_has(value.as_bytes(), "keep-alive");
    }
    (close, keep_alive)
}

/// Whether an item of the comma-separated `list` is `token`, in any case.
pub(crate) fn list_has(list: &[u8], token: &str) -> bool {
    list.split(|b| *b == b',')
        .any(|item| item.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// Whether a `Transfer-Encoding` value ends in `chunked` (hyper's reading:
/// a value that is not visible ASCII does not).
pub(crate) fn ends_chunked(value: &HeaderValue) -> bool {
    value
        .to_str()
        .ok()
        .and_then(|v| v.rsplit(',').next())
        .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_slices_of_the_head_and_connection_items_are_read_in_any_case() {
        let raw = b"HTTP/1.1 200 OK\r\nX-A: one\r\nConnection: Keep-Alive , CLOSE\r\n\r\n";
        let mut fields = [httparse::EMPTY_HEADER; 4];
        let mut parsed = httparse::Response::new(&mut fields);
        assert!(parsed.parse(raw).unwrap().is_complete());
        let spans = spans(raw.as_ptr(), parsed.headers.iter());
        let head = Bytes::from_static(raw);
        let map = header_map(&head, &spans, 0).unwrap();
        assert_eq!(map["x-a"], "one");
        assert_eq!(map.len(), 2);
        assert_eq!(connection_options(&map), (true, true));
        assert_eq!(connection_options(&HeaderMap::new()), (false, false));
    }
}
