//! What the counters said about a request, and the headers Kong derives
//! from it (`handler.lua`'s access phase).

use super::window::Now;
use crate::model::plugin::rate_limiting::Period;
use crate::model::plugin::rate_limiting::schema_number;
use http::{HeaderMap, HeaderName, HeaderValue};

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

    /// Kong's headers: per window `X-RateLimit-Limit-<Window>` and
    /// `X-RateLimit-Remaining-<Window>`, then `RateLimit-Limit`,
    /// `RateLimit-Remaining` and `RateLimit-Reset` for the window with the
    /// least remaining (the larger window on a tie), and `Retry-After` when
    /// the request is refused.
    pub(crate) fn headers(&self, now: &Now) -> HeaderMap {
        let mut headers = HeaderMap::new();
        // (limit, window seconds, remaining, reset) of the tightest window.
        let mut tightest: Option<(f64, u64, f64, u64)> = None;
        for u in &self.used {
            let mut remaining = u.limit - u.before;
            if self.stop.is_none() || self.stop == Some(u.period) {
                remaining -= 1.0;
            }
            let remaining = remaining.max(0.0);
            let window = u.period.seconds();
            let better = match tightest {
                None => true,
                Some((_, w, r, _)) => remaining < r || (remaining == r && window > w),
            };
            if better {
                tightest = Some((u.limit, window, remaining, now.reset(u.period)));
            }
            let title = u.period.title();
            insert(&mut headers, &format!("x-ratelimit-limit-{title}"), u.limit);
            insert(
                &mut headers,
                &format!("x-ratelimit-remaining-{title}"),
                remaining,
            );
        }
        if let Some((limit, _, remaining, reset)) = tightest {
            set(&mut headers, RATELIMIT_LIMIT, limit);
            set(&mut headers, RATELIMIT_REMAINING, remaining);
            set(&mut headers, RATELIMIT_RESET, reset as f64);
            if self.stop.is_some() {
                set(&mut headers, http::header::RETRY_AFTER, reset as f64);
            }
        }
        headers
    }
}

fn insert(headers: &mut HeaderMap, name: &str, value: f64) {
    if let Ok(name) = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()) {
        set(headers, name, value);
    }
}

/// A number as Kong prints it: whole numbers without a fraction.
fn set(headers: &mut HeaderMap, name: HeaderName, value: f64) {
    if let Ok(v) = HeaderValue::from_str(&schema_number(value).to_string()) {
        headers.insert(name, v);
    }
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
