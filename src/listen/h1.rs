//! kingress's own HTTP/1.1 server loop for the proxy's connections, with
//! hyper's server taking over whatever it does not serve.
//!
//! hyper's server runs a generic dispatcher per connection: a state machine
//! that polls the service, the body and both directions of the socket in
//! turn, and whose code is large enough that a proxied request spent more
//! of its time on instruction-cache misses than on instructions. Most
//! requests a gateway sees are simpler: a head, no body, one answer. This
//! loop serves those itself — it reads and parses the head with `httparse`
//! (hyper's parser), calls the handler, and writes the answer with hyper's
//! framing rules (`encode`) — one request at a time, in order.
//!
//! The first request it does not serve — an HTTP/2 preface, a request with
//! a body, an upgrade, `Expect`, `CONNECT`, or a head hyper would refuse
//! (malformed, too large, too many fields) — and everything after it on the
//! connection goes to hyper's server, which reads the same bytes again
//! (`Rewind`) and answers exactly as it always did, its own errors
//! included. The connection's timers (`Activity`, `Watched`) are the same
//! on both paths.

mod encode;
pub(crate) mod fields;
#[doc(hidden)]
pub mod fuzz;
mod head;
mod rewind;
#[cfg(test)]
mod tests;

use super::Limits;
use super::activity::{Activity, Watched};
use bytes::{Bytes, BytesMut};
use encode::{Encoded, Exchange, Framing, Length};
use futures::FutureExt;
use head::Head;
use http::{HeaderMap, Request, Response};
use http_body::Body;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use rewind::Rewind;
use std::future::{Future, poll_fn};
use std::io::Write as _;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

/// The body of a request served by [`serve_http1`]: `None` when its own
/// loop read the request (such a request has no body), hyper's body when
/// hyper did.
pub type ClientBody = Option<Incoming>;

/// Room asked for before each read.
const READ_SIZE: usize = 8192;
/// Response bytes gathered before they are written: a body chunk up to
/// this size is copied behind the head so both leave in one write.
const WRITE_SIZE: usize = 16 * 1024;

/// Serves one admitted connection like [`super::serve_http`], requests
/// without a body on kingress's own HTTP/1.1 path (see the module's doc).
pub async fn serve_http1<S, H, F, B>(stream: S, peer: SocketAddr, limits: &Limits, handler: H)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<ClientBody>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let activity = Arc::new(Activity::new());
    let mut io = Watched::new(stream, activity.clone(), *limits);
    let mut buf = BytesMut::with_capacity(READ_SIZE);
    let mut out = Vec::with_capacity(1024);
    loop {
        let (request, accepts) = match head::parse(&mut buf) {
            Head::Request(request, accepts) => (request, accepts),
            Head::Partial => {
                if buf.capacity() - buf.len() < READ_SIZE / 2 {
                    buf.reserve(READ_SIZE);
                }
                match io.read_buf(&mut buf).await {
                    // Closed between requests, or in the middle of a head
                    // (which hyper answers with nothing too).
                    Ok(0) => return,
                    Ok(_) => continue,
                    Err(error) => {
                        tracing::debug!(%peer, %error, "connection ended with an error");
                        return;
                    }
                }
            }
            Head::Handoff => {
                let io = Rewind::new(buf.freeze(), io);
                let handler = move |request: Request<Incoming>| handler(request.map(Some));
                super::serve_hyper(io, peer, activity, handler).await;
                return;
            }
        };
        let started = activity.begin(request.version());
        let method = request.method().clone();
        let exchange = Exchange {
            method: &method,
            version: request.version(),
            keep_alive: accepts.keep_alive,
            trailers: accepts.trailers,
        };
        let mut handled = pin!(handler(request.map(|()| None)));
        let response = poll_fn(|cx| match handled.as_mut().poll(cx) {
            Poll::Ready(response) => Poll::Ready(Some(response)),
            Poll::Pending => watch(&mut io, &mut buf, cx).map(|()| None),
        })
        .await;
        let Some(response) = response else {
            tracing::debug!(%peer, "client closed the connection before the response");
            return;
        };
        out.clear();
        let result = respond(&mut io, &mut buf, &mut out, &exchange, response).await;
        drop(started);
        match result {
            Ok(false) => {}
            Ok(true) => {
                let _ = io.shutdown().await;
                return;
            }
            Err(error) => {
                tracing::debug!(%peer, %error, "connection ended with an error");
                return;
            }
        }
    }
}

/// Writes `response`; whether the connection closes after it.
async fn respond<W, B>(
    io: &mut W,
    buf: &mut BytesMut,
    out: &mut Vec<u8>,
    exchange: &Exchange<'_>,
    response: Response<B>,
) -> Result<bool, Box<dyn std::error::Error + Send + Sync>>
where
    W: AsyncRead + AsyncWrite + Unpin,
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (mut parts, mut body) = response.into_parts();
    let raw = parts.extensions.remove::<fields::RawFields>();
    let length = if body.is_end_stream() {
        Length::Empty
    } else {
        body.size_hint()
            .exact()
            .map_or(Length::Unknown, Length::Known)
    };
    let reason = parts.extensions.get::<hyper::ext::ReasonPhrase>();
    let Encoded { framing, last } = encode::head(
        out,
        exchange,
        parts.status,
        parts.version,
        reason.map(|r| r.as_bytes()),
        raw.as_ref(),
        &parts.headers,
        length,
    )
    .map_err(|refused| refused.0)?;
    let mut remaining = match framing {
        Framing::Length(0) => {
            // HEAD, 204, 304, or nothing to send: the body is not read.
            io.write_all(out).await?;
            io.flush().await?;
            return Ok(last);
        }
        Framing::Length(n) => Some(n),
        Framing::Chunked(_) | Framing::Close => None,
    };
    let mut trailers = None;
    loop {
        // A frame that is ready now joins what is gathered; only a body
        // that has to wait gets what is gathered written first, so a
        // streamed answer's head is not held back by its first chunk.
        let frame = match body.frame().now_or_never() {
            Some(frame) => frame,
            None => {
                send(io, out).await?;
                let frame = poll_fn(|cx| match Pin::new(&mut body).poll_frame(cx) {
                    Poll::Ready(frame) => Poll::Ready(Some(frame)),
                    Poll::Pending => watch(io, buf, cx).map(|()| None),
                });
                frame
                    .await
                    .ok_or("client closed the connection during the response")?
            }
        };
        let Some(frame) = frame.transpose().map_err(Into::into)? else {
            break;
        };
        let mut data = match frame.into_data() {
            Ok(data) => data,
            Err(frame) => {
                trailers = frame.into_trailers().ok();
                continue;
            }
        };
        if let Some(left) = &mut remaining {
            // hyper writes no more than the length it announced.
            data.truncate(usize::try_from(*left).unwrap_or(usize::MAX));
            *left -= data.len() as u64;
        }
        if data.is_empty() {
            continue;
        }
        let chunked = matches!(framing, Framing::Chunked(_));
        if chunked {
            // Writing to a Vec cannot fail.
            let _ = write!(out, "{:x}\r\n", data.len());
        }
        if out.len() + data.len() <= WRITE_SIZE {
            out.extend_from_slice(&data);
        } else {
            send(io, out).await?;
            io.write_all(&data).await?;
        }
        if chunked {
            out.extend_from_slice(b"\r\n");
        }
        if out.len() >= WRITE_SIZE {
            send(io, out).await?;
        }
    }
    if let Framing::Chunked(allowed) = &framing {
        out.extend_from_slice(b"0\r\n");
        // hyper sends trailer fields only to a client that accepts them.
        if let (Some(allowed), Some(trailers), true) = (allowed, trailers, exchange.trailers) {
            write_trailers(out, allowed, &trailers);
        }
        out.extend_from_slice(b"\r\n");
    }
    send(io, out).await?;
    if remaining.is_some_and(|left| left > 0) {
        return Err("response body shorter than its length".into());
    }
    Ok(last)
}

/// Ready when the client closed the connection (or it failed) while a
/// response is on its way: like hyper's server (without half-close), the
/// request is then abandoned, and with it the upstream exchange. Bytes of
/// pipelined requests read meanwhile are kept for after the response, up
/// to a head's worth.
fn watch<S: AsyncRead + Unpin>(io: &mut S, buf: &mut BytesMut, cx: &mut Context<'_>) -> Poll<()> {
    // Small: it is zeroed on every call, and pipelined bytes are rare.
    let mut chunk = [0u8; 512];
    while buf.len() < head::MAX_HEAD {
        let mut read = ReadBuf::new(&mut chunk);
        match Pin::new(&mut *io).poll_read(cx, &mut read) {
            Poll::Ready(Ok(())) if read.filled().is_empty() => return Poll::Ready(()),
            Poll::Ready(Ok(())) => buf.extend_from_slice(read.filled()),
            Poll::Ready(Err(_)) => return Poll::Ready(()),
            Poll::Pending => return Poll::Pending,
        }
    }
    Poll::Pending
}

/// Writes and flushes what is gathered.
async fn send<W: AsyncWrite + Unpin>(io: &mut W, out: &mut Vec<u8>) -> std::io::Result<()> {
    if !out.is_empty() {
        io.write_all(out).await?;
        out.clear();
    }
    io.flush().await
}

/// The trailer fields the `Trailer` field announced, as hyper sends them:
/// never one that frames, routes or authenticates a message.
fn write_trailers(out: &mut Vec<u8>, allowed: &[http::HeaderName], trailers: &HeaderMap) {
    use http::header::{
        AUTHORIZATION, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE,
        CONTENT_TYPE, HOST, MAX_FORWARDS, SET_COOKIE, TE, TRAILER, TRANSFER_ENCODING,
    };
    for (name, value) in trailers {
        let forbidden = matches!(
            *name,
            AUTHORIZATION
                | CACHE_CONTROL
                | CONTENT_ENCODING
                | CONTENT_LENGTH
                | CONTENT_RANGE
                | CONTENT_TYPE
                | HOST
                | MAX_FORWARDS
                | SET_COOKIE
                | TRAILER
                | TRANSFER_ENCODING
                | TE
        );
        if allowed.contains(name) && !forbidden {
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
}
