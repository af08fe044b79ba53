//! One upstream HTTP/1.1 connection, driven by the request that uses it.
//!
//! hyper's `client::conn::http1` hands out two halves: the sender, which
//! queues a request, and the connection future, which does the I/O. The
//! usual way runs the future as a task of its own; then every proxied
//! request crosses tasks twice (the request to the connection's task, the
//! response back) and costs two extra task polls and wake-ups. Here the
//! future travels with the sender instead and is polled by whoever holds
//! the connection: the request's future while it waits for the response
//! head, then the response body as the client connection reads it (see
//! `UpstreamBody`). An idle connection in the pool is polled by nobody; the
//! next user polls it first, which is when a close by the upstream shows,
//! before anything is sent (and the pool's sweeper polls idle ones now and
//! then to let go of closed ones).

use super::pool::ConnectError;
use crate::proxy::body::Reclaimable;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite};

/// The connection future (I/O, and an upgrade's hand-over), type-erased so
/// plain and TLS connections share one pool.
type Driver = Pin<Box<dyn Future<Output = hyper::Result<()>> + Send>>;

/// An upstream connection: the sending half and the future that does its
/// I/O.
pub struct Conn {
    sender: SendRequest<Reclaimable>,
    /// `None` once the connection has ended. In a mutex only so that a
    /// response body holding the connection is `Sync`; it is reached
    /// through `&mut self` (`Mutex::get_mut`) and never locked.
    driver: Option<Mutex<Driver>>,
}

/// Why a request got no response on a connection.
pub enum SendError {
    /// The connection had ended before the request was written; the
    /// request comes back for another connection (boxed: rare, and large).
    Unsent(Box<Request<Reclaimable>>),
    /// The exchange failed after the request was handed over.
    Failed(hyper::Error),
}

// === impl Conn ===

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// The HTTP/1.1 handshake (nothing is exchanged yet).
    pub async fn handshake<T>(io: T) -> Result<Self, ConnectError>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, connection) = http1::Builder::new()
            .handshake(TokioIo::new(io))
            .await
            .map_err(|e| ConnectError {
                timed_out: false,
                detail: e.to_string(),
            })?;
        Ok(Self {
            sender,
            driver: Some(Mutex::new(Box::pin(connection.with_upgrades()))),
        })
    }

    /// Whether the connection has ended (closed by either side, or failed).
    pub fn is_closed(&self) -> bool {
        self.driver.is_none() || self.sender.is_closed()
    }

    /// Does whatever I/O the connection can do now, and registers `cx` for
    /// more. Once the connection ends its future is dropped, which closes
    /// the sending half, so a later send fails at once instead of waiting.
    pub fn drive(&mut self, cx: &mut Context<'_>) {
        let Some(driver) = self.driver.as_mut() else {
            return;
        };
        if let Poll::Ready(result) = driver.get_mut().as_mut().poll(cx) {
            if let Err(error) = result {
                tracing::debug!(%error, "upstream connection ended with an error");
            }
            self.driver = None;
        }
    }

    /// Sends `request` and waits for the response head, driving the
    /// connection meanwhile. A connection that turns out to have ended
    /// before the request left gives the request back.
    pub async fn send(
        &mut self,
        request: Request<Reclaimable>,
    ) -> Result<Response<Incoming>, SendError> {
        // A reused connection first finishes its previous exchange (or
        // notices that the upstream closed it while idle).
        let ready = poll_fn(|cx| {
            self.drive(cx);
            self.sender.poll_ready(cx)
        })
        .await;
        if ready.is_err() {
            return Err(SendError::Unsent(Box::new(request)));
        }
        let mut response = std::pin::pin!(self.sender.try_send_request(request));
        poll_fn(|cx| {
            // Polled first so the request is written in this same poll.
            self.drive(cx);
            response.as_mut().poll(cx)
        })
        .await
        .map_err(|mut e| match e.take_message() {
            Some(request) => SendError::Unsent(Box::new(request)),
            None => SendError::Failed(e.into_error()),
        })
    }

    /// Hands the connection to a task of its own: after a 101 it carries
    /// the tunnel, which hyper builds when the connection future is polled.
    pub fn detach(self) {
        if let Some(driver) = self.driver {
            let driver = driver.into_inner();
            tokio::spawn(async move {
                if let Err(error) = driver.await {
                    tracing::debug!(%error, "upgraded upstream connection ended with an error");
                }
            });
        }
    }
}
