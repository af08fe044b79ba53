//! What the counters said about a request, and the headers Kong derives
//! from it (`handler.lua`'s access phase).

use super::digits;
use super::window::Now;
use crate::model::plugin::rate_limiting::Period;
use crate::model::plugin::rate_limiting::schema_number;
use crate::plugins::SetHeader;
#[cfg(test)]
use http::HeaderMap;
use http::{HeaderName, HeaderValue};

/// One limited window's count before this request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Used {
    /// The window.
    pub(crate) period: Period,
    /// Its configured limit.
    pub(crate) limit: f64,
    /// Requests counted in it before this one.
    pub(crate) before: f64,
}

/// Every limited window's count, and the window whose limit is reached.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Usage {
    /// Per configured window, smallest first.
    pub(crate) used: Vec<Used>,
    /// A window with nothing remaining: the request is refused.
    pub(crate) stop: Option<Period>,
}

const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

// === impl Usage ===

impl Usage {
    /// The usage, stopping at the largest window whose limit is reached
    /// (Kong keeps whichever its table walk meets last).
    pub(crate) fn new(used: Vec<Used>) -> Self {
        let stop = used
            .iter()
            .rev()
            .find(|u| u.limit - u.before <= 0.0)
            .map(|u| u.period);
        Self { used, stop }
    }

    /// Kong's headers, into `headers`: per window `X-RateLimit-Limit-<Window>`
    /// and `X-RateLimit-Remaining-<Window>`, then `RateLimit-Limit`,
    /// `RateLimit-Remaining` and `RateLimit-Reset` for the window with the
    /// least remaining (the larger window on a tie), and `Retry-After` when
    /// the request is refused.
    pub(crate) fn write_headers(&self, now: &Now, headers: &mut impl SetHeader) {
        // (limit, window seconds, remaining, reset) of the tightest window,
        // its values built once and shared by both header families.
        let mut tightest: Option<(HeaderValue, u64, f64, HeaderValue, u64)> = None;
        for u in &self.used {
            let mut remaining = u.limit - u.before;
            if self.stop.is_none() || self.stop == Some(u.period) {
                remaining -= 1.0;
            }
            let remaining = remaining.max(0.0);
            let window = u.period.seconds();
            let better = match &tightest {
                None => true,
                Some((_, w, r, _, _)) => remaining < *r || (remaining == *r && window > *w),
            };
            let (limit_name, remaining_name) = window_headers(u.period);
            let (limit, left) = (number(u.limit), number(remaining));
            if better {
                let reset = now.reset(u.period);
                tightest = Some((limit.clone(), window, remaining, left.clone(), reset));
            }
            headers.set_header(limit_name, limit);
            headers.set_header(remaining_name, left);
        }
        if let Some((limit, _, _, remaining, reset)) = tightest {
            headers.set_header(RATELIMIT_LIMIT, limit);
            headers.set_header(RATELIMIT_REMAINING, remaining);
            let reset = digits::value(reset);
            headers.set_header(RATELIMIT_RESET, reset.clone());
            if self.stop.is_some() {
                headers.set_header(http::header::RETRY_AFTER, reset);
            }
        }
    }

    /// [`Usage::write_headers`] into a map of their own.
    #[cfg(test)]
    pub(crate) fn headers(&self, now: &Now) -> HeaderMap {
        let mut headers = HeaderMap::new();
        self.write_headers(now, &mut headers);
        headers
    }
}

/// `X-RateLimit-Limit-<Window>` and `X-RateLimit-Remaining-<Window>` for
/// `period` (names fixed at compile time: nothing to build per request).
fn window_headers(period: Period) -> (HeaderName, HeaderName) {
    const fn name(text: &'static str) -> HeaderName {
        HeaderName::from_static(text)
    }
    match period {
        Period::Second => (
            name("x-ratelimit-limit-second"),
            name("x-ratelimit-remaining-second"),
        ),
        Period::Minute => (
            name("x-ratelimit-limit-minute"),
            name("x-ratelimit-remaining-minute"),
        ),
        Period::Hour => (
            name("x-ratelimit-limit-hour"),
            name("x-ratelimit-remaining-hour"),
        ),
        Period::Day => (
            name("x-ratelimit-limit-day"),
            name("x-ratelimit-remaining-day"),
        ),
        Period::Month => (
            name("x-ratelimit-limit-month"),
            name("x-ratelimit-remaining-month"),
        ),
        Period::Year => (
            name("x-ratelimit-limit-year"),
            name("x-ratelimit-remaining-year"),
        ),
    }
}

/// A number as Kong prints it: whole numbers without a fraction (the
/// common case, printed without going through a formatter).
fn number(value: f64) -> HeaderValue {
    const EXACT: f64 = (1u64 << 53) as f64;
    if value.fract() == 0.0 && (0.0..EXACT).contains(&value) {
        return digits::value(value as u64);
    }
    // A number's text is always a valid header value.
    HeaderValue::from_str(&schema_number(value).to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn used(period: Period, limit: f64, before: f64) -> Used {
        Used {
            period,
            limit,
            before,
        }
    }

    #[test]
    fn headers_name_the_tightest_window() {
        // 10 s into a minute.
        let now = Now::at(1_000_030);
        let usage = Usage::new(vec![
            used(Period::Second, 5.0, 0.0),
            used(Period::Minute, 6.0, 2.0),
        ]);
        assert_eq!(usage.stop, None);
        let h = usage.headers(&now);
        assert_eq!(h["x-ratelimit-limit-second"], "5");
        assert_eq!(h["x-ratelimit-remaining-second"], "4");
        assert_eq!(h["x-ratelimit-limit-minute"], "6");
        assert_eq!(h["x-ratelimit-remaining-minute"], "3");
        assert_eq!(h["ratelimit-limit"], "6");
        assert_eq!(h["ratelimit-remaining"], "3");
        assert_eq!(h["ratelimit-reset"], "50");
        assert!(h.get("retry-after").is_none());
    }

    #[test]
    fn a_refusal_adds_retry_after_and_only_the_stopping_window_counts_it() {
        let now = Now::at(1_000_030);
        let usage = Usage::new(vec![
            used(Period::Second, 5.0, 1.0),
            used(Period::Minute, 6.0, 6.0),
        ]);
        assert_eq!(usage.stop, Some(Period::Minute));
        let h = usage.headers(&now);
        assert_eq!(h["x-ratelimit-remaining-second"], "4");
        assert_eq!(h["x-ratelimit-remaining-minute"], "0");
        assert_eq!(h["ratelimit-remaining"], "0");
        assert_eq!(h["retry-after"], "50");
        assert_eq!(h["ratelimit-reset"], "50");
    }

    #[test]
    fn fractional_limits_print_as_kong_prints_them() {
        let now = Now::at(1_000_030);
        let usage = Usage::new(vec![used(Period::Minute, 5.5, 1.0)]);
        let h = usage.headers(&now);
        assert_eq!(h["x-ratelimit-limit-minute"], "5.5");
        assert_eq!(h["x-ratelimit-remaining-minute"], "3.5");
        assert_eq!(h["ratelimit-limit"], "5.5");
    }

    #[test]
    fn equal_remaining_prefers_the_larger_window() {
        let now = Now::at(1_000_030);
        let usage = Usage::new(vec![
            used(Period::Second, 3.0, 0.0),
            used(Period::Hour, 3.0, 0.0),
        ]);
        let h = usage.headers(&now);
        assert_eq!(h["ratelimit-limit"], "3");
        assert_eq!(h["ratelimit-reset"], (3600 - 1_000_030 % 3600).to_string());
    }
}
