//! A response head as hyper's server writes it, and how its body is framed.
//!
//! The rules are hyper's (`proto::h1::role::Server::encode`), so a client
//! sees the same bytes whichever path served it: lower-case names; the
//! values of `Connection`, `Transfer-Encoding` and `Trailer` joined on one
//! line; a `Content-Length` from the body's exact size when the handler set
//! none (`0` on an empty body, except after `HEAD`); chunked for a body of
//! unknown size (HTTP/1.1), else delimited by the connection's close; no
//! body after `HEAD`, 204 and 304; `Date` added when missing;
//! `Connection: keep-alive` to an HTTP/1.0 client that asked for it, and
//! `Connection: close` to an HTTP/1.1 client that said it.

use super::fields::RawFields;
use super::head::KeepAlive;
use http::header::{CONNECTION, CONTENT_LENGTH, DATE, TRAILER, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version};
use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// What the body will hold, as far as the response knows before it is
/// written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Length {
    /// The body has ended already.
    Empty,
    /// Exactly this many bytes.
    Known(u64),
    /// Unknown until it ends.
    Unknown,
}

/// How the body's bytes go on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Framing {
    /// Exactly this many bytes, then the next response.
    Length(u64),
    /// Chunks, then the trailer fields the `Trailer` field named.
    Chunked(Option<Vec<HeaderName>>),
    /// Everything until the connection closes.
    Close,
}

/// An encoded head's consequences.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Encoded {
    pub framing: Framing,
    /// The connection closes after this response.
    pub last: bool,
}

/// A response the handler returned that hyper refuses to write too.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Refused(pub &'static str);

/// What the head is written for.
pub(super) struct Exchange<'a> {
    pub method: &'a Method,
    /// The request's version: the status line speaks it.
    pub version: Version,
    pub keep_alive: KeepAlive,
    /// The request's `TE` accepts trailer fields.
    pub trailers: bool,
}

/// Appends the head of a response to `dst`: its fields are `raw` (when
/// the upstream's stayed bytes) and then `headers`.
#[allow(clippy::too_many_arguments)]
pub(super) fn head(
    dst: &mut Vec<u8>,
    exchange: &Exchange<'_>,
    status: StatusCode,
    response_version: Version,
    reason: Option<&[u8]>,
    raw: Option<&RawFields>,
    headers: &HeaderMap,
    body: Length,
) -> Result<Encoded, Refused> {
    if status.is_informational() {
        // hyper's server never writes a 1xx itself; upgrades take its path.
        return Err(Refused("a 1xx response"));
    }
    let method = exchange.method;
    let http10 = exchange.version == Version::HTTP_10;
    // What the response's own `Connection` says, read only when it has one.
    let options = |connection: Option<(bool, bool)>| {
        let (close, keep) = connection.unwrap_or_default();
        // hyper: an HTTP/1.0 exchange stays open only when the client asked
        // and the response either says keep-alive or is HTTP/1.1 (then
        // says so).
        let last = match exchange.keep_alive {
            KeepAlive::No => true,
            KeepAlive::Asked => !keep && response_version == Version::HTTP_10,
            KeepAlive::Yes => false,
        } || close;
        let add_keep_alive = exchange.keep_alive == KeepAlive::Asked && !keep && !last;
        let add_close = !http10 && exchange.keep_alive == KeepAlive::No && !close;
        (last, add_keep_alive, add_close)
    };
    let mut connection = None;

    let orig = dst.len();
    dst.reserve(64 + headers.len() * 32);
    match (http10, status, reason) {
        (false, StatusCode::OK, None) => dst.extend_from_slice(b"HTTP/1.1 200 OK\r\n"),
        _ => {
            dst.extend_from_slice(if http10 { b"HTTP/1.0 " } else { b"HTTP/1.1 " });
            dst.extend_from_slice(status.as_str().as_bytes());
            dst.push(b' ');
            let canonical = status.canonical_reason().unwrap_or("<none>").as_bytes();
            dst.extend_from_slice(reason.unwrap_or(canonical));
            dst.extend_from_slice(b"\r\n");
        }
    }

    let chunkable = can_chunk(method, status);
    let mut framing = None;
    let mut trailers: Option<Vec<HeaderName>> = None;
    let mut wrote_date = false;
    if let Some(raw) = raw {
        // No hop-by-hop field is among them, and their lengths agree: only
        // the first `Content-Length` is special (and written, as below).
        wrote_date = raw.date;
        for (name, value) in raw.iter() {
            if name.eq_ignore_ascii_case(b"content-length") {
                if framing.is_some() {
                    continue;
                }
                let stated = || raw.content_length.ok_or(Refused("invalid content-length"));
                match length_field(body, method, stated)? {
                    Some(by_field) => framing = Some(by_field),
                    None => continue,
                }
            }
            // Lower-case, as hyper writes every name.
            let at = dst.len();
            dst.extend_from_slice(name);
            dst[at..].make_ascii_lowercase();
            dst.extend_from_slice(b": ");
            dst.extend_from_slice(value);
            dst.extend_from_slice(b"\r\n");
        }
    }
    let mut previous: Option<&HeaderName> = None;
    for (name, value) in headers {
        // A name's values come one after the other; the fields written on
        // one line are written at its first.
        let repeated = previous == Some(name);
        previous = Some(name);
        match *name {
            CONTENT_LENGTH if !repeated => {
                let stated = || {
                    let len = parse_length(value).ok_or(Refused("invalid content-length"))?;
                    let values = headers.get_all(name).iter();
                    if values.skip(1).any(|v| parse_length(v) != Some(len)) {
                        return Err(Refused("conflicting content-length values"));
                    }
                    Ok(len)
                };
                match length_field(body, method, stated) {
                    Ok(Some(by_field)) => framing = Some(by_field),
                    Ok(None) => continue,
                    Err(refused) => {
                        dst.truncate(orig);
                        return Err(refused);
                    }
                }
                line(dst, name, std::iter::once(value));
            }
            TRANSFER_ENCODING if !repeated => {
                if http10 || !chunkable {
                    continue;
                }
                let all = headers.get_all(name);
                line(dst, name, all.iter());
                if !all
                    .iter()
                    .next_back()
                    .is_some_and(super::fields::ends_chunked)
                {
                    dst.truncate(dst.len() - 2);
                    dst.extend_from_slice(b", chunked\r\n");
                }
                framing = Some(Framing::Chunked(None));
            }
            TRAILER if !repeated => {
                if http10 || !chunkable {
                    continue;
                }
                let all = headers.get_all(name);
                line(dst, name, all.iter());
                let named = all
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(','))
                    .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok());
                trailers.get_or_insert_with(Vec::new).extend(named);
            }
            CONNECTION if !repeated => {
                connection = Some(super::fields::connection_options(headers));
                line(dst, name, headers.get_all(name).iter());
                let (_, add_keep_alive, add_close) = options(connection);
                if add_keep_alive {
                    dst.truncate(dst.len() - 2);
                    dst.extend_from_slice(b", keep-alive\r\n");
                } else if add_close {
                    dst.truncate(dst.len() - 2);
                    dst.extend_from_slice(b", close\r\n");
                }
            }
            CONTENT_LENGTH | TRANSFER_ENCODING | TRAILER | CONNECTION => {}
            _ => {
                wrote_date |= *name == DATE;
                line(dst, name, std::iter::once(value));
            }
        }
    }
    let (mut last, add_keep_alive, add_close) = options(connection);
    if connection.is_none() {
        if add_keep_alive {
            dst.extend_from_slice(b"connection: keep-alive\r\n");
        } else if add_close {
            dst.extend_from_slice(b"connection: close\r\n");
        }
    }
    let framing = match framing {
        Some(framing) => framing,
        None => match body {
            Length::Unknown if http10 || !chunkable => Framing::Close,
            Length::Unknown => {
                dst.extend_from_slice(b"transfer-encoding: chunked\r\n");
                Framing::Chunked(None)
            }
            Length::Empty | Length::Known(0) => {
                if can_have_length(method, status) && *method != Method::HEAD {
                    dst.extend_from_slice(b"content-length: 0\r\n");
                }
                Framing::Length(0)
            }
            Length::Known(n) if can_have_length(method, status) => {
                dst.extend_from_slice(b"content-length: ");
                dst.extend_from_slice(n.to_string().as_bytes());
                dst.extend_from_slice(b"\r\n");
                Framing::Length(n)
            }
            Length::Known(_) => Framing::Length(0),
        },
    };
    let framing = match framing {
        _ if !chunkable => Framing::Length(0),
        Framing::Chunked(_) => Framing::Chunked(trailers),
        other => other,
    };
    if !wrote_date {
        dst.extend_from_slice(b"date: ");
        date(dst);
        dst.extend_from_slice(b"\r\n");
    }
    dst.extend_from_slice(b"\r\n");
    last |= framing == Framing::Close;
    Ok(Encoded { framing, last })
}

/// The framing a `Content-Length` field sets, `None` when the field is
/// not written; `stated` is the length it says, or why it is refused.
fn length_field(
    body: Length,
    method: &Method,
    stated: impl FnOnce() -> Result<u64, Refused>,
) -> Result<Option<Framing>, Refused> {
    Ok(match body {
        Length::Known(n) => Some(Framing::Length(n)),
        Length::Unknown => Some(Framing::Length(stated()?)),
        // The body is empty: only a `HEAD` answer keeps the length of what
        // a GET would have sent.
        Length::Empty if *method == Method::HEAD => Some(Framing::Length(0)),
        Length::Empty => None,
    })
}

/// One field line: `name: v1, v2\r\n`.
fn line<'v>(dst: &mut Vec<u8>, name: &HeaderName, values: impl Iterator<Item = &'v HeaderValue>) {
    dst.extend_from_slice(name.as_str().as_bytes());
    dst.extend_from_slice(b": ");
    for (i, value) in values.enumerate() {
        if i > 0 {
            dst.extend_from_slice(b", ");
        }
        dst.extend_from_slice(value.as_bytes());
    }
    dst.extend_from_slice(b"\r\n");
}

/// Whether the response may have a body at all (and so be chunked).
fn can_chunk(method: &Method, status: StatusCode) -> bool {
    *method != Method::HEAD && can_have_length(method, status)
}

fn can_have_length(method: &Method, status: StatusCode) -> bool {
    !(status.is_informational()
        || (*method == Method::CONNECT && status.is_success())
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED)
}

fn parse_length(value: &HeaderValue) -> Option<u64> {
    let digits = value.as_bytes();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Appends the current time as an HTTP date, formatted once a second per
/// thread (hyper caches it the same way).
fn date(dst: &mut Vec<u8>) {
    thread_local! {
        static CACHED: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    CACHED.with_borrow_mut(|(at, text)| {
        if *at != second {
            *at = second;
            *text = httpdate::fmt_http_date(now);
        }
        dst.extend_from_slice(text.as_bytes());
    });
}
