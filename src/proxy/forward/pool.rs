//! Upstream HTTP/1.1 connections: opened on demand, kept idle per target,
//! and handed back when a response body has been read to its end.
//!
//! Compared with hyper-util's pooled client this skips the per-request task
//! that waits for the connection to become idle again: the response body
//! returns its connection when it ends (see [`Lease`]), so a proxied
//! request costs no spawn and no extra wake. Connections are driven by
//! their users, not by tasks of their own (see [`Conn`]).

use super::conn::Conn;
use crate::model::{Scheme, Target};
use parking_lot::Mutex;
use rustls::pki_types::ServerName;
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::task::{Context, Waker};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

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
pub struct Pool {
    inner: Arc<Inner>,
    tls: TlsConnector,
}

struct Inner {
    /// Keyed by (https, port), then host: a lookup borrows the target's
    /// host instead of allocating a key per request.
    idle: Mutex<HashMap<(bool, u16), ByHost>>,
}

/// Idle connections of one scheme and port, by host.
type ByHost = HashMap<Box<str>, Vec<Idle>>;

struct Idle {
    conn: Conn,
    since: Instant,
}

/// Why a connection could not be opened. Nothing was sent, so the next
/// target may be tried.
#[derive(Debug)]
pub struct ConnectError {
    /// The connect timeout elapsed (504 rather than 502 when it was the
    /// last target).
    pub timed_out: bool,
    /// What happened, for the log.
    pub detail: String,
}

/// A connection on loan to one request; back to the pool with
/// [`Lease::release`], closed when dropped instead.
pub struct Lease {
    conn: Conn,
    pool: Weak<Inner>,
    https: bool,
    port: u16,
    host: Arc<str>,
}

// === impl Pool ===

impl Pool {
    /// An empty pool; upstream TLS uses `tls`. Must be created inside the
    /// Tokio runtime (it starts the sweeper task).
    pub fn new(tls: Arc<rustls::ClientConfig>) -> Self {
        let inner = Arc::new(Inner {
            idle: Mutex::new(HashMap::new()),
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
        Self {
            inner,
            tls: TlsConnector::from(tls),
        }
    }

    /// An idle connection to `target`, the most recently used first, if
    /// one exists.
    pub fn checkout(&self, scheme: Scheme, target: &Target) -> Option<Conn> {
        let https = scheme == Scheme::Https;
        let mut idle = self.inner.idle.lock();
        let list = idle
            .get_mut(&(https, target.port))?
            .get_mut(target.host.as_str())?;
        let now = Instant::now();
        while let Some(entry) = list.pop() {
            if !entry.conn.is_closed() && now.duration_since(entry.since) <= IDLE_TIMEOUT {
                return Some(entry.conn);
            }
        }
        None
    }

    /// Opens a new connection to `target` (TCP, then TLS for `https`),
    /// bounded by `timeout` as a whole.
    pub async fn connect(
        &self,
        scheme: Scheme,
        target: &Target,
        timeout: Duration,
    ) -> Result<Conn, ConnectError> {
        match tokio::time::timeout(timeout, self.open(scheme, target)).await {
            Ok(result) => result,
            Err(_) => Err(ConnectError {
                timed_out: true,
                detail: format!("connect timed out after {} ms", timeout.as_millis()),
            }),
        }
    }

    /// A lease that returns `conn` to the idle connections of `target`.
    pub fn lease(&self, conn: Conn, scheme: Scheme, target: &Target) -> Lease {
        Lease {
            conn,
            pool: Arc::downgrade(&self.inner),
            https: scheme == Scheme::Https,
            port: target.port,
            host: Arc::from(target.host.as_str()),
        }
    }

    async fn open(&self, scheme: Scheme, target: &Target) -> Result<Conn, ConnectError> {
        // An IP literal is used as is; a name (ExternalName services) is
        // resolved by the system resolver, each address tried in turn.
        let tcp = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| ConnectError {
                timed_out: e.kind() == std::io::ErrorKind::TimedOut,
                detail: e.to_string(),
            })?;
        // Small requests should not wait for Nagle.
        let _ = tcp.set_nodelay(true);
        match scheme {
            Scheme::Http => Conn::handshake(tcp).await,
            Scheme::Https => {
                let name = ServerName::try_from(target.host.clone()).map_err(|e| ConnectError {
                    timed_out: false,
                    detail: format!("invalid TLS server name {:?}: {e}", target.host),
                })?;
                let tls = self
                    .tls
                    .connect(name, tcp)
                    .await
                    .map_err(|e| ConnectError {
                        timed_out: false,
                        detail: format!("TLS handshake: {e}"),
                    })?;
                Conn::handshake(tls).await
            }
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

// === impl Inner ===

impl Inner {
    fn checkin(&self, lease: Lease) {
        if lease.conn.is_closed() {
            return;
        }
        let mut idle = self.idle.lock();
        let by_host = idle.entry((lease.https, lease.port)).or_default();
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
    /// Idle connections are polled once (nobody else polls them), so one
    /// the upstream closed is let go of here rather than at its next use.
    fn sweep(&self, now: Instant) {
        let mut cx = Context::from_waker(Waker::noop());
        let mut idle = self.idle.lock();
        for by_host in idle.values_mut() {
            for list in by_host.values_mut() {
                list.retain_mut(|e| {
                    e.conn.drive(&mut cx);
                    !e.conn.is_closed() && now.duration_since(e.since) <= IDLE_TIMEOUT
                });
            }
            by_host.retain(|_, list| !list.is_empty());
        }
        idle.retain(|_, by_host| !by_host.is_empty());
    }
}

// === impl Lease ===

impl Lease {
    /// Does the connection's pending I/O (see [`Conn::drive`]).
    pub fn drive(&mut self, cx: &mut Context<'_>) {
        self.conn.drive(cx);
    }

    /// Returns the connection for the next request to the same target
    /// (the response it carried has been read to its end).
    pub fn release(self) {
        if let Some(pool) = self.pool.upgrade() {
            pool.checkin(self);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(port: u16) -> Target {
        Target {
            host: "127.0.0.1".into(),
            port,
        }
    }

    fn tls() -> Arc<rustls::ClientConfig> {
        Arc::new(
            rustls::ClientConfig::builder_with_provider(crate::proxy::tls::provider())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        )
    }

    /// A raw upstream that answers every request on a connection with a
    /// fixed response (and with `close`, closes the connection a moment
    /// after the first), and counts the connections it accepted.
    async fn upstream(close: bool) -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
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
                        if close {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            return;
                        }
                    }
                });
            }
        });
        (port, accepted)
    }

    /// One request through the pool, as the proxy makes it: the response
    /// body drives the connection and hands it back when it ends.
    async fn exchange(pool: &Pool, port: u16) {
        let t = target(port);
        let mut conn = match pool.checkout(Scheme::Http, &t) {
            Some(conn) => conn,
            None => pool
                .connect(Scheme::Http, &t, Duration::from_secs(5))
                .await
                .unwrap(),
        };
        let slot = crate::proxy::body::Slot::new(crate::plugins::empty_body());
        let mut request = http::Request::new(slot.attempt());
        request
            .headers_mut()
            .insert(http::header::HOST, http::HeaderValue::from_static("x"));
        let Ok(response) = conn.send(request).await else {
            panic!("the upstream did not answer");
        };
        let lease = pool.lease(conn, Scheme::Http, &t);
        let body = crate::proxy::body::UpstreamBody::new(response.into_body(), Some(lease));
        use http_body_util::BodyExt;
        let body = body.collect().await.unwrap().to_bytes();
        assert_eq!(body, "ok");
    }

    fn idle_count(pool: &Pool) -> usize {
        let idle = pool.inner.idle.lock();
        idle.values().flat_map(|m| m.values()).map(Vec::len).sum()
    }

    #[tokio::test]
    async fn a_released_connection_serves_the_next_request() {
        let (port, accepted) = upstream(false).await;
        let pool = Pool::new(tls());
        for _ in 0..5 {
            exchange(&pool, port).await;
            assert_eq!(idle_count(&pool), 1);
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn closed_and_expired_connections_are_never_handed_out() {
        let (port, _) = upstream(false).await;
        let pool = Pool::new(tls());
        exchange(&pool, port).await;
        assert!(pool.checkout(Scheme::Http, &target(port)).is_some());
        // Returned, then swept as if a minute had passed.
        exchange(&pool, port).await;
        pool.inner.sweep(Instant::now() + IDLE_TIMEOUT * 2);
        assert!(pool.inner.idle.lock().is_empty());
        assert!(pool.checkout(Scheme::Http, &target(port)).is_none());
    }

    #[tokio::test]
    async fn the_sweep_lets_go_of_connections_the_upstream_closed() {
        let (port, accepted) = upstream(true).await;
        let pool = Pool::new(tls());
        exchange(&pool, port).await;
        // The response said nothing of closing, so the connection went back.
        assert_eq!(idle_count(&pool), 1);
        // Nobody polls an idle connection; the sweep does, sees the close
        // once it arrived, and drops the connection.
        let deadline = Instant::now() + Duration::from_secs(5);
        while idle_count(&pool) > 0 {
            assert!(Instant::now() < deadline, "a closed connection stayed idle");
            tokio::time::sleep(Duration::from_millis(10)).await;
            pool.inner.sweep(Instant::now());
        }
        // The next request opens a new connection.
        exchange(&pool, port).await;
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_connect_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let pool = Pool::new(tls());
        let error = pool
            .connect(Scheme::Http, &target(port), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(!error.timed_out);
        assert!(!error.detail.is_empty());
    }
}
