//! A response body that streams to the client unchanged while a copy is
//! collected; the copy is handed over only when the body ended cleanly
//! and stayed within a size bound. A larger body keeps streaming and the
//! copy is dropped at once, so caching never holds back or buffers a big
//! response.

use super::super::{BoxBody, BoxError};
use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};

/// What receives the whole body once it ended.
pub(super) type OnComplete = Box<dyn FnOnce(Bytes) + Send + Sync>;

/// The teeing body.
pub(super) struct Tee {
    inner: BoxBody,
    copy: Option<(BytesMut, OnComplete)>,
    limit: usize,
}

// === impl Tee ===

impl Tee {
    /// Streams `inner`; `done` gets its bytes if they total at most `limit`.
    pub(super) fn new(inner: BoxBody, limit: usize, done: OnComplete) -> Self {
        // A body that says up front it is too large is not copied at all.
        let too_large = inner
            .size_hint()
            .lower()
            .try_into()
            .map_or(true, |lower: usize| lower > limit);
        Self {
            inner,
            copy: (!too_large).then(|| (BytesMut::new(), done)),
            limit,
        }
    }

    fn finish(&mut self) {
        if let Some((bytes, done)) = self.copy.take() {
            done(bytes.freeze());
        }
    }
}

impl Body for Tee {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let over = this
                        .copy
                        .as_ref()
                        .is_some_and(|(b, _)| b.len() + data.len() > this.limit);
                    if over {
                        this.copy = None;
                    } else if let Some((bytes, _)) = &mut this.copy {
                        bytes.extend_from_slice(data);
                    }
                }
                // hyper stops polling once a body says it ended.
                if this.inner.is_end_stream() {
                    this.finish();
                }
            }
            // A failed body is not a response to keep.
            Poll::Ready(Some(Err(_))) => this.copy = None,
            Poll::Ready(None) => this.finish(),
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
