//! The request head at the start of a connection's buffer, and whether
//! kingress's own HTTP/1 path serves it or hands the connection to hyper.

use super::fields;
use bytes::BytesMut;
use http::{Method, Request, Uri, Version};
use std::mem::MaybeUninit;

/// Most header fields in a request head (hyper's server limit).
const MAX_HEADERS: usize = 100;
/// Longest request target (hyper's server limit; longer ones get 414).
const MAX_URI_LEN: usize = (u16::MAX - 1) as usize;
/// Largest request head (hyper's server read buffer limit; a larger one
/// gets 431).
pub(super) const MAX_HEAD: usize = 8192 + 4096 * 100;
/// Room left in a request's header map for the fields a proxy adds
/// (`X-Forwarded-*`, `X-Real-IP`, a plugin's), so adding them does not
/// grow the map.
const SPARE_FIELDS: usize = 8;

/// What the start of the buffer holds.
// Returned once per request and taken apart at once: boxing the request
// would cost an allocation per request to save a move.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(super) enum Head {
    /// A whole request head without a body, consumed from the buffer.
    Request(Request<()>, Accepts),
    /// Not a whole head yet.
    Partial,
    /// Something hyper serves, or answers with its own error, from here on
    /// (nothing was consumed): an HTTP/2 preface, a malformed or oversized
    /// head, a request with a body, an upgrade, `Expect`, `CONNECT`.
    Handoff,
}

/// What the request says the client takes in the answer.
#[derive(Clone, Copy, Debug)]
pub(super) struct Accepts {
    pub keep_alive: KeepAlive,
    /// `TE: trailers`: trailer fields after a chunked body.
    pub trailers: bool,
}

/// What the head's fields say about its path.
#[derive(Default)]
struct Facts {
    /// A body: `Transfer-Encoding`, or a `Content-Length` other than 0.
    body: bool,
    /// `Upgrade` or `Expect`.
    other: bool,
    close: bool,
    keep_alive: bool,
    trailers: bool,
}

/// Whether the connection stays open after the response, by the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum KeepAlive {
    /// HTTP/1.1 without `Connection: close`.
    Yes,
    /// HTTP/1.0 with `Connection: keep-alive`: the response says so too.
    Asked,
    /// The request said `close`, or is HTTP/1.0 without `keep-alive`.
    No,
}

/// Parses the head at the start of `buf`, consuming it when this path
/// serves it.
pub(super) fn parse(buf: &mut BytesMut) -> Head {
    // hyper's server tells HTTP/2 prior knowledge by its preface.
    if buf.starts_with(b"PRI ") {
        return Head::Handoff;
    }
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut []);
    let len = match parsed.parse_with_uninit_headers(buf, &mut slots) {
        Ok(httparse::Status::Complete(len)) if len <= MAX_HEAD => len,
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => return Head::Partial,
        _ => return Head::Handoff,
    };
    let (Some(method), Some(target), Some(minor)) = (parsed.method, parsed.path, parsed.version)
    else {
        return Head::Handoff;
    };
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return Head::Handoff;
    };
    if method == Method::CONNECT || target.len() > MAX_URI_LEN {
        return Head::Handoff;
    }
    // One pass over the raw fields decides everything the head's path
    // depends on, before any map is built.
    let mut facts = Facts::default();
    for field in parsed.headers.iter() {
        let (name, value) = (field.name, field.value);
        if name.eq_ignore_ascii_case("content-length") {
            facts.body |= value.is_empty() || value.iter().any(|b| *b != b'0');
        } else if name.eq_ignore_ascii_case("connection") {
            facts.close |= fields::list_has(value, "close");
            facts.keep_alive |= fields::list_has(value, "keep-alive");
        } else if name.eq_ignore_ascii_case("te") {
            facts.trailers |= fields::list_has(value, "trailers");
        } else {
            facts.body |= name.eq_ignore_ascii_case("transfer-encoding");
            facts.other |=
                name.eq_ignore_ascii_case("upgrade") || name.eq_ignore_ascii_case("expect");
        }
    }
    if facts.body || facts.other {
        return Head::Handoff;
    }
    let base = buf.as_ptr() as usize;
    let target = (target.as_ptr() as usize - base, target.len());
    let spans = fields::spans(buf.as_ptr(), parsed.headers.iter());
    let head = buf.split_to(len).freeze();
    let uri = Uri::from_maybe_shared(head.slice(target.0..target.0 + target.1));
    let (Ok(uri), Ok(headers)) = (uri, fields::header_map(&head, &spans, SPARE_FIELDS)) else {
        // Rare (httparse let through what `http` refuses): hyper reads the
        // head again and answers it.
        let mut whole = BytesMut::with_capacity(head.len() + buf.len());
        whole.extend_from_slice(&head);
        whole.extend_from_slice(buf);
        *buf = whole;
        return Head::Handoff;
    };
    let (version, keep_alive) = match (minor, facts.close, facts.keep_alive) {
        (1, false, _) => (Version::HTTP_11, KeepAlive::Yes),
        (1, true, _) => (Version::HTTP_11, KeepAlive::No),
        (_, false, true) => (Version::HTTP_10, KeepAlive::Asked),
        _ => (Version::HTTP_10, KeepAlive::No),
    };
    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = version;
    *request.headers_mut() = headers;
    Head::Request(
        request,
        Accepts {
            keep_alive,
            trailers: facts.trailers,
        },
    )
}
