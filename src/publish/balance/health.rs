//! A target's health as lua-resty-healthcheck (Kong's health checker)
//! keeps it: healthy or not, and counters of what happened in a row. A
//! success clears the failure counters, a failure clears the successes;
//! reaching a threshold flips the state and clears every counter. A
//! threshold of 0 turns its counter off. Active probes and proxied traffic
//! share the counters, each with its own thresholds.

use crate::model::{Healthchecks, ProbeKind, Thresholds};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Healthy or not, and the counters that decide it. Atomics only: proxied
/// responses report here on the request path.
#[derive(Debug)]
pub struct Health {
    healthy: AtomicBool,
    successes: AtomicU32,
    http_failures: AtomicU32,
    tcp_failures: AtomicU32,
    timeouts: AtomicU32,
}

/// Who saw it: a probe or a proxied request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// An active health check probe.
    Active,
    /// A proxied request.
    Passive,
}

/// What was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A response with this status (classified by the check's lists), or
    /// with `0`, a TCP connection that opened (a `tcp` check's success).
    Status(u16),
    /// The connection could not be opened (or broke).
    TcpFailure,
    /// No answer in time.
    Timeout,
}

/// What a verdict counts as under a check's lists.
enum Counted {
    Success,
    HttpFailure,
    TcpFailure,
    Timeout,
}

// === impl Health ===

impl Health {
    /// A new target is healthy, as in Kong.
    pub(super) fn new() -> Self {
        Self {
            healthy: AtomicBool::new(true),
            successes: AtomicU32::new(0),
            http_failures: AtomicU32::new(0),
            tcp_failures: AtomicU32::new(0),
            timeouts: AtomicU32::new(0),
        }
    }

    /// Whether the target gets traffic.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Counts `verdict` from `source`; returns whether the state flipped.
    pub(super) fn report(&self, checks: &Healthchecks, source: Source, verdict: Verdict) -> bool {
        let (kind, healthy, unhealthy) = match source {
            Source::Active => (
                checks.active.kind,
                &checks.active.healthy,
                &checks.active.unhealthy,
            ),
            Source::Passive => (
                checks.passive.kind,
                &checks.passive.healthy,
                &checks.passive.unhealthy,
            ),
        };
        let Some(counted) = classify(kind, healthy, unhealthy, verdict) else {
            return false;
        };
        match counted {
            Counted::Success => self.success(healthy.successes),
            Counted::HttpFailure => self.failure(&self.http_failures, unhealthy.http_failures),
            Counted::TcpFailure => self.failure(&self.tcp_failures, unhealthy.tcp_failures),
            Counted::Timeout => self.failure(&self.timeouts, unhealthy.timeouts),
        }
    }

    fn success(&self, threshold: u32) -> bool {
        // Loads before stores: on the request path most responses find the
        // counters already clear, and a read keeps the cache line shared.
        for c in [&self.http_failures, &self.tcp_failures, &self.timeouts] {
            if c.load(Ordering::Relaxed) != 0 {
                c.store(0, Ordering::Relaxed);
            }
        }
        if threshold == 0 || self.is_healthy() {
            return false;
        }
        let n = self.successes.fetch_add(1, Ordering::Relaxed) + 1;
        n >= threshold && self.flip(true)
    }

    fn failure(&self, counter: &AtomicU32, threshold: u32) -> bool {
        if self.successes.load(Ordering::Relaxed) != 0 {
            self.successes.store(0, Ordering::Relaxed);
        }
        if threshold == 0 || !self.is_healthy() {
            return false;
        }
        let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
        n >= threshold && self.flip(false)
    }

    /// Moves to `healthy` unless already there (another report won the
    /// race); clears the counters on a move.
    fn flip(&self, healthy: bool) -> bool {
        let moved = self
            .healthy
            .compare_exchange(!healthy, healthy, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok();
        if moved {
            self.clear();
        }
        moved
    }

    /// Sets the state by hand; returns whether it changed.
    pub(super) fn set(&self, healthy: bool) -> bool {
        let changed = self.healthy.swap(healthy, Ordering::Relaxed) != healthy;
        self.clear();
        changed
    }

    fn clear(&self) {
        for c in [
            &self.successes,
            &self.http_failures,
            &self.tcp_failures,
            &self.timeouts,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// What `verdict` counts as. HTTP statuses count only for `http`/`https`
/// checks and only when listed; a status in neither list counts as nothing.
fn classify(
    kind: ProbeKind,
    healthy: &Thresholds,
    unhealthy: &Thresholds,
    verdict: Verdict,
) -> Option<Counted> {
    match verdict {
        Verdict::TcpFailure => Some(Counted::TcpFailure),
        Verdict::Timeout => Some(Counted::Timeout),
        Verdict::Status(_) if kind == ProbeKind::Tcp => Some(Counted::Success),
        Verdict::Status(0) => Some(Counted::Success),
        Verdict::Status(s) if unhealthy.statuses.contains(&s) => Some(Counted::HttpFailure),
        Verdict::Status(s) if healthy.statuses.contains(&s) => Some(Counted::Success),
        Verdict::Status(_) => None,
    }
}
