//! Route conditions on request headers (Kong's route `headers`, KIC's
//! `konghq.com/headers.<name>` annotations).

use http::HeaderMap;
use std::fmt;
use std::sync::Arc;

/// One header a route requires: the request must carry `name` with one of
/// `values` (compared case-insensitively, each header line on its own, as
/// Kong's traditional router does), or, when the route names a single
/// value written `~*<regex>`, a value the regex finds a match in.
#[derive(Clone, Debug, PartialEq)]
pub struct HeaderMatch {
    /// Header name, lower-case.
    pub name: String,
    /// Accepted values, lower-case.
    pub values: Vec<String>,
    /// The `~*` pattern of a single-valued condition.
    pub pattern: Option<HeaderRegex>,
}

/// A compiled header-value regex that compares and prints by its source.
#[derive(Clone)]
pub struct HeaderRegex(Arc<regex::Regex>);

// === impl HeaderMatch ===

impl HeaderMatch {
    /// The condition for header `name` with `values` as written (Kong
    /// lower-cases both). `Err` when a `~*` pattern does not compile.
    pub fn new(name: &str, values: &[String]) -> Result<Self, regex::Error> {
        let pattern = match values {
            [only] => only
                .strip_prefix("~*")
                .map(|p| regex::Regex::new(p).map(|r| HeaderRegex(Arc::new(r))))
                .transpose()?,
            _ => None,
        };
        Ok(Self {
            name: name.to_ascii_lowercase(),
            values: values.iter().map(|v| v.to_lowercase()).collect(),
            pattern,
        })
    }

    /// Whether `headers` satisfy this condition.
    pub fn matches(&self, headers: &HeaderMap) -> bool {
        headers.get_all(self.name.as_str()).iter().any(|value| {
            let Ok(value) = value.to_str() else {
                return false;
            };
            let value = value.to_lowercase();
            self.values.contains(&value)
                || self.pattern.as_ref().is_some_and(|p| p.0.is_match(&value))
        })
    }
}

// === impl HeaderRegex ===

impl HeaderRegex {
    /// The source text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl PartialEq for HeaderRegex {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Debug for HeaderRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HeaderRegex({:?})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn values_compare_case_insensitively_line_by_line() {
        let m = HeaderMatch::new("X-Env", &["Canary".into(), "beta".into()]).unwrap();
        assert_eq!(m.name, "x-env");
        assert!(m.matches(&headers(&[("x-env", "CANARY")])));
        assert!(m.matches(&headers(&[("x-env", "prod"), ("x-env", "beta")])));
        assert!(!m.matches(&headers(&[("x-env", "canary, beta")])));
        assert!(!m.matches(&headers(&[("x-other", "canary")])));
        assert!(!m.matches(&HeaderMap::new()));
    }

    #[test]
    fn a_single_tilde_star_value_is_a_regex() {
        let m = HeaderMatch::new("x-v", &["~*^v[0-9]+$".into()]).unwrap();
        assert!(m.matches(&headers(&[("x-v", "V12")])));
        assert!(!m.matches(&headers(&[("x-v", "v1x")])));
        // With several values `~*` is literal text, as in Kong.
        let m = HeaderMatch::new("x-v", &["~*a".into(), "b".into()]).unwrap();
        assert!(m.pattern.is_none());
        assert!(m.matches(&headers(&[("x-v", "~*A")])));
        assert!(HeaderMatch::new("x", &["~*(".into()]).is_err());
    }
}
