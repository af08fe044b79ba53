//! Upstream HTTP/2 connections (gRPC): h2c with prior knowledge for
//! `grpc`, h2 negotiated by ALPN for `grpcs`. A connection carries many
//! streams at once, so connections are shared rather than leased: each
//! target has at most [`MAX_PER_TARGET`] of them, and a request takes the
//! one with the fewest streams in flight, opening another only when every
//! one already carries [`STREAMS_BEFORE_SPREAD`].
//!
//! A connection the upstream closed, or sent `GOAWAY` on, can take no new
//! stream and is dropped from the list; a stream the upstream refused is
//! sent again on a new connection by `forward`.
//!
//! Streams are the h2 crate's, driven by the request's own task
//! (`exchange`): hyper's client would hand each request to a connection
//! task over a channel and spawn a task per response (about 8 % of a gRPC
//! call's instructions).

mod body;
mod exchange;
mod pump;
#[cfg(test)]
mod tests;

pub(crate) use body::Body;
pub(super) use exchange::Failure;

use super::connectors::{Alpn, Channel, PLAIN};
use super::pool::{ConnectError, tcp};
use crate::model::Target;
use crate::proxy::body::Reclaimable;
use bytes::Bytes;
use http::{Request, Response};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};

/// The sending half of an HTTP/2 connection (cheap to clone: a handle).
#[derive(Clone)]
pub(super) struct Sender {
    send: h2::client::SendRequest<Bytes>,
    /// Set by the connection's task when the connection has ended.
    ended: Arc<AtomicBool>,
}

/// At most this many connections per target (streams are multiplexed; more
/// connections only spread the load over upstream threads, as Envoy's
/// `max_concurrent_streams`-driven pool does).
const MAX_PER_TARGET: usize = 4;
/// A new connection is opened when every open one carries this many
/// streams (below the usual `SETTINGS_MAX_CONCURRENT_STREAMS` of 100 of
/// grpc-go and tonic, so a request rarely waits for a free stream).
const STREAMS_BEFORE_SPREAD: usize = 64;
/// A connection without streams for this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Pings keep idle connections alive through NATs and detect dead peers.
const KEEP_ALIVE: Duration = Duration::from_secs(30);
/// A ping unanswered this long ends the connection.
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// Flow-control windows (hyper's client defaults): a 4 MiB gRPC message
/// needs a few round trips at most, and one stream cannot take a
/// connection's whole window.
const STREAM_WINDOW: u32 = 2 * 1024 * 1024;
const CONNECTION_WINDOW: u32 = 5 * 1024 * 1024;
/// At most this much of a request body is queued per stream beyond the
/// window (hyper's default).
const MAX_SEND_BUFFER: usize = 1024 * 1024;
/// The largest response head accepted (hyper's client default).
const MAX_HEADER_LIST: u32 = 16 * 1024;
/// How often idle and closed connections are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(15);

/// Shared HTTP/2 connections by target.
pub(super) struct Multiplex {
    inner: Arc<Mutex<Conns>>,
}

/// Keyed like the HTTP/1 pool: (TLS channel key or `PLAIN`, port), then
/// host.
type Conns = HashMap<(u32, u16), HashMap<Box<str>, Vec<Conn>>>;

struct Conn {
    sender: Sender,
    streams: Arc<Streams>,
}

/// Streams in flight on one connection, and when the last one ended.
#[derive(Debug)]
struct Streams {
    open: AtomicUsize,
    idle_since: Mutex<Instant>,
}

/// One stream's claim on its connection; dropping it (the response body
/// ended or was dropped) frees the slot.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Streams>);

/// A connection chosen for one request.
pub(super) struct Chosen {
    /// Where to send the request.
    pub sender: Sender,
    /// Held until the response body ends.
    pub in_flight: InFlight,
    /// Whether the connection had carried requests before (a refused
    /// stream on it may be sent again on a new one).
    pub reused: bool,
}

// === impl Multiplex ===

impl Multiplex {
    /// An empty set of connections. Starts the sweeper, so it must be
    /// called inside Tokio.
    pub(super) fn new() -> Self {
        let inner = Arc::new(Mutex::new(Conns::new()));
        let weak = Arc::downgrade(&inner);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                sweep(&mut inner.lock(), Instant::now());
            }
        });
        Self { inner }
    }

    /// A connection to `target`: the least busy open one, or a new one
    /// (over `tls` when given, bounded by `connect_timeout`) when all are
    /// busy or none is open.
    pub(super) async fn choose(
        &self,
        tls: Option<&Channel>,
        target: &Target,
        connect_timeout: Duration,
    ) -> Result<Chosen, ConnectError> {
        let key = tls.map_or(PLAIN, |c| c.key);
        if let Some(chosen) = self.existing(key, target) {
            return Ok(chosen);
        }
        let sender = match tokio::time::timeout(connect_timeout, open(tls, target)).await {
            Ok(result) => result?,
            Err(_) => return Err(ConnectError::timeout(connect_timeout)),
        };
        Ok(self.register(key, target, sender))
    }

    /// Takes a TLS connection on which the upstream chose `h2` (an `https`
    /// service's, opened by the HTTP/1.1 pool) as a shared connection.
    pub(super) async fn adopt<T>(
        &self,
        key: u32,
        target: &Target,
        io: T,
    ) -> Result<Chosen, ConnectError>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let sender = handshake(io).await?;
        Ok(self.register(key, target, sender))
    }

    /// Lists a new connection (within the bound) with its first stream.
    fn register(&self, key: u32, target: &Target, sender: Sender) -> Chosen {
        let streams = Arc::new(Streams {
            open: AtomicUsize::new(1),
            idle_since: Mutex::new(Instant::now()),
        });
        let mut conns = self.inner.lock();
        let list = conns
            .entry((key, target.port))
            .or_default()
            .entry(Box::from(target.host.as_str()))
            .or_default();
        list.retain_mut(|c| c.sender.is_usable());
        // Another request may have opened one meanwhile: this one still
        // serves its request, and is kept only within the bound.
        if list.len() < MAX_PER_TARGET {
            list.push(Conn {
                sender: sender.clone(),
                streams: streams.clone(),
            });
        }
        Chosen {
            sender,
            in_flight: InFlight(streams),
            reused: false,
        }
    }

    /// Forgets every connection to `target` under `key` that can take no
    /// new stream (after a refused stream: the upstream is going away).
    pub(super) fn forget_closed(&self, key: u32, target: &Target) {
        let mut conns = self.inner.lock();
        if let Some(list) = conns
            .get_mut(&(key, target.port))
            .and_then(|m| m.get_mut(target.host.as_str()))
        {
            list.retain_mut(|c| c.sender.is_usable());
        }
    }

    /// The least busy open connection to `target` under `key`, unless all
    /// are busy and another may be opened.
    pub(super) fn existing(&self, key: u32, target: &Target) -> Option<Chosen> {
        let mut conns = self.inner.lock();
        let list = conns
            .get_mut(&(key, target.port))?
            .get_mut(target.host.as_str())?;
        list.retain_mut(|c| c.sender.is_usable());
        let least = list
            .iter()
            .min_by_key(|c| c.streams.open.load(Ordering::Relaxed))?;
        let busy = least.streams.open.load(Ordering::Relaxed) >= STREAMS_BEFORE_SPREAD;
        if busy && list.len() < MAX_PER_TARGET {
            return None;
        }
        least.streams.open.fetch_add(1, Ordering::Relaxed);
        Some(Chosen {
            sender: least.sender.clone(),
            in_flight: InFlight(least.streams.clone()),
            reused: true,
        })
    }
}

/// h2c to `target`, or h2 over `tls` (negotiated by ALPN).
async fn open(tls: Option<&Channel>, target: &Target) -> Result<Sender, ConnectError> {
    let tcp = tcp(target).await?;
    let Some(channel) = tls else {
        return handshake(tcp).await;
    };
    let stream = channel.handshake(tcp, target, Alpn::H2).await?;
    // Without ALPN `h2` the upstream would read the HTTP/2 preface as a
    // malformed HTTP/1 request.
    if stream.get_ref().1.alpn_protocol() != Some(b"h2") {
        return Err(ConnectError {
            timed_out: false,
            detail: "the upstream did not negotiate HTTP/2 (ALPN h2)".into(),
            tls: true,
        });
    }
    handshake(stream).await
}

impl std::fmt::Debug for Multiplex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let conns = self.inner.lock();
        let count: usize = conns.values().flat_map(|m| m.values()).map(Vec::len).sum();
        f.debug_struct("Multiplex")
            .field("connections", &count)
            .finish()
    }
}

/// The HTTP/2 handshake and the connection's task.
async fn handshake<T>(io: T) -> Result<Sender, ConnectError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (send, mut connection) = h2::client::Builder::new()
        .enable_push(false)
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_send_buffer_size(MAX_SEND_BUFFER)
        .max_header_list_size(MAX_HEADER_LIST)
        .handshake::<_, Bytes>(io)
        .await
        .map_err(|e| ConnectError {
            timed_out: false,
            detail: e.to_string(),
            tls: false,
        })?;
    let ended = Arc::new(AtomicBool::new(false));
    let pings = connection.ping_pong();
    let flag = ended.clone();
    tokio::spawn(async move {
        let outcome = match pings {
            Some(pings) => drive(&mut connection, pings).await,
            None => (&mut connection).await.map_err(|e| e.to_string()),
        };
        flag.store(true, Ordering::Relaxed);
        if let Err(error) = outcome {
            tracing::debug!(%error, "upstream HTTP/2 connection ended with an error");
        }
    });
    Ok(Sender { send, ended })
}

/// Runs the connection, pinging the upstream every [`KEEP_ALIVE`]; a ping
/// unanswered within [`KEEP_ALIVE_TIMEOUT`] ends it (dropping it closes
/// the socket and fails its streams).
async fn drive<T>(
    connection: &mut h2::client::Connection<T, Bytes>,
    mut pings: h2::PingPong,
) -> Result<(), String>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            ended = &mut *connection => return ended.map_err(|e| e.to_string()),
            _ = tick.tick() => {}
        }
        pings
            .send_ping(h2::Ping::opaque())
            .map_err(|e| e.to_string())?;
        let pong = std::future::poll_fn(|cx| pings.poll_pong(cx));
        tokio::select! {
            ended = &mut *connection => return ended.map_err(|e| e.to_string()),
            pong = pong => { pong.map_err(|e| e.to_string())?; }
            _ = tokio::time::sleep(KEEP_ALIVE_TIMEOUT) => {
                return Err(format!("no answer to a ping within {} s", KEEP_ALIVE_TIMEOUT.as_secs()));
            }
        }
    }
}

// === impl Sender ===

impl Sender {
    /// Whether the connection can take a new stream: not ended, no
    /// `GOAWAY` or connection error (h2 reports both from `poll_ready`).
    fn is_usable(&mut self) -> bool {
        if self.ended.load(Ordering::Relaxed) {
            return false;
        }
        let mut cx = Context::from_waker(Waker::noop());
        !matches!(self.send.poll_ready(&mut cx), Poll::Ready(Err(_)))
    }

    /// Sends `request` on this connection (see `exchange`).
    pub(super) async fn exchange(
        &self,
        request: Request<Reclaimable>,
    ) -> Result<Response<Body>, Failure> {
        exchange::exchange(self, request).await
    }
}

/// Drops closed connections and those idle past [`IDLE_TIMEOUT`].
fn sweep(conns: &mut Conns, now: Instant) {
    for by_host in conns.values_mut() {
        for list in by_host.values_mut() {
            list.retain_mut(|c| {
                let idle = c.streams.open.load(Ordering::Relaxed) == 0
                    && now.duration_since(*c.streams.idle_since.lock()) > IDLE_TIMEOUT;
                c.sender.is_usable() && !idle
            });
        }
        by_host.retain(|_, list| !list.is_empty());
    }
    conns.retain(|_, by_host| !by_host.is_empty());
}

// === impl InFlight ===

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.open.fetch_sub(1, Ordering::Relaxed) == 1 {
            *self.0.idle_since.lock() = Instant::now();
        }
    }
}
