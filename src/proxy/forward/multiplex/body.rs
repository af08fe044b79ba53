//! An upstream HTTP/2 response body read straight from its stream: data as
//! it arrives (its flow-control window given back as it is handed on), then
//! the trailers (gRPC's status lives there).

use crate::plugins::BoxError;
use bytes::Bytes;
use h2::RecvStream;
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

/// The body of one upstream HTTP/2 response.
pub(crate) struct Body {
    stream: RecvStream,
    /// The `content-length` the upstream declared, counted down.
    remaining: Option<u64>,
    state: State,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Data,
    Trailers,
    Done,
}

impl Body {
    /// `content_length` is the response's declared length, if any.
    pub(super) fn new(stream: RecvStream, content_length: Option<u64>) -> Self {
        // A stream that ended with its headers has neither data nor trailers.
        let state = if stream.is_end_stream() {
            State::Done
        } else {
            State::Data
        };
        Self {
            stream,
            remaining: content_length,
            state,
        }
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            match this.state {
                State::Data => match ready!(this.stream.poll_data(cx)) {
                    Some(Ok(data)) => {
                        // The window reopens as the data leaves: the client's
                        // pace, not kingress's memory, holds the upstream back.
                        let _ = this.stream.flow_control().release_capacity(data.len());
                        if let Some(left) = &mut this.remaining {
                            *left = left.saturating_sub(data.len() as u64);
                        }
                        if data.is_empty() {
                            continue;
                        }
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                    Some(Err(e)) => {
                        this.state = State::Done;
                        return Poll::Ready(Some(Err(Box::new(e))));
                    }
                    None => this.state = State::Trailers,
                },
                State::Trailers => {
                    let polled = ready!(this.stream.poll_trailers(cx));
                    this.state = State::Done;
                    return Poll::Ready(match polled {
                        Ok(Some(trailers)) => Some(Ok(Frame::trailers(trailers))),
                        Ok(None) => None,
                        Err(e) => Some(Err(Box::new(e))),
                    });
                }
                State::Done => return Poll::Ready(None),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.state == State::Done || self.stream.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        match (self.state, self.remaining) {
            (State::Done, _) => SizeHint::with_exact(0),
            (_, Some(left)) => SizeHint::with_exact(left),
            _ => SizeHint::default(),
        }
    }
}
