//! A response body that streams to the client unchanged while a copy is
//! collected; the copy is handed over only when the body ended cleanly
//! and stayed within a size bound. A larger body keeps streaming and the
//! copy is dropped at once, so caching never holds back or buffers a big
//! response.

use super::super::{BoxBody, BoxError};
use super::store::Reservation;
use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};

/// What receives the whole body once it ended.
pub(super) type OnComplete = Box<dyn FnOnce(Bytes) + Send + Sync>;

/// The teeing body.
pub(super) struct Tee {
    inner: BoxBody,
    copy: Option<(BytesMut, OnComplete, Reservation)>,
    limit: usize,
}

// === impl Tee ===

impl Tee {
    /// Streams `inner`; `done` gets its bytes if they total at most `limit`
    /// and `budget` could hold them while they were collected.
    pub(super) fn new(inner: BoxBody, limit: usize, budget: Reservation, done: OnComplete) -> Self {
        // A body that says up front it is too large is not copied at all.
        let too_large = inner
            .size_hint()
            .lower()
            .try_into()
            .map_or(true, |lower: usize| lower > limit);
        Self {
            inner,
            copy: (!too_large).then(|| (BytesMut::new(), done, budget)),
            limit,
        }
    }

    fn finish(&mut self) {
        if let Some((bytes, done, budget)) = self.copy.take() {
            // The entry is counted by the store from here on.
            drop(budget);
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
                if let (Some(data), Some((bytes, _, budget))) = (frame.data_ref(), &mut this.copy) {
                    let fits =
                        bytes.len() + data.len() <= this.limit && budget.grow(data.len() as u64);
                    if fits {
                        bytes.extend_from_slice(data);
                    } else {
                        this.copy = None;
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

#[cfg(test)]
mod tests;
