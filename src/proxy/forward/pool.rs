//! Upstream HTTP/1.1 connections: opened on demand, kept idle per target,
//! and handed back when a response body has been read to its end.
//!
//! A connection is hyper's `client::conn::http1` pair: the sending half
//! lives here or in a request, the connection half runs as its own task
//! (it notices an upstream that closes an idle connection, so a closed one
//! is never handed out). Compared with hyper-util's pooled client this
//! skips the per-request task that waits for the connection to become
//! idle again: the response body returns its connection when it ends
//! (see [`Lease`]), so a proxied request costs no spawn and no extra wake.
//!
//! Plain-HTTP connections that carry requests without a body are
//! [`direct::Conn`]s instead, with no connection task at all; both kinds
//! wait in the same per-target lists.

use super::connectors::{Alpn, Channel, PLAIN};
use super::direct;
use crate::model::Target;
use crate::proxy::body::Reclaimable;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// The sending half of an upstream connection.
pub(super) type Sender = SendRequest<Reclaimable>;

/// An idle connection is closed after this long unused (like the pooled
/// client this replaces, and below common upstream keep-alive timeouts of
/// 75 s and more).
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// At most this many idle connections per target; more are closed when
/// their request ends (nginx's `keepalive` directive bounds the same).
const MAX_IDLE_PER_TARGET: usize = 256;
/// How often idle connections of targets nobody asks for are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(15);

/// Idle connections by target.
pub(super) struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    /// Keyed by (TLS channel key or `PLAIN`, port), then host: a lookup
    /// borrows the target's host instead of allocating a key per request.
    idle: Mutex<Map<(u32, u16), ByHost>>,
}

/// Idle connections of one scheme and port, by host.
type ByHost = Map<Box<str>, Vec<Idle>>;

/// Every request looks a target up twice (checkout and release) in maps
/// keyed by configuration (channel, port, target host), never by what a
/// client sends: foldhash, seeded per process, instead of SipHash.
type Map<K, V> = HashMap<K, V, foldhash::quality::RandomState>;

struct Idle {
    conn: Pooled,
    since: Instant,
}

/// An upstream HTTP/1.1 connection of either kind.
pub(crate) enum Pooled {
    /// hyper's, with its connection task.
    Hyper(Sender),
    /// Read and written by the request that holds it.
    Direct(direct::Conn),
}

/// Why a connection could not be opened. Nothing was sent, so the next
/// target may be tried.
#[derive(Debug)]
pub(super) struct ConnectError {
    /// The connect timeout elapsed (504 rather than 502 when it was the
    /// last target).
    pub timed_out: bool,
    /// What happened, for the log.
    pub detail: String,
    /// The TLS handshake failed (verification, client certificate): worth
    /// a warning, since it is a setting rather than a busy upstream.
    pub tls: bool,
}

/// A new connection: HTTP/1.1, or TLS on which the upstream chose HTTP/2
/// by ALPN (then it belongs to `multiplex`).
pub(super) enum Opened {
    /// Ready for HTTP/1.1 requests.
    Http1(Sender),
    /// TLS with ALPN `h2`, before the HTTP/2 handshake (boxed: rare, and
    /// far larger than a sender).
    Http2(Box<TlsStream<TcpStream>>),
}

/// A connection on loan to one request; back to the pool with
/// [`Lease::release`], closed when dropped instead.
pub(crate) struct Lease {
    conn: Pooled,
    pool: Weak<Inner>,
    key: u32,
    port: u16,
    host: Arc<str>,
}

// === impl Pool ===

impl Pool {
    /// An empty pool. Must be created inside the Tokio runtime (it starts
    /// the sweeper task).
    pub(super) fn new() -> Self {
        let inner = Arc::new(Inner {
            idle: Mutex::new(Map::default()),
        });
        let weak = Arc::downgrade(&inner);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                inner.sweep(Instant::now());
            }
        });
        Self { inner }
    }

    /// An idle, ready connection to `target` opened under `key` (a TLS
    /// channel's, or `PLAIN`), if one exists.
    pub(super) fn checkout(&self, key: u32, target: &Target) -> Option<Sender> {
        // Not ready: still finishing its last exchange, left for later.
        let ready = |c: &Pooled| matches!(c, Pooled::Hyper(sender) if sender.is_ready());
        match self.take(key, target, ready)? {
            Pooled::Hyper(sender) => Some(sender),
            Pooled::Direct(_) => None,
        }
    }

    /// An idle direct connection to `target` (plain HTTP) that the
    /// upstream has not closed, if one exists.
    pub(super) fn checkout_direct(&self, target: &Target) -> Option<direct::Conn> {
        match self.take(PLAIN, target, |c| matches!(c, Pooled::Direct(_)))? {
            Pooled::Direct(conn) => Some(conn),
            Pooled::Hyper(_) => None,
        }
    }

    /// The newest idle connection to `target` under `key` that `wanted`
    /// accepts; closed and expired ones met on the way are dropped.
    fn take(&self, key: u32, target: &Target, wanted: impl Fn(&Pooled) -> bool) -> Option<Pooled> {
        let mut idle = self.inner.idle.lock();
        let list = idle
            .get_mut(&(key, target.port))?
            .get_mut(target.host.as_str())?;
        let now = Instant::now();
        let mut i = list.len();
        while i > 0 {
            i -= 1;
            let entry = &mut list[i];
            if !entry.conn.is_open() || now.duration_since(entry.since) > IDLE_TIMEOUT {
                list.swap_remove(i);
            } else if wanted(&entry.conn) {
                return Some(list.swap_remove(i).conn);
            }
        }
        None
    }

    /// Opens a new connection to `target` (TCP, then TLS over `tls` when
    /// given, offering `alpn`), bounded by `timeout` as a whole.
    pub(super) async fn connect(
        &self,
        tls: Option<&Channel>,
        alpn: Alpn,
        target: &Target,
        timeout: Duration,
    ) -> Result<Opened, ConnectError> {
        match tokio::time::timeout(timeout, open(tls, alpn, target)).await {
            Ok(result) => result,
            Err(_) => Err(ConnectError::timeout(timeout)),
        }
    }

    /// A lease that returns `conn` to the idle connections of `target`
    /// under `key`.
    pub(super) fn lease(&self, conn: Pooled, key: u32, target: &Target) -> Lease {
        Lease {
            conn,
            pool: Arc::downgrade(&self.inner),
            key,
            port: target.port,
            host: Arc::from(target.host.as_str()),
        }
    }
}

/// TCP to `target`, then TLS when `tls` is given; HTTP/1.1 unless the
/// upstream chose `h2`.
async fn open(tls: Option<&Channel>, alpn: Alpn, target: &Target) -> Result<Opened, ConnectError> {
    let tcp = tcp(target).await?;
    let Some(channel) = tls else {
        return handshake(tcp).await.map(Opened::Http1);
    };
    let stream = channel.handshake(tcp, target, alpn).await?;
    if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
        return Ok(Opened::Http2(Box::new(stream)));
    }
    handshake(stream).await.map(Opened::Http1)
}

/// A TCP connection to `target`. An IP literal is used as is; a name
/// (ExternalName services) is resolved by the system resolver, each
/// address tried in turn.
pub(super) async fn tcp(target: &Target) -> Result<TcpStream, ConnectError> {
    let tcp = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| ConnectError {
            timed_out: e.kind() == std::io::ErrorKind::TimedOut,
            detail: e.to_string(),
            tls: false,
        })?;
    // Small requests should not wait for Nagle.
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}

// === impl ConnectError ===

impl ConnectError {
    /// The connect timeout elapsed.
    pub(super) fn timeout(timeout: Duration) -> Self {
        Self {
            timed_out: true,
            detail: format!("connect timed out after {} ms", timeout.as_millis()),
            tls: false,
        }
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let idle = self.inner.idle.lock();
        let count: usize = idle.values().flat_map(|m| m.values()).map(Vec::len).sum();
        f.debug_struct("Pool").field("idle", &count).finish()
    }
}

/// The HTTP/1.1 handshake (nothing is exchanged yet) and the connection's
/// task, which also serves an upgraded (101) connection as a tunnel.
async fn handshake<T>(io: T) -> Result<Sender, ConnectError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = http1::Builder::new()
        .handshake(TokioIo::new(io))
        .await
        .map_err(|e| ConnectError {
            timed_out: false,
            detail: e.to_string(),
            tls: false,
        })?;
    tokio::spawn(async move {
        if let Err(error) = connection.with_upgrades().await {
            tracing::debug!(%error, "upstream connection ended with an error");
        }
    });
    Ok(sender)
}

// === impl Inner ===

impl Inner {
    fn checkin(&self, mut lease: Lease) {
        if !lease.conn.is_open() {
            return;
        }
        let mut idle = self.idle.lock();
        let by_host = idle.entry((lease.key, lease.port)).or_default();
        let list = match by_host.get_mut(&*lease.host) {
            Some(list) => list,
            None => by_host.entry(Box::from(&*lease.host)).or_default(),
        };
        if list.len() < MAX_IDLE_PER_TARGET {
            list.push(Idle {
                conn: lease.conn,
                since: Instant::now(),
            });
        }
    }

    /// Drops closed and expired connections, and targets left without any.
    fn sweep(&self, now: Instant) {
        let mut idle = self.idle.lock();
        for by_host in idle.values_mut() {
            for list in by_host.values_mut() {
                list.retain_mut(|e| {
                    e.conn.is_open() && now.duration_since(e.since) <= IDLE_TIMEOUT
                });
            }
            by_host.retain(|_, list| !list.is_empty());
        }
        idle.retain(|_, by_host| !by_host.is_empty());
    }
}

// === impl Pooled ===

impl Pooled {
    /// Whether the upstream has not closed the connection (nor, for a
    /// direct one, sent anything unasked).
    fn is_open(&mut self) -> bool {
        match self {
            Pooled::Hyper(sender) => !sender.is_closed(),
            Pooled::Direct(conn) => conn.is_usable(),
        }
    }
}

// === impl Lease ===

impl Lease {
    /// The direct connection this lease holds, if it is one.
    pub(super) fn direct(&mut self) -> Option<&mut direct::Conn> {
        match &mut self.conn {
            Pooled::Direct(conn) => Some(conn),
            Pooled::Hyper(_) => None,
        }
    }

    /// Returns the connection for the next request to the same target
    /// (the response it carried has been read to its end).
    pub(crate) fn release(self) {
        if let Some(pool) = self.pool.upgrade() {
            pool.checkin(self);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(port: u16) -> Target {
        Target::new("127.0.0.1", port)
    }

    /// A raw upstream that answers every request on a connection with a
    /// fixed response, and counts the connections it accepted.
    async fn upstream() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 {
                            return;
                        }
                        let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                        if s.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (port, accepted)
    }

    async fn exchange(pool: &Pool, port: u16) {
        let t = target(port);
        let mut sender = match pool.checkout(PLAIN, &t) {
            Some(sender) => sender,
            None => match pool
                .connect(None, Alpn::Http1, &t, Duration::from_secs(5))
                .await
                .unwrap()
            {
                Opened::Http1(sender) => sender,
                Opened::Http2(_) => panic!("plain connections are HTTP/1.1"),
            },
        };
        let slot = crate::proxy::body::Slot::new(crate::plugins::empty_body());
        let mut request = http::Request::new(slot.attempt());
        request
            .headers_mut()
            .insert(http::header::HOST, http::HeaderValue::from_static("x"));
        let response = sender.send_request(request).await.unwrap();
        use http_body_util::BodyExt;
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "ok");
        pool.lease(Pooled::Hyper(sender), PLAIN, &t).release();
    }

    #[tokio::test]
    async fn a_released_connection_serves_the_next_request() {
        let (port, accepted) = upstream().await;
        let pool = Pool::new();
        for _ in 0..5 {
            exchange(&pool, port).await;
            // The connection task marks the connection idle on its next poll.
            tokio::task::yield_now().await;
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn closed_and_expired_connections_are_never_handed_out() {
        let (port, _) = upstream().await;
        let pool = Pool::new();
        exchange(&pool, port).await;
        tokio::task::yield_now().await;
        assert!(pool.checkout(PLAIN, &target(port)).is_some());
        // Returned, then swept as if a minute had passed.
        exchange(&pool, port).await;
        pool.inner.sweep(Instant::now() + IDLE_TIMEOUT * 2);
        assert!(pool.inner.idle.lock().is_empty());
        assert!(pool.checkout(PLAIN, &target(port)).is_none());
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_connect_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let pool = Pool::new();
        let Err(error) = pool
            .connect(None, Alpn::Http1, &target(port), Duration::from_secs(5))
            .await
        else {
            panic!("the port is closed");
        };
        assert!(!error.timed_out);
        assert!(!error.detail.is_empty());
    }
}
