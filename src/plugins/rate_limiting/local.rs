//! The `local` policy: counters in this process, one entry per counted
//! key holding every window, so checking and counting a request is one step
//! under one shard's lock (Kong reads, then increments in a timer, which
//! lets concurrent requests overshoot; here the limit is exact).

use super::sharded::{Expiring, Sharded};
use super::window::{Now, index};
use super::{Usage, Used};
use crate::model::plugin::rate_limiting::Period;

/// Keys kept at most (about 100 bytes each).
const CAPACITY: usize = 1 << 20;

/// This process's counters, shared by every `local` instance.
pub(crate) struct LocalCounters {
    map: Sharded<Windows>,
}

/// One key's count in each window.
#[derive(Clone, Copy, Default)]
struct Windows {
    /// (window start, requests counted in it) per [`Period::ALL`] index.
    counts: [(u64, u64); 6],
    /// When every window this key uses has ended.
    expires: u64,
}

impl Expiring for Windows {
    fn expired(&self, now: u64) -> bool {
        now >= self.expires
    }
}

// === impl LocalCounters ===

impl LocalCounters {
    /// Empty counters.
    pub(crate) fn new() -> Self {
        Self {
            map: Sharded::new(CAPACITY),
        }
    }

    /// The usage before this request in each limited window; the request
    /// is counted unless a limit is already reached (Kong counts only the
    /// requests it lets through).
    pub(crate) fn hit(&self, key: &str, now: &Now, limits: &[(Period, f64)]) -> Usage {
        let secs = now.ms / 1000;
        self.map.with(key, secs, Windows::default, |w| {
            let mut used = Vec::with_capacity(limits.len());
            for &(period, limit) in limits {
                let slot = &mut w.counts[index(period)];
                let start = now.start(period);
                if slot.0 != start {
                    *slot = (start, 0);
                }
                used.push(Used {
                    period,
                    limit,
                    before: slot.1 as f64,
                });
                w.expires = w.expires.max(now.expires(period));
            }
            let usage = Usage::new(used);
            if usage.stop.is_none() {
                for &(period, _) in limits {
                    w.counts[index(period)].1 += 1;
                }
            }
            usage
        })
    }

    /// Number of keys held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_until_the_limit_then_stops_counting() {
        let c = LocalCounters::new();
        let now = Now::at(1_000_000);
        let limits = [(Period::Second, 2.0), (Period::Minute, 3.0)];
        let first = c.hit("k", &now, &limits);
        assert_eq!(first.stop, None);
        assert_eq!(first.used[0].before, 0.0);
        c.hit("k", &now, &limits);
        let third = c.hit("k", &now, &limits);
        assert_eq!(third.stop, Some(Period::Second));
        // The refused request was not counted: a new second lets one more
        // through (minute at 2 of 3), then the minute stops it.
        let later = Now::at(1_000_001);
        assert_eq!(c.hit("k", &later, &limits).stop, None);
        assert_eq!(c.hit("k", &later, &limits).stop, Some(Period::Minute));
        // Other keys are counted apart.
        assert_eq!(c.hit("other", &now, &limits).stop, None);
    }

    #[test]
    fn expired_windows_are_dropped() {
        let c = LocalCounters::new();
        for i in 0..100 {
            c.hit(&format!("k{i}"), &Now::at(60), &[(Period::Minute, 5.0)]);
        }
        assert_eq!(c.len(), 100);
        // In the next minute every old key has expired and the shards
        // touched (all of them, with 2000 keys) sweep them.
        for i in 0..2000 {
            c.hit(&format!("n{i}"), &Now::at(120), &[(Period::Minute, 5.0)]);
        }
        assert_eq!(c.len(), 2000);
    }
}
