//! When a burst of changes is over: after `quiet` without a change, or at
//! the latest `max_wait` after its first change. Without the bound a steady
//! stream of changes (a file rewritten every 100 ms under a 1.5 s debounce,
//! EndpointSlices churning) would postpone the reconcile for as long as it
//! lasts. Both modes coalesce with it.

use std::time::Duration;
use tokio::time::Instant;

/// The shortest default `max_wait`: quiet periods of a few milliseconds
/// would otherwise reconcile a steady stream every few tens of them.
const MIN_MAX_WAIT: Duration = Duration::from_millis(500);
/// The default `max_wait` is this many `quiet` periods.
const QUIET_PERIODS: u32 = 4;

/// How changes are coalesced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Debounce {
    /// Quiet time that ends a burst.
    pub quiet: Duration,
    /// Longest a burst postpones a reconcile, from its first change.
    pub max_wait: Duration,
}

/// One burst being coalesced.
#[derive(Clone, Copy, Debug)]
pub struct Burst {
    quiet: Duration,
    deadline: Instant,
}

// === impl Debounce ===

impl Debounce {
    /// `quiet`, with `max_wait` as given (`--debounce-max`) or
    /// `max(500 ms, 4 × quiet)`; never shorter than `quiet`.
    pub fn new(quiet: Duration, max_wait: Option<Duration>) -> Self {
        let max_wait = max_wait
            .unwrap_or_else(|| quiet.saturating_mul(QUIET_PERIODS).max(MIN_MAX_WAIT))
            .max(quiet);
        Self { quiet, max_wait }
    }

    /// A burst whose first change is now.
    pub fn start(&self) -> Burst {
        Burst {
            quiet: self.quiet,
            deadline: Instant::now() + self.max_wait,
        }
    }
}

// === impl Burst ===

impl Burst {
    /// The instant the burst ends unless another change comes first; call
    /// again after each change.
    pub fn until(&self) -> Instant {
        (Instant::now() + self.quiet).min(self.deadline)
    }

    /// Whether the burst is over by its maximum wait.
    pub fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_max_wait_is_four_quiet_periods_at_least_half_a_second() {
        let ms = Duration::from_millis;
        assert_eq!(Debounce::new(ms(10), None).max_wait, ms(500));
        assert_eq!(Debounce::new(ms(1500), None).max_wait, ms(6000));
        assert_eq!(Debounce::new(ms(1500), Some(ms(2000))).max_wait, ms(2000));
        // A maximum below the quiet time would make the quiet time a lie.
        assert_eq!(Debounce::new(ms(1500), Some(ms(100))).max_wait, ms(1500));
    }

    #[tokio::test]
    async fn a_steady_stream_ends_the_burst_at_the_maximum_wait() {
        let ms = Duration::from_millis;
        let d = Debounce::new(ms(150), Some(ms(400)));
        let burst = d.start();
        let start = Instant::now();
        // A change every 20 ms, well inside the quiet time: each pushes the
        // quiet end out, never past the deadline.
        while tokio::time::timeout_at(burst.until(), tokio::time::sleep(ms(20)))
            .await
            .is_ok()
        {
            assert!(burst.until() <= start + ms(400));
        }
        let took = start.elapsed();
        assert!(took >= ms(390) && took < ms(1000), "{took:?}");
        assert!(burst.expired());
    }
}
