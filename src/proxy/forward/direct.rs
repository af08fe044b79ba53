//! HTTP/1.1 to plain-HTTP upstreams for requests without a body, written
//! and read by the request's own task.
//!
//! hyper's client runs each connection as a task of its own: a request
//! travels to it over a channel, the response comes back over another and
//! the body over a third, each hand-over a wake-up of one task by another
//! (some 30% of a proxied request's instructions went to that connection
//! task). A request without a body needs none of it: its head is written
//! in one call, the response head is read and parsed with `httparse`
//! (hyper's own parser) on the request's task, and the body is read from
//! the socket by whoever polls it — the client connection writing it out.
//! GET, HEAD, DELETE and most other requests take this path; a request
//! with a body, an upgrade, or a TLS upstream keeps hyper's client, which
//! streams both directions at once.
//!
//! The rules are hyper's client's, so both paths answer alike: at most 100
//! header fields and 400 KiB of head; a `Transfer-Encoding` ending in
//! `chunked` frames the body (and its `Content-Length` is dropped), any
//! other `Transfer-Encoding` or no length reads to the connection's close;
//! no body after `HEAD`, 1xx, 204 or 304; conflicting lengths are refused;
//! interim 1xx answers are skipped. A connection returns to the pool only
//! when its body was read to the end, nothing more arrived, and the
//! upstream did not ask to close it.

mod body;
#[doc(hidden)]
pub mod fuzz;

pub(crate) use body::Body;
use body::{Chunk, Framing};

use super::connectors::PLAIN;
use super::failure::headers_timeout;
use super::pool::{ConnectError, Lease, Pooled, tcp};
use super::{Endpoint, Failed as Attempt, Upstreams};
use crate::listen::fields::{self, RawFields, Span, connection_options};
use crate::proxy::body::UpstreamBody;
use crate::proxy::headers::is_hop_by_hop_spelled;
use crate::proxy::respond::ProxyError;
use bytes::BytesMut;
use http::header::{CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, Version};
use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::task::{Context, Poll};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Most header fields in a response head (hyper's client limit).
const MAX_HEADERS: usize = 100;
/// Largest response head, and largest trailer section (hyper's default
/// read buffer limit).
const MAX_HEAD: usize = 8192 + 4096 * 100;
/// Room asked for before each read.
const READ_SIZE: usize = 8192;

/// A plain-HTTP upstream connection and what was read from it but not yet
/// consumed.
pub(crate) struct Conn {
    io: TcpStream,
    buf: BytesMut,
}

/// A response head, and how its body is framed on the connection.
pub(super) struct Answer {
    /// Status, version and header fields.
    pub head: Response<()>,
    framing: Framing,
    keep_alive: bool,
}

/// Why an exchange produced no response.
#[derive(Debug)]
pub(super) enum Failed {
    /// The request could not be written: the upstream never saw it whole.
    Unsent(io::Error),
    /// The connection ended before a byte of an answer: the upstream may
    /// have closed an idle connection just as the request left.
    Unanswered(io::Error),
    /// The answer was broken, or too large.
    Invalid(String),
    /// No response head within the read timeout.
    TimedOut,
}

/// What the start of the read bytes holds.
enum Head {
    /// A final answer's head (consumed).
    Final(Answer),
    /// An interim 1xx answer (consumed): the final one follows.
    Interim,
    /// Not a whole head yet.
    Partial,
}

// === impl Conn ===

impl Conn {
    /// A connection nothing was sent on yet.
    pub(super) fn new(io: TcpStream) -> Self {
        Self {
            io,
            buf: BytesMut::new(),
        }
    }

    /// Whether an idle connection can carry a request: the upstream has not
    /// closed it, nor sent anything unasked. No system call unless the
    /// socket became readable since its last read.
    pub(super) fn is_usable(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match self.io.poll_read_ready(&mut cx) {
            Poll::Pending => true,
            Poll::Ready(Ok(())) => {
                let mut probe = [0u8; 1];
                matches!(self.io.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
            }
            Poll::Ready(Err(_)) => false,
        }
    }

    /// Reads what the socket has into the buffer; 0 at the end of the
    /// stream.
    pub(super) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        self.buf.reserve(READ_SIZE);
        // A read future holds nothing but its borrows: dropped when pending,
        // made again on the next poll.
        std::pin::pin!(self.io.read_buf(&mut self.buf)).poll(cx)
    }
}

/// The request head as HTTP/1.1: request line, `Host`, the other fields
/// as they are (hyper's client drops `Transfer-Encoding` from a request
/// without a body, and so does this), an empty line.
pub(super) fn encode(
    method: &Method,
    target: &str,
    host: &HeaderValue,
    headers: &HeaderMap,
) -> Vec<u8> {
    let method = method.as_str();
    // Request line (two spaces, " HTTP/1.1\r\n"), `host: …\r\n`, the final
    // CRLF and every field (`name: value\r\n`), sized exactly: a guess of
    // 48 bytes a field was outgrown by any bearer token or cookie, and the
    // reallocation cost more than this walk of the map.
    let fields: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    let mut out =
        Vec::with_capacity(method.len() + target.len() + 12 + host.len() + 8 + 2 + fields);
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    out.extend_from_slice(host.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        if name == TRANSFER_ENCODING || name == HOST {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Writes `head` and reads the response head; `no_body` for a `HEAD`
/// request, whose answer has no body whatever its fields say; with `raw`
/// its fields stay bytes when they may ([`RawFields`]).
pub(super) async fn exchange(
    conn: &mut Conn,
    head: &[u8],
    no_body: bool,
    raw: bool,
) -> Result<Answer, Failed> {
    conn.io.write_all(head).await.map_err(Failed::Unsent)?;
    let mut answered = false;
    loop {
        if !conn.buf.is_empty() {
            answered = true;
            match parse(&mut conn.buf, no_body, raw)? {
                Head::Final(answer) => return Ok(answer),
                Head::Interim => continue,
                Head::Partial if conn.buf.len() >= MAX_HEAD => return Err(too_large()),
                Head::Partial => {}
            }
        }
        conn.buf.reserve(READ_SIZE);
        match conn.io.read_buf(&mut conn.buf).await {
            Ok(0) if !answered => {
                return Err(Failed::Unanswered(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "upstream closed the connection without answering",
                )));
            }
            Ok(0) => {
                return Err(Failed::Invalid(
                    "upstream closed the connection in the middle of the response head".into(),
                ));
            }
            Ok(_) => {}
            Err(e) if !answered => return Err(Failed::Unanswered(e)),
            Err(e) => return Err(Failed::Invalid(e.to_string())),
        }
    }
}

fn too_large() -> Failed {
    Failed::Invalid(format!(
        "upstream response head larger than {MAX_HEAD} bytes"
    ))
}

/// The response head at the start of `buf`, consumed when whole.
/// With `raw`, fields that may pass as they came stay bytes ([`RawFields`]).
fn parse(buf: &mut BytesMut, no_body: bool, raw: bool) -> Result<Head, Failed> {
    let invalid =
        |e: &dyn std::fmt::Display| Failed::Invalid(format!("invalid upstream response head: {e}"));
    let mut fields = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut []);
    let len = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut parsed,
        buf,
        &mut fields,
    ) {
        Ok(httparse::Status::Complete(len)) if len <= MAX_HEAD => len,
        Ok(httparse::Status::Complete(_)) => return Err(too_large()),
        Ok(httparse::Status::Partial) => return Ok(Head::Partial),
        Err(e) => return Err(invalid(&e)),
    };
    let status = StatusCode::from_u16(parsed.code.unwrap_or_default()).map_err(|e| invalid(&e))?;
    let version = match parsed.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    // A reason phrase other than the status's own is passed on as hyper's
    // client does.
    let reason = parsed
        .reason
        .filter(|r| !r.is_empty() && Some(*r) != status.canonical_reason())
        .and_then(|r| hyper::ext::ReasonPhrase::try_from(r.as_bytes().to_vec()).ok());
    let passed = raw
        .then(|| passable(buf.as_ptr(), parsed.headers))
        .flatten();
    let spans = match passed {
        Some(_) => Vec::new(),
        None => fields::spans(buf.as_ptr(), parsed.headers.iter()),
    };
    let head = buf.split_to(len).freeze();
    if status.is_informational() && status != StatusCode::SWITCHING_PROTOCOLS {
        return Ok(Head::Interim);
    }
    if status == StatusCode::SWITCHING_PROTOCOLS {
        return Err(Failed::Invalid(
            "upstream switched protocols without an upgrade request".into(),
        ));
    }
    let mut response = Response::new(());
    let (framing, close, asked) = match passed {
        Some(passed) => {
            let framing = match passed.length {
                _ if bodiless(status, no_body) => Framing::Length(0),
                Some(n) => Framing::Length(n),
                None => Framing::Close,
            };
            let raw = RawFields::new(head, passed.spans, passed.length);
            response.extensions_mut().insert(raw);
            (framing, passed.close, passed.keep_alive)
        }
        None => {
            // Room for `Via` and a plugin's field or two.
            let mut headers = fields::header_map(&head, &spans, 2).map_err(|e| invalid(&e))?;
            let framing =
                framing(&mut headers, status, version, no_body).map_err(|e| invalid(&e))?;
            let (close, asked) = connection_options(&headers);
            *response.headers_mut() = headers;
            (framing, close, asked)
        }
    };
    let keep_alive = match version {
        Version::HTTP_10 => asked && !close,
        _ => !close,
    } && framing != Framing::Close;
    *response.status_mut() = status;
    *response.version_mut() = version;
    if let Some(reason) = reason {
        response.extensions_mut().insert(reason);
    }
    Ok(Head::Final(Answer {
        head: response,
        framing,
        keep_alive,
    }))
}

/// How the body of a response with these fields is framed (RFC 9112 §6.3).
fn framing(
    headers: &mut HeaderMap,
    status: StatusCode,
    version: Version,
    no_body: bool,
) -> Result<Framing, &'static str> {
    if bodiless(status, no_body) {
        return Ok(Framing::Length(0));
    }
    if headers.contains_key(TRANSFER_ENCODING) {
        if version == Version::HTTP_10 {
            return Err("Transfer-Encoding in an HTTP/1.0 response");
        }
        let chunked = headers
            .get_all(TRANSFER_ENCODING)
            .iter()
            .next_back()
            .is_some_and(fields::ends_chunked);
        if !chunked {
            return Ok(Framing::Close);
        }
        // The chunks frame the body: a length beside them says nothing
        // true, and must not reach the client.
        headers.remove(CONTENT_LENGTH);
        return Ok(Framing::Chunked(Chunk::Size));
    }
    let values = headers.get_all(CONTENT_LENGTH).into_iter();
    let length = content_length(values.map(HeaderValue::as_bytes))?;
    Ok(length.map_or(Framing::Close, Framing::Length))
}

/// Whether the answer has no body whatever its fields say: to `HEAD`
/// (`no_body`), and with 204 and 304.
fn bodiless(status: StatusCode, no_body: bool) -> bool {
    no_body || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED
}

/// Fields the proxy may pass on as the bytes they came in ([`RawFields`]),
/// and what they say about the connection.
struct Passable {
    /// Every field but `Connection`.
    spans: Vec<Span>,
    length: Option<u64>,
    close: bool,
    keep_alive: bool,
}

/// `fields` as [`Passable`], when the `HeaderMap` path would take them
/// and leave them as they are: every value one `HeaderValue` takes, names
/// `HeaderName` takes (httparse read them as tokens; a name of 64 KiB or
/// more `HeaderName` refuses), one consistent `Content-Length`, and no
/// hop-by-hop field but a `Connection` that names only the connection's
/// own options (any other name it lists would have to go too).
fn passable(base: *const u8, fields: &[httparse::Header<'_>]) -> Option<Passable> {
    let (mut close, mut keep_alive) = (false, false);
    for field in fields {
        let name = field.name.as_bytes();
        if name.len() >= 1 << 16 || !fields::valid_value(field.value) {
            return None;
        }
        if name.eq_ignore_ascii_case(b"connection") {
            let items = field.value.split(|b| *b == b',').map(<[u8]>::trim_ascii);
            for item in items.filter(|item| !item.is_empty()) {
                if item.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if item.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive = true;
                } else {
                    return None;
                }
            }
        } else if is_hop_by_hop_spelled(name) {
            return None;
        }
    }
    let lengths = fields
        .iter()
        .filter(|field| field.name.eq_ignore_ascii_case("content-length"));
    let length = content_length(lengths.map(|field| field.value)).ok()?;
    let kept = fields
        .iter()
        .filter(|field| !field.name.eq_ignore_ascii_case("connection"));
    Some(Passable {
        spans: fields::spans(base, kept),
        length,
        close,
        keep_alive,
    })
}

/// The length the `Content-Length` values say: every value, and every item
/// of a list, must be the same number.
fn content_length<'v>(values: impl Iterator<Item = &'v [u8]>) -> Result<Option<u64>, &'static str> {
    let mut length = None;
    for value in values {
        for item in value.split(|b| *b == b',') {
            let n = fields::digits(item.trim_ascii()).ok_or("invalid Content-Length")?;
            if length.is_some_and(|l| l != n) {
                return Err("conflicting Content-Length values");
            }
            length = Some(n);
        }
    }
    Ok(length)
}

// === impl Answer ===

impl Answer {
    /// The response, its body read from the leased connection.
    pub(super) fn into_response(self, lease: Lease) -> Response<Body> {
        self.head
            .map(|()| Body::new(lease, self.framing, self.keep_alive))
    }
}

// === impl Upstreams ===

impl Upstreams {
    /// A request without a body to a plain-HTTP target on a direct
    /// connection: an idle one when there is one, else a new one. When a
    /// reused connection turns out closed (the upstream may close an idle
    /// one just as the request leaves), the request goes once more on a new
    /// one if it never left, or if it may be repeated (an idempotent
    /// method). With `raw` the response's fields stay bytes when they may
    /// ([`RawFields`]).
    pub(super) async fn attempt_direct(
        &self,
        to: &Endpoint<'_>,
        method: &Method,
        head: &[u8],
        raw: bool,
    ) -> Result<Response<UpstreamBody>, Attempt> {
        let no_body = method == Method::HEAD;
        if let Some(conn) = self.pool.checkout_direct(to.target) {
            match self.exchange_direct(to, conn, head, no_body, raw).await {
                Err(Failed::Unsent(_)) => {}
                Err(Failed::Unanswered(_)) if method.is_idempotent() => {}
                result => return result.map_err(|e| direct_failure(to, e)),
            }
        }
        let tcp = match tokio::time::timeout(to.connect_timeout, tcp(to.target)).await {
            Ok(tcp) => tcp.map_err(Attempt::Connect)?,
            Err(_) => return Err(Attempt::Connect(ConnectError::timeout(to.connect_timeout))),
        };
        self.exchange_direct(to, Conn::new(tcp), head, no_body, raw)
            .await
            .map_err(|e| direct_failure(to, e))
    }

    /// One exchange on a direct connection, the response head awaited within
    /// the read timeout; the connection goes with the response body.
    async fn exchange_direct(
        &self,
        to: &Endpoint<'_>,
        mut conn: Conn,
        head: &[u8],
        no_body: bool,
        raw: bool,
    ) -> Result<Response<UpstreamBody>, Failed> {
        let exchanged =
            tokio::time::timeout(to.read_timeout, exchange(&mut conn, head, no_body, raw)).await;
        let answer = match exchanged {
            Ok(answer) => answer?,
            Err(_) => return Err(Failed::TimedOut),
        };
        let lease = self.pool.lease(Pooled::Direct(conn), PLAIN, to.target);
        Ok(answer.into_response(lease).map(UpstreamBody::direct))
    }
}

/// How a direct exchange ended without a response, as the proxy answers:
/// 504 when the head did not come in time, else 502.
fn direct_failure(to: &Endpoint<'_>, failed: Failed) -> Attempt {
    Attempt::Fatal(match failed {
        Failed::TimedOut => headers_timeout(to),
        Failed::Unsent(e) | Failed::Unanswered(e) => ProxyError::BadGateway(e.to_string()),
        Failed::Invalid(why) => ProxyError::BadGateway(why),
    })
}

#[cfg(test)]
mod tests;
