//! A response body read from its connection as the client connection
//! polls it: a length, chunks (with trailers) or everything until the
//! close; the connection goes back to the pool when the body ended cleanly.

use super::super::pool::Lease;
use super::{Conn, MAX_HEAD, MAX_HEADERS};
use crate::plugins::BoxError;
use bytes::{Buf, Bytes};
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

/// Longest chunk-size line, extensions included.
const MAX_CHUNK_LINE: usize = 4096;

/// A response body read from its connection as it is polled.
pub(crate) struct Body {
    /// The connection; `None` once the body ended or failed.
    lease: Option<Lease>,
    framing: Framing,
    keep_alive: bool,
}

/// How a body is delimited on its connection.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Framing {
    /// This many bytes are left.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked(Chunk),
    /// Everything until the upstream closes the connection.
    Close,
    /// Read to its end.
    Done,
}

/// Where a chunked body's reading stands.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Chunk {
    /// Before a chunk-size line.
    Size,
    /// Inside a chunk, this many bytes left.
    Data(u64),
    /// Before the CRLF that ends a chunk.
    End,
    /// After the last chunk: trailer fields, then an empty line.
    Trailers,
}

/// One step of reading a body from what the connection holds.
enum Step {
    Data(Bytes),
    Trailers(HeaderMap),
    Ended,
    /// More bytes are needed.
    Read,
    Invalid(String),
}

/// The body failed: the connection is closed, the client connection gets
/// the error (and is aborted, as with hyper's client).
#[derive(Debug, thiserror::Error)]
#[error("upstream response body: {0}")]
struct BodyError(String);

// === impl Body ===

impl Body {
    /// The body of an answer framed by `framing` on the leased connection;
    /// an empty one returns the connection at once.
    pub(super) fn new(lease: Lease, framing: Framing, keep_alive: bool) -> Self {
        let mut body = Self {
            lease: Some(lease),
            framing,
            keep_alive,
        };
        if body.framing == Framing::Length(0) {
            body.finish();
        }
        body
    }

    /// The body ended: its connection serves the next request when the
    /// upstream keeps it open and sent nothing beyond the body.
    fn finish(&mut self) {
        self.framing = Framing::Done;
        if let Some(mut lease) = self.lease.take() {
            let clean = lease.direct().is_some_and(|conn| conn.buf.is_empty());
            if self.keep_alive && clean {
                lease.release();
            }
        }
    }

    fn fail(&mut self, why: String) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.framing = Framing::Done;
        self.lease = None;
        Poll::Ready(Some(Err(Box::new(BodyError(why)))))
    }
}

/// The next piece of a body from what `conn` holds.
fn step(conn: &mut Conn, framing: &mut Framing) -> Step {
    let buf = &mut conn.buf;
    loop {
        match framing {
            Framing::Done | Framing::Length(0) => return Step::Ended,
            Framing::Length(left) | Framing::Chunked(Chunk::Data(left)) => {
                if buf.is_empty() {
                    return Step::Read;
                }
                let take = (*left).min(buf.len() as u64);
                *left -= take;
                // `take` is at most `buf.len()`.
                let data = buf.split_to(take as usize).freeze();
                if *framing == Framing::Chunked(Chunk::Data(0)) {
                    *framing = Framing::Chunked(Chunk::End);
                }
                return Step::Data(data);
            }
            Framing::Close => {
                if buf.is_empty() {
                    return Step::Read;
                }
                return Step::Data(buf.split().freeze());
            }
            Framing::Chunked(Chunk::Size) => match httparse::parse_chunk_size(buf) {
                Ok(httparse::Status::Complete((used, size))) => {
                    buf.advance(used);
                    *framing = Framing::Chunked(if size == 0 {
                        Chunk::Trailers
                    } else {
                        Chunk::Data(size)
                    });
                }
                Ok(httparse::Status::Partial) if buf.len() <= MAX_CHUNK_LINE => {
                    return Step::Read;
                }
                _ => return Step::Invalid("invalid chunk size line".into()),
            },
            Framing::Chunked(Chunk::End) => {
                if buf.len() < 2 {
                    return Step::Read;
                }
                if &buf[..2] != b"\r\n" {
                    return Step::Invalid("chunk not followed by CRLF".into());
                }
                buf.advance(2);
                *framing = Framing::Chunked(Chunk::Size);
            }
            Framing::Chunked(Chunk::Trailers) => {
                if buf.starts_with(b"\r\n") {
                    buf.advance(2);
                    *framing = Framing::Done;
                    return Step::Ended;
                }
                let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
                return match httparse::parse_headers(buf, &mut fields) {
                    Ok(httparse::Status::Complete((used, fields))) => {
                        let mut trailers = HeaderMap::with_capacity(fields.len());
                        for field in fields.iter() {
                            let (Ok(name), Ok(value)) = (
                                HeaderName::from_bytes(field.name.as_bytes()),
                                HeaderValue::from_bytes(field.value),
                            ) else {
                                return Step::Invalid("invalid trailer field".into());
                            };
                            trailers.append(name, value);
                        }
                        buf.advance(used);
                        *framing = Framing::Done;
                        Step::Trailers(trailers)
                    }
                    Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => Step::Read,
                    _ => Step::Invalid("invalid trailer section".into()),
                };
            }
        }
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        loop {
            let Some(conn) = this.lease.as_mut().and_then(Lease::direct) else {
                return Poll::Ready(None);
            };
            match step(conn, &mut this.framing) {
                Step::Data(data) => {
                    if this.framing == Framing::Length(0) {
                        this.finish();
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Step::Trailers(trailers) => {
                    this.finish();
                    return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
                }
                Step::Ended => {
                    this.finish();
                    return Poll::Ready(None);
                }
                Step::Invalid(why) => return this.fail(why),
                Step::Read => match ready!(conn.poll_fill(cx)) {
                    Ok(0) if this.framing == Framing::Close => {
                        this.keep_alive = false;
                        this.finish();
                        return Poll::Ready(None);
                    }
                    Ok(0) => {
                        return this
                            .fail("upstream closed the connection before the body ended".into());
                    }
                    Ok(_) => {}
                    Err(e) => return this.fail(e.to_string()),
                },
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.framing, Framing::Length(0) | Framing::Done)
    }

    fn size_hint(&self) -> SizeHint {
        match self.framing {
            Framing::Length(n) => SizeHint::with_exact(n),
            Framing::Done => SizeHint::with_exact(0),
            Framing::Chunked(_) | Framing::Close => SizeHint::default(),
        }
    }
}
