//! Retry delays for the watches. kube-runtime's default follows client-go
//! (0.8 s doubling up to 30 s), which is kind to a struggling API server
//! but, after an outage of a few seconds, leaves a watch asleep for up to
//! 30 s once the server is back. Right after a restart the API server also
//! answers custom-resource watches with 429 "storage is (re)initializing"
//! for a while, which pushes the default further out. An ingress controller
//! must catch up quickly, and it runs only a handful of watches, so it
//! retries sooner and caps the delay at a few seconds.

use kube::runtime::utils::Backoff;
use rand::Rng;
use std::time::Duration;

/// First retry delay.
const FIRST: Duration = Duration::from_millis(250);
/// Longest retry delay.
const CAP: Duration = Duration::from_secs(3);

/// Doubling delays from [`FIRST`] up to [`CAP`], each with up to 25 %
/// random jitter so the watches of one process do not retry in lockstep.
/// The watch loop resets it on every successful event.
#[derive(Debug, Clone)]
pub(crate) struct WatchBackoff {
    next: Duration,
    first: Duration,
    cap: Duration,
}

impl Default for WatchBackoff {
    fn default() -> Self {
        Self::new(FIRST, CAP)
    }
}

impl WatchBackoff {
    /// Doubling delays from `first` up to `cap`.
    pub(crate) fn new(first: Duration, cap: Duration) -> Self {
        Self {
            next: first,
            first,
            cap,
        }
    }
}

impl Iterator for WatchBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let base = self.next;
        self.next = (base * 2).min(self.cap);
        let jitter = rand::rng().random_range(0.0..0.25);
        Some(base.mul_f64(1.0 + jitter))
    }
}

impl Backoff for WatchBackoff {
    fn reset(&mut self) {
        self.next = self.first;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_reset() {
        let mut backoff = WatchBackoff::default();
        let delays: Vec<Duration> = backoff.by_ref().take(8).collect();
        assert!(delays[0] >= FIRST && delays[0] <= FIRST.mul_f64(1.25));
        assert!(delays[1] >= FIRST * 2, "{delays:?}");
        for d in &delays[5..] {
            assert!(*d >= CAP && *d <= CAP.mul_f64(1.25), "{delays:?}");
        }
        backoff.reset();
        assert!(backoff.next().unwrap() <= FIRST.mul_f64(1.25));
    }
}
