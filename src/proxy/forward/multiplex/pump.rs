//! A request body sent on an upstream HTTP/2 stream: frames as the client
//! sends them, no faster than the upstream's flow-control window admits,
//! then the trailers or an empty frame that ends the stream.

use crate::plugins::BoxError;
use crate::proxy::body::Reclaimable;
use bytes::Bytes;
use h2::{Reason, SendStream};
use http_body::Body as _;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

/// The rest of one request body and the stream it goes to.
pub(super) struct Pump {
    body: Reclaimable,
    send: SendStream<Bytes>,
}

/// Why a pump stopped before the body ended.
pub(super) enum Stopped {
    /// Reading the client's body failed (or a plugin refused it); the
    /// stream was reset.
    Body(BoxError),
    /// The upstream reset the stream or the connection ended: the answer,
    /// if any, comes with the response.
    Stream(h2::Error),
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stopped::Body(e) => write!(f, "the client's body: {e}"),
            Stopped::Stream(e) => write!(f, "the stream: {e}"),
        }
    }
}

impl Pump {
    pub(super) fn new(body: Reclaimable, send: SendStream<Bytes>) -> Self {
        Self { body, send }
    }

    /// Sends what the body has; ready when the body has been sent whole.
    pub(super) fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Stopped>> {
        loop {
            // Read a frame only when the window has room, so a slow upstream
            // holds the client back instead of filling kingress's memory.
            self.send.reserve_capacity(1);
            if self.send.capacity() == 0 {
                loop {
                    match ready!(self.send.poll_capacity(cx)) {
                        Some(Ok(0)) => {}
                        Some(Ok(_)) => break,
                        Some(Err(e)) => return Poll::Ready(Err(Stopped::Stream(e))),
                        // No longer sending: ended, or reset by the upstream.
                        None => return Poll::Ready(Err(Stopped::Stream(Reason::CANCEL.into()))),
                    }
                }
            } else if let Poll::Ready(reset) = self.send.poll_reset(cx) {
                let error = match reset {
                    Ok(reason) => reason.into(),
                    Err(e) => e,
                };
                return Poll::Ready(Err(Stopped::Stream(error)));
            }
            let frame = match ready!(Pin::new(&mut self.body).poll_frame(cx)) {
                Some(Ok(frame)) => frame,
                Some(Err(e)) => {
                    self.send.send_reset(Reason::CANCEL);
                    return Poll::Ready(Err(Stopped::Body(e)));
                }
                None => {
                    self.send.reserve_capacity(0);
                    return Poll::Ready(
                        self.send
                            .send_data(Bytes::new(), true)
                            .map_err(Stopped::Stream),
                    );
                }
            };
            match frame.into_data() {
                Ok(data) => {
                    let end = self.body.is_end_stream();
                    if let Err(e) = self.send.send_data(data, end) {
                        return Poll::Ready(Err(Stopped::Stream(e)));
                    }
                    if end {
                        return Poll::Ready(Ok(()));
                    }
                }
                Err(frame) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        // No more data: the reserved window goes back.
                        self.send.reserve_capacity(0);
                        return Poll::Ready(
                            self.send.send_trailers(trailers).map_err(Stopped::Stream),
                        );
                    }
                }
            }
        }
    }

    /// Sends the rest of the body on a task of its own (a streaming
    /// request whose response arrived first).
    pub(super) fn spawn(mut self) {
        tokio::spawn(async move {
            if let Err(stopped) = std::future::poll_fn(|cx| self.poll_send(cx)).await {
                tracing::debug!(%stopped, "request body to an HTTP/2 upstream ended early");
            }
        });
    }
}
