//! A token bucket: the one rate limit of status writes and Events.

use tokio::time::Instant;

/// `capacity` at once, then `per_second`.
#[derive(Debug)]
pub(crate) struct Bucket {
    tokens: f64,
    capacity: f64,
    per_second: f64,
    last: Instant,
}

// === impl Bucket ===

impl Bucket {
    /// A full bucket of `burst` tokens, refilled at `per_second`.
    pub(crate) fn new(burst: u32, per_second: f64) -> Self {
        Self {
            tokens: burst as f64,
            capacity: burst as f64,
            per_second,
            last: Instant::now(),
        }
    }

    /// Takes a token if one is left.
    pub(crate) fn take(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What one pass of status writes did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Written {
    /// Objects written.
    pub(crate) writes: usize,
    /// Objects whose write the rate limit held back (the next report,
    /// soon, writes what is current then: the latest state wins).
    pub(crate) pending: usize,
}
