//! A request body that can be taken back while the upstream client has not
//! started reading it, so a request whose connection attempt failed can be
//! sent to the next target without buffering the body.
//!
//! The pooled client drops the request when it cannot connect; the body
//! itself waits in a shared slot and moves into the request only on its
//! first poll, which happens after a connection exists.

use crate::plugins::{BoxBody, BoxError};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use parking_lot::Mutex;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Holds the body until an attempt starts streaming it.
#[derive(Clone)]
pub struct Slot(Arc<Mutex<Option<BoxBody>>>);

/// The body handed to the client for one attempt.
pub struct Reclaimable {
    slot: Slot,
    taken: Option<BoxBody>,
    size_hint: SizeHint,
    end_stream: bool,
}

/// The body was already consumed by an earlier attempt.
#[derive(Debug, thiserror::Error)]
#[error("request body already sent to another upstream attempt")]
struct Consumed;

// === impl Slot ===

impl Slot {
    /// Parks `body`.
    pub fn new(body: BoxBody) -> Self {
        Self(Arc::new(Mutex::new(Some(body))))
    }

    /// A body for the next attempt.
    pub fn attempt(&self) -> Reclaimable {
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
    pub fn is_intact(&self) -> bool {
        self.0.lock().is_some()
    }
}

// === impl Reclaimable ===

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::full_body;
    use http_body_util::BodyExt;

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
