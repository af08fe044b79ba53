//! Where each window starts, as Kong's `kong.tools.timestamp.get_timestamps`
//! computes it: seconds, minutes, hours and days floored in UTC, months and
//! years from their first day.

use crate::model::plugin::rate_limiting::Period;
use chrono::{DateTime, Datelike, NaiveDate};

/// The request's time and the start of every window it falls in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Now {
    /// Milliseconds since the epoch (Kong uses whole seconds times 1000).
    pub(crate) ms: u64,
    starts: [u64; 6],
}

// === impl Now ===

impl Now {
    /// The windows at `secs` seconds since the epoch.
    pub(crate) fn at(secs: u64) -> Self {
        let floor = |unit: u64| secs - secs % unit;
        let (month, year) = calendar_starts(secs);
        Self {
            ms: secs * 1000,
            starts: [secs, floor(60), floor(3600), floor(86_400), month, year],
        }
    }

    /// The windows now; computed once a second per thread (the calendar
    /// arithmetic is the same for every request of that second).
    pub(crate) fn current() -> Self {
        thread_local! {
            static LAST: std::cell::Cell<Option<Now>> = const { std::cell::Cell::new(None) };
        }
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        LAST.with(|last| match last.get() {
            Some(now) if now.ms == secs * 1000 => now,
            _ => {
                let now = Self::at(secs);
                last.set(Some(now));
                now
            }
        })
    }

    /// Start of `period`'s current window, in seconds since the epoch.
    pub(crate) fn start(&self, period: Period) -> u64 {
        self.starts[index(period)]
    }

    /// Kong's `period_date`: the window's start in milliseconds (part of
    /// the counter's key).
    pub(crate) fn start_ms(&self, period: Period) -> u64 {
        self.start(period) * 1000
    }

    /// When `period`'s counter expires: its start plus Kong's expiration
    /// (a month counts 30 days there).
    pub(crate) fn expires(&self, period: Period) -> u64 {
        self.start(period) + period.seconds()
    }

    /// Kong's `RateLimit-Reset` for `period`: seconds left, at least 1.
    pub(crate) fn reset(&self, period: Period) -> u64 {
        let elapsed = (self.ms - self.start_ms(period)) / 1000;
        period.seconds().saturating_sub(elapsed).max(1)
    }
}

/// The position of `period` in [`Period::ALL`].
pub(crate) fn index(period: Period) -> usize {
    match period {
        Period::Second => 0,
        Period::Minute => 1,
        Period::Hour => 2,
        Period::Day => 3,
        Period::Month => 4,
        Period::Year => 5,
    }
}

/// Starts of the UTC month and year holding `secs`.
fn calendar_starts(secs: u64) -> (u64, u64) {
    let Some(date) = i64::try_from(secs)
        .ok()
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .map(|t| t.date_naive())
    else {
        return (secs, secs);
    };
    let start = |d: Option<NaiveDate>| {
        d.and_then(|d| d.and_hms_opt(0, 0, 0))
            .and_then(|t| u64::try_from(t.and_utc().timestamp()).ok())
            .unwrap_or(secs)
    };
    (
        start(NaiveDate::from_ymd_opt(date.year(), date.month(), 1)),
        start(NaiveDate::from_ymd_opt(date.year(), 1, 1)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_start_where_kong_starts_them() {
        // 2024-02-29T13:45:30Z
        let now = Now::at(1_709_214_330);
        assert_eq!(now.start(Period::Second), 1_709_214_330);
        assert_eq!(now.start(Period::Minute), 1_709_214_300);
        assert_eq!(now.start(Period::Hour), 1_709_211_600);
        assert_eq!(now.start(Period::Day), 1_709_164_800);
        assert_eq!(now.start(Period::Month), 1_706_745_600); // 2024-02-01
        assert_eq!(now.start(Period::Year), 1_704_067_200); // 2024-01-01
        assert_eq!(now.start_ms(Period::Minute), 1_709_214_300_000);
    }

    #[test]
    fn reset_counts_down_and_is_at_least_one() {
        let now = Now::at(1_709_214_330);
        assert_eq!(now.reset(Period::Second), 1);
        assert_eq!(now.reset(Period::Minute), 30);
        assert_eq!(now.reset(Period::Hour), 3600 - 2730);
        assert_eq!(now.expires(Period::Minute), 1_709_214_360);
    }
}
