//! Bodies on their way through the proxy.
//!
//! Requests: a body that can be taken back while the upstream client has
//! not started reading it, so a request whose connection attempt failed can
//! be sent to the next target without buffering the body. The pooled client
//! drops the request when it cannot connect; the body itself waits in a
//! shared slot and moves into the request only on its first poll, which
//! happens after a connection exists.
//!
//! Responses: the upstream body hands its connection back to the pool when
//! it has been read to its end ([`UpstreamBody`]); a small body is awaited
//! up to its first chunk before the response is handed to the client
//! connection ([`response_body`]).

use super::forward::{DirectBody, H2Body, Lease};
use crate::listen::ClientBody;
use crate::plugins::{BoxBody, BoxError, empty_body, full_body};
use crate::publish::balance::InFlight;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use parking_lot::Mutex;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Holds the body until an attempt starts streaming it.
#[derive(Clone)]
pub(super) struct Slot(Arc<Mutex<Option<BoxBody>>>);

/// The body handed to the client for one attempt.
pub(super) struct Reclaimable {
    slot: Slot,
    taken: Option<BoxBody>,
    size_hint: SizeHint,
    end_stream: bool,
}

/// Upstream responses declaring at most this many bytes are held until their
/// first chunk arrives (see [`response_body`]).
const PREFETCH_LIMIT: u64 = 64 * 1024;

/// An upstream response body and the connection it arrived on, which goes
/// back to the pool once the body has ended. A body dropped early, or one
/// that failed, takes its connection with it (hyper closes it).
pub(super) struct UpstreamBody {
    inner: Inner,
    lease: Option<Lease>,
    /// Counts the request on its target (least-connections, latency) until
    /// the body ends.
    in_flight: Option<InFlight>,
}

/// Where an upstream body comes from.
enum Inner {
    /// hyper's client connection task.
    Hyper(Incoming),
    /// The connection itself, read as the body is polled (it returns the
    /// connection on its own).
    Direct(DirectBody),
    /// A stream of a shared HTTP/2 connection.
    H2(H2Body),
}

/// An upstream response body whose first frame was already read.
struct Primed {
    first: Option<Result<Frame<Bytes>, BoxError>>,
    rest: UpstreamBody,
}

/// Reading the client's request body failed: bad chunked encoding, fewer
/// bytes than its `Content-Length`, a connection closed mid-body. The
/// upstream client reports it as its own failure; this type, found in that
/// error's source chain, says whose fault it was.
#[derive(Debug, thiserror::Error)]
#[error("client request body")]
pub(super) struct ClientBodyError(#[source] hyper::Error);

/// The body was already consumed by an earlier attempt.
#[derive(Debug, thiserror::Error)]
#[error("request body already sent to another upstream attempt")]
struct Consumed;

/// The client's request body as the pipeline passes it on, its errors
/// marked as the client's (none: the request had no body).
pub(super) fn client_body(body: ClientBody) -> BoxBody {
    match body {
        Some(body) => body
            .map_err(|e| Box::new(ClientBodyError(e)) as BoxError)
            .boxed(),
        None => empty_body(),
    }
}

// === impl Slot ===

impl Slot {
    /// Parks `body`.
    pub(super) fn new(body: BoxBody) -> Self {
        Self(Arc::new(Mutex::new(Some(body))))
    }

    /// A body for the next attempt.
    pub(super) fn attempt(&self) -> Reclaimable {
        let (size_hint, end_stream) = match self.0.lock().as_ref() {
            Some(body) => (body.size_hint(), body.is_end_stream()),
            None => (SizeHint::default(), false),
        };
        Reclaimable {
            slot: self.clone(),
            taken: None,
            size_hint,
            end_stream,
        }
    }

    /// Whether no attempt has started reading the body, i.e. the request
    /// may still be retried.
    pub(super) fn is_intact(&self) -> bool {
        self.0.lock().is_some()
    }
}

// === impl Reclaimable ===

impl Reclaimable {
    /// The slot this attempt takes its body from.
    pub(super) fn slot(&self) -> Slot {
        self.slot.clone()
    }
}

impl Body for Reclaimable {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.taken.is_none() {
            this.taken = this.slot.0.lock().take();
            if this.taken.is_none() {
                return Poll::Ready(Some(Err(Box::new(Consumed))));
            }
        }
        match this.taken.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.taken {
            Some(body) => body.is_end_stream(),
            None => self.end_stream,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.taken {
            Some(body) => body.size_hint(),
            None => self.size_hint,
        }
    }
}

/// The upstream response body as the client connection gets it.
///
/// With a `Content-Length` of at most [`PREFETCH_LIMIT`] the first chunk is
/// awaited before the response leaves. When that chunk is the whole body
/// (the usual case for small responses) it goes out as one full body, so
/// the client connection writes head and body in one write; otherwise the
/// head would be flushed on its own while the body is still being handed
/// over from the upstream connection. Anything else streams as it comes.
/// `length` is the response's `Content-Length`.
pub(super) async fn response_body(mut body: UpstreamBody, length: Option<u64>) -> BoxBody {
    let small = length.is_some_and(|len| len <= PREFETCH_LIMIT);
    if !small || body.is_end_stream() {
        return boxed(body);
    }
    let first = match body.frame().await {
        None => return boxed(body),
        Some(Ok(frame)) if body.is_end_stream() => match frame.into_data() {
            Ok(data) => return full_body(data),
            Err(frame) => Ok(frame),
        },
        Some(first) => first,
    };
    Primed {
        first: Some(first),
        rest: body,
    }
    .boxed()
}

fn boxed(body: UpstreamBody) -> BoxBody {
    body.boxed()
}

// === impl UpstreamBody ===

impl UpstreamBody {
    /// Wraps a response body; `lease` is `None` for a connection that must
    /// not be reused (an upgraded one).
    pub(super) fn new(inner: Incoming, lease: Option<Lease>) -> Self {
        Self::leased(Inner::Hyper(inner), lease)
    }

    /// A body read from an HTTP/2 stream, which holds its place on the
    /// connection (`lease`) until it ends.
    pub(super) fn h2(body: H2Body, lease: Lease) -> Self {
        Self::leased(Inner::H2(body), Some(lease))
    }

    fn leased(inner: Inner, lease: Option<Lease>) -> Self {
        let mut body = Self {
            inner,
            lease,
            in_flight: None,
        };
        // A body-less response (204, 304, HEAD, `content-length: 0`) frees
        // its connection at once.
        body.release_if_ended();
        body
    }

    /// A body read straight from its connection.
    pub(super) fn direct(body: DirectBody) -> Self {
        Self {
            inner: Inner::Direct(body),
            lease: None,
            in_flight: None,
        }
    }

    /// Keeps the target's in-flight count up until the body ends.
    pub(super) fn hold(&mut self, in_flight: Option<InFlight>) {
        if !self.inner.is_end_stream() {
            self.in_flight = in_flight;
        }
    }

    fn release_if_ended(&mut self) {
        if self.inner.is_end_stream() {
            self.in_flight = None;
            if let Some(lease) = self.lease.take() {
                lease.release();
            }
        }
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let polled = this.inner.poll_frame(cx);
        match &polled {
            Poll::Ready(None) => {
                this.in_flight = None;
                if let Some(lease) = this.lease.take() {
                    lease.release();
                }
            }
            Poll::Ready(Some(Ok(_))) => this.release_if_ended(),
            Poll::Ready(Some(Err(_))) => this.lease = None,
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

// === impl Inner ===

impl Inner {
    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self {
            Inner::Hyper(body) => Pin::new(body)
                .poll_frame(cx)
                .map_err(|e| Box::new(e) as BoxError),
            Inner::Direct(body) => Pin::new(body).poll_frame(cx),
            Inner::H2(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Inner::Hyper(body) => body.is_end_stream(),
            Inner::Direct(body) => body.is_end_stream(),
            Inner::H2(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Inner::Hyper(body) => body.size_hint(),
            Inner::Direct(body) => body.size_hint(),
            Inner::H2(body) => body.size_hint(),
        }
    }
}

// === impl Primed ===

impl Body for Primed {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(first));
        }
        Pin::new(&mut this.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let rest = self.rest.size_hint();
        let first = match &self.first {
            Some(Ok(frame)) => frame.data_ref().map_or(0, |d| d.len() as u64),
            _ => 0,
        };
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower() + first);
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + first);
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unpolled_attempt_leaves_the_body_for_the_next() {
        let slot = Slot::new(full_body(Bytes::from_static(b"hello")));
        let first = slot.attempt();
        assert_eq!(first.size_hint().exact(), Some(5));
        drop(first);
        assert!(slot.is_intact());
        let second = slot.attempt();
        assert_eq!(second.collect().await.unwrap().to_bytes(), "hello");
        assert!(!slot.is_intact());
        assert!(slot.attempt().collect().await.is_err());
    }
}
