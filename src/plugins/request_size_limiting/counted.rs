//! A request body counted as it streams: the frames read ahead first, then
//! the rest, failing with [`BodyRefused`] as soon as the count crosses the
//! limit.

use crate::plugins::{BodyRefused, BoxBody, BoxError};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The counted body.
pub(super) struct Counted {
    /// Frames read ahead, replayed first.
    ahead: VecDeque<Frame<Bytes>>,
    /// The rest of the client's body.
    rest: Option<BoxBody>,
    seen: u64,
    limit: u64,
    /// A negative configured size: even an empty body is over it.
    nothing: bool,
    refusal: BodyRefused,
}

impl Counted {
    /// Nothing read yet.
    pub(super) fn new(limit: u64, nothing: bool, refusal: BodyRefused) -> Self {
        Self {
            ahead: VecDeque::new(),
            rest: None,
            seen: 0,
            limit,
            nothing,
            refusal,
        }
    }

    /// Bytes counted so far.
    pub(super) fn seen(&self) -> u64 {
        self.seen
    }

    /// Keeps a frame read ahead; whether the count is now over the limit.
    pub(super) fn replay(&mut self, frame: Frame<Bytes>) -> bool {
        let over = self.count(&frame);
        self.ahead.push_back(frame);
        over
    }

    /// The body to forward: what was read ahead, then `rest`.
    pub(super) fn then(mut self, rest: BoxBody) -> BoxBody {
        self.rest = Some(rest);
        self.boxed()
    }

    fn count(&mut self, frame: &Frame<Bytes>) -> bool {
        // Only data counts: a body of trailers alone is no payload.
        let Some(data) = frame.data_ref() else {
            return false;
        };
        self.seen = self.seen.saturating_add(data.len() as u64);
        self.nothing || self.seen > self.limit
    }
}

impl Body for Counted {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Some(frame) = this.ahead.pop_front() {
            return Poll::Ready(Some(Ok(frame)));
        }
        let Some(rest) = this.rest.as_mut() else {
            return Poll::Ready(None);
        };
        match Pin::new(rest).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if this.count(&frame) {
                    // The upstream must not get a complete request: fail
                    // the body, which aborts the upstream exchange.
                    this.rest = None;
                    return Poll::Ready(Some(Err(Box::new(this.refusal))));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ahead.is_empty() && self.rest.as_ref().is_none_or(|r| r.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        let ahead: u64 = self
            .ahead
            .iter()
            .filter_map(|f| f.data_ref())
            .map(|d| d.len() as u64)
            .sum();
        match &self.rest {
            Some(rest) if !rest.is_end_stream() => {
                let mut hint = SizeHint::new();
                hint.set_lower(ahead.saturating_add(rest.size_hint().lower()));
                hint
            }
            _ => SizeHint::with_exact(ahead),
        }
    }
}
