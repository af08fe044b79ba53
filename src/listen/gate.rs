//! The accept side of a listener: take a connection, admit it while the
//! listener holds fewer than `max_connections`, else close it at once.
//! A refused connection is counted (`kingress_connections_refused_total`)
//! and logged at most once per [`WARN_EVERY`], with how many were refused
//! since, so a flood neither spins nor floods the log.

use super::Limits;
use crate::metrics::{ListenerLabels, Metrics};
use parking_lot::Mutex;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

/// Pause after a failed accept (e.g. out of file descriptors) so the loop
/// does not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// At most one "connection limit reached" line per listener this often.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// One listener's connection count and limits.
pub struct Gate {
    name: &'static str,
    limits: Limits,
    open: AtomicUsize,
    open_gauge: Gauge,
    refused: Counter,
    /// Kong's `accepted` connection count, for the proxy listeners.
    accepted: Option<Counter>,
    /// Refusals not yet reported in a log line.
    unlogged: AtomicU64,
    last_warning: Mutex<Option<Instant>>,
}

/// An admitted connection; it stops counting against the cap when dropped.
pub struct Ticket {
    gate: Arc<Gate>,
}

// === impl Gate ===

impl Gate {
    /// A gate for the listener called `name` (`proxy`, `proxy_tls`,
    /// `admin`, `status`: the metrics label).
    pub fn new(name: &'static str, limits: Limits, metrics: &Metrics) -> Arc<Self> {
        let label = ListenerLabels {
            listener: name.to_string(),
        };
        Arc::new(Self {
            name,
            limits,
            open: AtomicUsize::new(0),
            open_gauge: metrics.connections_open.get_or_create(&label).clone(),
            refused: metrics.connections_refused.get_or_create(&label).clone(),
            accepted: name
                .starts_with("proxy")
                .then(|| metrics.kong.accepted.clone()),
            unlogged: AtomicU64::new(0),
            last_warning: Mutex::new(None),
        })
    }

    /// The limits every connection of this listener gets.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The next admitted connection. Connections above the cap are closed
    /// here; a failed accept waits a little and tries again.
    pub async fn accept(
        self: &Arc<Self>,
        listener: &TcpListener,
    ) -> (TcpStream, SocketAddr, Ticket) {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => match self.accepted(self.admit()) {
                    Some(ticket) => {
                        // Small responses should not wait for Nagle.
                        let _ = stream.set_nodelay(true);
                        return (stream, peer, ticket);
                    }
                    None => {
                        drop(stream);
                        self.refuse();
                    }
                },
                Err(error) => {
                    tracing::warn!(listener = self.name, %error, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
    }

    /// Counts an accepted connection, admitted or not (nginx's `accepted`).
    fn accepted(&self, ticket: Option<Ticket>) -> Option<Ticket> {
        if let Some(accepted) = &self.accepted {
            accepted.inc();
        }
        ticket
    }

    fn admit(self: &Arc<Self>) -> Option<Ticket> {
        if self.open.fetch_add(1, Ordering::AcqRel) >= self.limits.max_connections {
            self.open.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        self.open_gauge.inc();
        Some(Ticket { gate: self.clone() })
    }

    fn refuse(&self) {
        self.refused.inc();
        let unlogged = self.unlogged.fetch_add(1, Ordering::Relaxed) + 1;
        let mut last = self.last_warning.lock();
        if last.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
            *last = Some(Instant::now());
            self.unlogged.store(0, Ordering::Relaxed);
            tracing::warn!(
                listener = self.name,
                limit = self.limits.max_connections,
                refused = unlogged,
                "connection limit reached; closing new connections"
            );
        }
    }
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("name", &self.name)
            .field("limits", &self.limits)
            .field("open", &self.open.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

// === impl Ticket ===

impl Drop for Ticket {
    fn drop(&mut self) {
        self.gate.open.fetch_sub(1, Ordering::AcqRel);
        self.gate.open_gauge.dec();
    }
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("listener", &self.gate.name)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_counts_open_tickets() {
        let limits = Limits {
            max_connections: 2,
            ..Limits::default()
        };
        let metrics = Metrics::new();
        let gate = Gate::new("test", limits, &metrics);
        let a = gate.admit().expect("first");
        let _b = gate.admit().expect("second");
        assert!(gate.admit().is_none(), "third is over the cap");
        drop(a);
        assert!(gate.admit().is_some(), "a slot was freed");
    }
}
