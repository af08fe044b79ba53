//! Upstream HTTP/2 connections (gRPC): h2c with prior knowledge for
//! `grpc`, h2 negotiated by ALPN for `grpcs`. A connection carries many
//! streams at once, so connections are shared rather than leased: each
//! target has at most [`MAX_PER_TARGET`] of them, and a request takes the
//! one with the fewest streams in flight, opening another only when every
//! one already carries [`STREAMS_BEFORE_SPREAD`].
//!
//! A connection the upstream closed or sent `GOAWAY` on reports itself
//! closed (hyper's `is_closed`/`is_ready`) and is dropped from the list; a
//! stream the upstream refused is sent again on a new connection by
//! `forward`.

use super::connectors::{Alpn, Channel, PLAIN};
use super::pool::{ConnectError, tcp};
use crate::model::Target;
use crate::proxy::body::Reclaimable;
use hyper::client::conn::http2::{self, SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};

/// The sending half of an HTTP/2 connection (cheap to clone: a handle).
pub(super) type Sender = SendRequest<Reclaimable>;

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
        list.retain(|c| !c.sender.is_closed());
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
            list.retain(|c| !c.sender.is_closed() && c.sender.is_ready());
        }
    }

    /// The least busy open connection to `target` under `key`, unless all
    /// are busy and another may be opened.
    pub(super) fn existing(&self, key: u32, target: &Target) -> Option<Chosen> {
        let mut conns = self.inner.lock();
        let list = conns
            .get_mut(&(key, target.port))?
            .get_mut(target.host.as_str())?;
        list.retain(|c| !c.sender.is_closed());
        let least = list
            .iter()
            .filter(|c| c.sender.is_ready())
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
    let (sender, connection) = http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .keep_alive_interval(KEEP_ALIVE)
        .keep_alive_timeout(Duration::from_secs(20))
        // Large messages (gRPC allows 4 MiB by default) should not stall on
        // the 64 KiB default window.
        .adaptive_window(true)
        .handshake(TokioIo::new(io))
        .await
        .map_err(|e| ConnectError {
            timed_out: false,
            detail: e.to_string(),
            tls: false,
        })?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "upstream HTTP/2 connection ended with an error");
        }
    });
    Ok(sender)
}

/// Drops closed connections and those idle past [`IDLE_TIMEOUT`].
fn sweep(conns: &mut Conns, now: Instant) {
    for by_host in conns.values_mut() {
        for list in by_host.values_mut() {
            list.retain(|c| {
                let idle = c.streams.open.load(Ordering::Relaxed) == 0
                    && now.duration_since(*c.streams.idle_since.lock()) > IDLE_TIMEOUT;
                !c.sender.is_closed() && !idle
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
