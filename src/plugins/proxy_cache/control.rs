//! The HTTP rules proxy-cache decides with, as Kong reads them:
//! `Cache-Control` directives (`kong.tools.http.parse_directive_header`),
//! a response's freshness (`calculate_resource_ttl`: `s-maxage`, then
//! `max-age`, then `Expires`), and content-type matching
//! (`kong.tools.mime_type`: wildcards, parameters compared exactly).

use http::HeaderMap;
use http::header::{CACHE_CONTROL, EXPIRES};
use std::collections::HashMap;
use std::time::SystemTime;

/// A directive's value: a number, a string, or present without a value.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Directive {
    /// `max-age=60`.
    Number(f64),
    /// `private="x"`, kept as written.
    Text(String),
    /// `no-store`.
    Flag,
}

/// Parsed `Cache-Control` directives, names lower-cased.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Directives(HashMap<String, Directive>);

// === impl Directives ===

impl Directives {
    /// Every `Cache-Control` header of `headers`, joined as Kong joins them.
    pub(super) fn of(headers: &HeaderMap) -> Self {
        let joined: Vec<&str> = headers
            .get_all(CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        Self::parse(&joined.join(", "))
    }

    /// Kong's parse: comma-separated `name[=value]`, leading blanks skipped,
    /// a later duplicate wins.
    pub(super) fn parse(value: &str) -> Self {
        let mut map = HashMap::new();
        for item in value.split(',') {
            let item = item.trim_start();
            if item.is_empty() || item.starts_with('=') {
                continue;
            }
            let (name, value) = match item.split_once('=') {
                Some((n, v)) if !v.is_empty() => (n, Some(v)),
                Some((n, _)) => (n, None),
                None => (item, None),
            };
            let directive = match value {
                None => Directive::Flag,
                Some(v) => v
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .map_or_else(|| Directive::Text(v.to_string()), Directive::Number),
            };
            map.insert(name.to_ascii_lowercase(), directive);
        }
        Self(map)
    }

    /// Whether `name` is present, with or without a value.
    pub(super) fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// The numeric value of `name`, if it has one.
    pub(super) fn number(&self, name: &str) -> Option<f64> {
        match self.0.get(name) {
            Some(Directive::Number(n)) => Some(*n),
            _ => None,
        }
    }
}

/// Kong's `calculate_resource_ttl`: seconds a response stays fresh, from
/// `s-maxage`, else `max-age`, else `Expires` (its last value) minus now;
/// never below 0.
pub(super) fn resource_ttl(cc: &Directives, headers: &HeaderMap, now: SystemTime) -> u64 {
    let max_age = cc.number("s-maxage").or_else(|| cc.number("max-age"));
    let seconds = max_age.or_else(|| {
        let expires = headers.get_all(EXPIRES).iter().next_back()?;
        let at = httpdate::parse_http_date(expires.to_str().ok()?).ok()?;
        Some(match at.duration_since(now) {
            Ok(ahead) => ahead.as_secs_f64().floor(),
            Err(_) => 0.0,
        })
    });
    // Saturating float-to-int conversion: negative and NaN become 0.
    seconds.map_or(0, |s| s.max(0.0) as u64)
}

/// A parsed media type: lower-cased type and subtype, parameters with
/// lower-cased names and values as written.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct MediaType {
    kind: String,
    subtype: String,
    params: HashMap<String, String>,
}

// === impl MediaType ===

impl MediaType {
    /// Kong's RFC 2045 grammar: `type/subtype` (or `*`) then
    /// `; name=value` parameters, nothing else; `None` when it does not
    /// parse (`application/xml;` does not).
    pub(super) fn parse(text: &str) -> Option<Self> {
        let (types, mut rest) = match text.find([';', ' ', '\t']) {
            Some(i) => text.split_at(i),
            None => (text, ""),
        };
        let (kind, subtype) = if types == "*" {
            ("*".to_string(), "*".to_string())
        } else {
            let (k, s) = types.split_once('/')?;
            (
                token(k)?.to_ascii_lowercase(),
                token(s)?.to_ascii_lowercase(),
            )
        };
        let mut params = HashMap::new();
        while !rest.is_empty() {
            rest = rest.trim_start_matches([' ', '\t']);
            rest = rest.strip_prefix(';')?;
            rest = rest.trim_start_matches([' ', '\t']);
            let (name, after) = rest.split_once('=')?;
            let name = token(name)?;
            let (value, after) = param_value(after)?;
            params.insert(name.to_ascii_lowercase(), value);
            rest = after;
        }
        Some(Self {
            kind,
            subtype,
            params,
        })
    }

    /// Whether a response of type `self` matches the configured `pattern`
    /// (Kong's handler: `*` type or subtype matches any, and the parameters
    /// are exactly the same).
    pub(super) fn matches(&self, pattern: &MediaType) -> bool {
        (pattern.kind == "*" || pattern.kind == self.kind)
            && (pattern.subtype == "*" || pattern.subtype == self.subtype)
            && pattern.params == self.params
    }
}

/// Whether `content_type` (a response's) matches one of `configured`.
pub(super) fn content_type_matches(content_type: &str, configured: &[String]) -> bool {
    let Some(actual) = MediaType::parse(content_type) else {
        return false;
    };
    configured
        .iter()
        .filter_map(|c| MediaType::parse(c))
        .any(|pattern| actual.matches(&pattern))
}

/// An RFC 2045 token: printable ASCII without separators.
fn token(s: &str) -> Option<&str> {
    let ok = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b));
    ok.then_some(s)
}

/// A parameter value (a token or a quoted string) and what follows it.
fn param_value(s: &str) -> Option<(String, &str)> {
    if let Some(quoted) = s.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Some((value, &quoted[i + 1..])),
                '\\' => value.push(chars.next()?.1),
                c if c.is_control() => return None,
                c => value.push(c),
            }
        }
        return None;
    }
    let end = s.find([';', ' ', '\t']).unwrap_or(s.len());
    Some((token(&s[..end])?.to_string(), &s[end..]))
}

#[cfg(test)]
mod tests;
