//! A response body read from its connection as the client connection
//! polls it: a length, chunks (with trailers) or everything until the
//! close; the connection goes back to the pool when the body ended cleanly.

use super::super::pool::Lease;
use super::{MAX_HEAD, MAX_HEADERS};
use crate::plugins::BoxError;
use bytes::{Buf, Bytes, BytesMut};
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

/// The next piece of a body from what was read of its connection.
fn step(buf: &mut BytesMut, framing: &mut Framing) -> Step {
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
            match step(&mut conn.buf, &mut this.framing) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Everything `step` makes of `pieces` arriving one after another: the
    /// data, the trailers, and whether the body ended (`Some(true)`), was
    /// refused (`Some(false)`) or wants more (`None`).
    fn read(framing: Framing, pieces: &[Vec<u8>]) -> (Vec<u8>, Option<HeaderMap>, Option<bool>) {
        let (mut framing, mut buf) = (framing, BytesMut::new());
        let (mut data, mut trailers) = (Vec::new(), None);
        for piece in pieces {
            buf.extend_from_slice(piece);
            loop {
                match step(&mut buf, &mut framing) {
                    Step::Data(d) => {
                        assert!(!d.is_empty(), "an empty data frame");
                        data.extend_from_slice(&d);
                    }
                    Step::Trailers(t) => trailers = Some(t),
                    Step::Ended => return (data, trailers, Some(true)),
                    Step::Invalid(_) => return (data, trailers, Some(false)),
                    Step::Read => break,
                }
            }
        }
        (data, trailers, None)
    }

    fn cut(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
        let mut at: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        at.push(0);
        at.push(bytes.len());
        at.sort_unstable();
        at.windows(2).map(|w| bytes[w[0]..w[1]].to_vec()).collect()
    }

    proptest! {
        /// Chunks of any sizes, with extensions and trailers, cut anywhere:
        /// the body read is the body sent, and it ends.
        #[test]
        fn chunked_bodies_cut_anywhere_read_whole(
            chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..40), 0..6),
            ext in any::<bool>(),
            trailer in any::<bool>(),
            cuts in prop::collection::vec(any::<usize>(), 0..8),
        ) {
            let mut wire = Vec::new();
            for chunk in &chunks {
                wire.extend_from_slice(format!("{:x}{}\r\n", chunk.len(), if ext { ";a=b" } else { "" }).as_bytes());
                wire.extend_from_slice(chunk);
                wire.extend_from_slice(b"\r\n");
            }
            wire.extend_from_slice(b"0\r\n");
            if trailer {
                wire.extend_from_slice(b"x-sum: 1\r\n");
            }
            wire.extend_from_slice(b"\r\n");
            let (data, trailers, ended) = read(Framing::Chunked(Chunk::Size), &cut(&wire, &cuts));
            prop_assert_eq!(data, chunks.concat());
            prop_assert_eq!(trailers.is_some(), trailer);
            prop_assert_eq!(ended, Some(true));
        }

        /// Any bytes at all: read, refused or waiting for more, never a
        /// panic, never more data than was sent.
        #[test]
        fn any_bytes_are_read_or_refused(
            wire in prop::collection::vec(any::<u8>(), 0..300),
            length in 0u64..400,
            cuts in prop::collection::vec(any::<usize>(), 0..8),
        ) {
            for framing in [Framing::Chunked(Chunk::Size), Framing::Length(length), Framing::Close] {
                let (data, _, _) = read(framing, &cut(&wire, &cuts));
                prop_assert!(data.len() <= wire.len());
            }
        }

        /// Response heads of any bytes: parsed, refused or partial, never a
        /// panic.
        #[test]
        fn any_head_bytes_are_parsed_or_refused(
            rest in prop::collection::vec(any::<u8>(), 0..300),
            status_line in any::<bool>(),
        ) {
            let mut buf = BytesMut::new();
            if status_line {
                buf.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
            }
            buf.extend_from_slice(&rest);
            let mut again = buf.clone();
            let _ = super::super::parse(&mut buf, false, false);
            let _ = super::super::parse(&mut again, false, true);
        }
    }
}
