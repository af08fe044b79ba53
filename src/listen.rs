//! What every listener (proxy HTTP, proxy TLS, admin, status) does with a
//! client connection before a request handler sees it: admit it under the
//! listener's connection cap, bound how long it may sit idle or dribble a
//! request head, bound the TLS handshake, and serve HTTP/1.1 or HTTP/2 on
//! it. The process's open-file limit is raised here too, because
//! connections are what use up file descriptors.
//!
//! The timeouts follow nginx (which Kong runs on): `client_header_timeout`
//! bounds a request head from its first byte, `keepalive_timeout` the quiet
//! time between requests. nginx uses `client_header_timeout` for the quiet
//! time before the first request as well; kingress has a separate, shorter
//! first-byte timeout because a connection that never speaks only holds a
//! file descriptor.

/// The `AsyncWrite` methods of a wrapper whose writes go straight to its
/// `inner` stream (the wrappers here only watch or replay reads).
macro_rules! write_through {
    () => {
        fn poll_write(
            self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            std::pin::Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
        }

        fn poll_write_vectored(
            self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            bufs: &[std::io::IoSlice<'_>],
        ) -> std::task::Poll<std::io::Result<usize>> {
            std::pin::Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
        }

        fn is_write_vectored(&self) -> bool {
            self.inner.is_write_vectored()
        }

        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::pin::Pin::new(&mut self.get_mut().inner).poll_flush(cx)
        }

        fn poll_shutdown(
            self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::pin::Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
        }
    };
}

mod activity;
mod fd;
mod gate;
mod h1;

use activity::{Activity, Tracked, Watched};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

pub use fd::raise_fd_limit;
pub use gate::{Gate, Ticket};
pub(crate) use h1::fields;
/// The client request head parser, for `fuzz/`.
#[doc(hidden)]
pub use h1::fuzz as h1_fuzz;
pub use h1::{ClientBody, serve_http1};

/// Time and count limits of client connections, the same for every
/// listener (each listener counts its own connections).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// A new connection (after the TLS handshake) that sends no byte within
    /// this time is closed.
    pub first_byte_timeout: Duration,
    /// A request head must be complete this long after its first byte
    /// (nginx `client_header_timeout`).
    pub header_timeout: Duration,
    /// A connection with no request in flight is closed after this long
    /// without a new one (nginx `keepalive_timeout`; HTTP/2 too).
    pub keepalive_timeout: Duration,
    /// The TLS handshake must be done within this time.
    pub tls_handshake_timeout: Duration,
    /// Connections above this many open on one listener are closed as soon
    /// as they are accepted.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            first_byte_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(60),
            keepalive_timeout: Duration::from_secs(75),
            tls_handshake_timeout: Duration::from_secs(10),
            max_connections: 16_384,
        }
    }
}

/// Serves HTTP/1.1 or HTTP/2 (chosen by ALPN or the HTTP/2 preface) on one
/// admitted connection until it ends or a time limit closes it. Upgrades
/// (WebSocket) are allowed; an upgraded connection is no longer timed here.
pub async fn serve_http<S, H, F, B>(stream: S, peer: SocketAddr, limits: &Limits, handler: H)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let activity = Arc::new(Activity::new());
    let watched = Watched::new(stream, activity.clone(), *limits);
    serve_hyper(watched, peer, activity, handler).await;
}

/// hyper's server on `io`, its requests counted in `activity`.
async fn serve_hyper<I, H, F, B>(io: I, peer: SocketAddr, activity: Arc<Activity>, handler: H)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let handler = Arc::new(handler);
    let service = service_fn(move |request: Request<Incoming>| {
        let started = activity.begin(request.version());
        // Boxed: hyper moves a service's future into its own state, and over
        // HTTP/2 into a task per stream, so a proxy's future of kilobytes
        // made each HTTP/2 request cost 2.4 times the instructions; a
        // pointer moves cheaply. (The own HTTP/1.1 loop polls the future
        // where it was made, and does not box it.)
        let response = Box::pin(handler(request));
        async move {
            let response = response.await;
            if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                // The tunnel owns the connection now; its own peers decide
                // when it ends.
                started.upgraded();
            }
            Ok::<_, Infallible>(response.map(|body| Tracked::new(body, started)))
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The idle and head timers live in `Watched`; hyper's own head timer
    // starts when the previous response ends, which would cut the
    // keep-alive time down to the head timeout.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None);
    builder.http2().timer(TokioTimer::new());
    if let Err(error) = builder
        .serve_connection_with_upgrades(TokioIo::new(io), service)
        .await
    {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}
