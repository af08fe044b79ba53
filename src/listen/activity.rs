//! The clock of one connection. A connection is *busy* while a response is
//! being produced or written, and *idle* otherwise; only an idle connection
//! is timed. An idle connection that has read nothing since it became idle
//! gets the first-byte timeout (before its first request) or the keep-alive
//! timeout (after one); once the first byte of the next request arrives it
//! gets the header timeout, counted from that byte, until the request
//! reaches the handler.
//!
//! The deadline is checked where the connection waits for bytes
//! (`Watched::poll_read` returning `Pending`): hyper and h2 read from an
//! idle connection all the time, so the check costs no task and no timer
//! while requests are in flight.

use super::Limits;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// What one connection is doing, shared by its reader and its requests
/// (HTTP/2 requests run in tasks of their own).
pub(super) struct Activity {
    started: Instant,
    /// Requests whose response is not yet fully written.
    busy: AtomicUsize,
    /// Whether any request reached the handler.
    served: AtomicBool,
    /// A protocol upgrade took the connection over.
    upgraded: AtomicBool,
    /// HTTP/2: bytes between requests are frames of the connection
    /// (PING, SETTINGS, WINDOW_UPDATE), not the start of a request head.
    multiplexed: AtomicBool,
    /// Milliseconds after `started` when the connection last became idle.
    idle_since: AtomicU64,
    /// One plus the milliseconds after `started` of the first byte read
    /// while idle; 0 while none was.
    head_since: AtomicU64,
}

/// Why a connection was closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    FirstByte,
    Head,
    KeepAlive,
    /// Not a limit: the connection was busy, look again.
    Recheck,
}

/// A request in flight; the connection is idle again when the last one
/// is dropped (with its response body).
pub(super) struct Started {
    activity: Arc<Activity>,
}

/// The connection's byte stream with the idle deadline checked on reads.
pub(super) struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
    limits: Limits,
    /// The armed timer and the deadline (after `started`) it is set for.
    timer: Option<(Duration, Pin<Box<Sleep>>)>,
}

/// A response body that keeps its request counted as in flight until the
/// body is finished or dropped.
pub(super) struct Tracked<B> {
    body: B,
    _started: Started,
}

// === impl Activity ===

impl Activity {
    pub(super) fn new() -> Self {
        Self {
            started: Instant::now(),
            busy: AtomicUsize::new(0),
            served: AtomicBool::new(false),
            upgraded: AtomicBool::new(false),
            multiplexed: AtomicBool::new(false),
            idle_since: AtomicU64::new(0),
            head_since: AtomicU64::new(0),
        }
    }

    /// A request reached the handler.
    pub(super) fn begin(self: &Arc<Self>, version: http::Version) -> Started {
        self.busy.fetch_add(1, Ordering::AcqRel);
        self.served.store(true, Ordering::Relaxed);
        if version == http::Version::HTTP_2 {
            self.multiplexed.store(true, Ordering::Relaxed);
        }
        self.head_since.store(0, Ordering::Relaxed);
        Started {
            activity: self.clone(),
        }
    }

    fn millis(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    /// Bytes arrived: on an idle HTTP/1 connection they start a request
    /// head.
    fn read(&self) {
        if self.busy.load(Ordering::Acquire) == 0
            && self.head_since.load(Ordering::Relaxed) == 0
            && !self.multiplexed.load(Ordering::Relaxed)
        {
            let _ = self.head_since.compare_exchange(
                0,
                self.millis() + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    /// When (after `started`) the connection must be closed, and why;
    /// `None` while it is busy.
    fn deadline(&self, limits: &Limits) -> Option<(Duration, Phase)> {
        if self.upgraded.load(Ordering::Relaxed) || self.busy.load(Ordering::Acquire) > 0 {
            return None;
        }
        let head = self.head_since.load(Ordering::Relaxed);
        if head != 0 {
            return Some((
                Duration::from_millis(head - 1) + limits.header_timeout,
                Phase::Head,
            ));
        }
        let idle = Duration::from_millis(self.idle_since.load(Ordering::Relaxed));
        Some(if self.served.load(Ordering::Relaxed) {
            (idle + limits.keepalive_timeout, Phase::KeepAlive)
        } else {
            (idle + limits.first_byte_timeout, Phase::FirstByte)
        })
    }
}

// === impl Phase ===

impl Phase {
    fn reason(self) -> &'static str {
        match self {
            Phase::FirstByte => "no request within the first-byte timeout",
            Phase::Head => "request head not complete within the header timeout",
            Phase::KeepAlive => "idle longer than the keep-alive timeout",
            Phase::Recheck => "busy",
        }
    }
}

// === impl Started ===

impl Started {
    /// The connection was upgraded: it is never timed out here again.
    pub(super) fn upgraded(&self) {
        self.activity.upgraded.store(true, Ordering::Relaxed);
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let activity = &self.activity;
        if activity.busy.fetch_sub(1, Ordering::AcqRel) == 1 {
            activity
                .idle_since
                .store(activity.millis(), Ordering::Relaxed);
        }
    }
}

// === impl Watched ===

impl<S> Watched<S> {
    pub(super) fn new(inner: S, activity: Arc<Activity>, limits: Limits) -> Self {
        Self {
            inner,
            activity,
            limits,
            timer: None,
        }
    }

    /// Called when the connection waits for bytes: `Ready` with an error
    /// once the deadline has passed, else `Pending` with the timer armed.
    ///
    /// A busy connection gets a re-check timer a keep-alive time ahead:
    /// whoever ends the last request (often this very task, after this
    /// read returned) does not wake the reader, so the reader wakes itself.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let now = self.activity.started.elapsed();
            let (at, phase) = match self.activity.deadline(&self.limits) {
                Some(deadline) => deadline,
                None => match &self.timer {
                    Some((set, _)) if *set > now => (*set, Phase::Recheck),
                    _ => (now + self.limits.keepalive_timeout, Phase::Recheck),
                },
            };
            let when = tokio::time::Instant::from_std(self.activity.started + at);
            let sleep = match &mut self.timer {
                Some((set, sleep)) => {
                    if *set != at {
                        sleep.as_mut().reset(when);
                        *set = at;
                    }
                    sleep
                }
                None => {
                    let (_, sleep) = self
                        .timer
                        .insert((at, Box::pin(tokio::time::sleep_until(when))));
                    sleep
                }
            };
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            if phase != Phase::Recheck {
                tracing::debug!(reason = phase.reason(), "closing client connection");
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, phase.reason())));
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.activity.read();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.poll_deadline(cx),
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    write_through!();
}

// === impl Tracked ===

impl<B> Tracked<B> {
    pub(super) fn new(body: B, started: Started) -> Self {
        Self {
            body,
            _started: started,
        }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for Tracked<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            first_byte_timeout: Duration::from_secs(1),
            header_timeout: Duration::from_secs(2),
            keepalive_timeout: Duration::from_secs(3),
            ..Limits::default()
        }
    }

    #[test]
    fn phases_follow_the_requests() {
        let activity = Arc::new(Activity::new());
        let phase = |a: &Activity| a.deadline(&limits()).map(|(_, p)| p);
        assert_eq!(phase(&activity), Some(Phase::FirstByte));
        activity.read();
        assert_eq!(phase(&activity), Some(Phase::Head));
        let first = activity.begin(http::Version::HTTP_11);
        let second = activity.begin(http::Version::HTTP_11);
        assert_eq!(phase(&activity), None, "busy");
        activity.read();
        drop(first);
        assert_eq!(phase(&activity), None, "one still busy");
        drop(second);
        assert_eq!(phase(&activity), Some(Phase::KeepAlive));
        activity.read();
        assert_eq!(phase(&activity), Some(Phase::Head));
        activity.begin(http::Version::HTTP_11).upgraded();
        assert_eq!(phase(&activity), None, "upgraded");
    }

    #[test]
    fn http2_frames_between_requests_are_not_a_head() {
        let activity = Arc::new(Activity::new());
        let phase = |a: &Activity| a.deadline(&limits()).map(|(_, p)| p);
        activity.read();
        assert_eq!(phase(&activity), Some(Phase::Head), "the preface is");
        drop(activity.begin(http::Version::HTTP_2));
        activity.read();
        assert_eq!(phase(&activity), Some(Phase::KeepAlive));
    }
}
