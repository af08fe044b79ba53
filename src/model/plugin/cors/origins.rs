//! `origins` compiled once per configuration, and Kong's decision of
//! `Access-Control-Allow-Origin` for a request's `Origin`
//! (`configure_origin` of `kong/plugins/cors/handler.lua`).
//!
//! Kong's rules: no origin, or only `*`, allows all; a single entry made of
//! `A-Za-z0-9.:/-` only is sent as it is, whatever the request's origin;
//! otherwise an entry with any other character is a regex matched against
//! the request origin's host (or, when the entry holds a `:`, against its
//! normalised `scheme://host[:port]`), and a plain entry must equal the
//! normalised origin. Regexes are anchored at both ends: `foo\.test` never
//! matches `foo.test.evil.test`. Kong anchors by appending `$`; wrapping
//! the entry in `^(?:…)$` also anchors every branch of a top-level
//! alternation (`a\.test|b\.test`), which Kong leaves open at the end.

use regex::{Regex, RegexBuilder};

/// Compiled size limit of one origin regex (a bound on memory; matching is
/// linear in the origin's length whatever the pattern).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// How `origins` decide `Access-Control-Allow-Origin`.
#[derive(Clone, Debug, Default)]
pub enum Origins {
    /// No entry, or only `*`: `*` for everyone.
    #[default]
    Any,
    /// One plain entry, sent as it is.
    Fixed(String),
    /// Entries compared with the request's origin.
    List {
        /// An entry is `*`: any request with an origin gets `*`.
        star: bool,
        /// The other entries, in order.
        entries: Vec<Entry>,
    },
}

/// One entry of [`Origins::List`].
#[derive(Clone, Debug)]
pub enum Entry {
    /// A plain origin, normalised (`http://a.test:80` is `http://a.test`).
    Exact(String),
    /// A regex, anchored at both ends.
    Regex {
        /// The compiled pattern.
        regex: Regex,
        /// Matched against the origin's host only (the entry has no `:`).
        by_host: bool,
    },
}

/// What `Access-Control-Allow-Origin` becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allowed {
    /// `*`. `vary` is whether `Vary: Origin` is still added (Kong adds it
    /// before it finds a `*` among several entries).
    Wildcard {
        /// Add `Vary: Origin`.
        vary: bool,
    },
    /// This origin (with `Vary: Origin`).
    Origin(String),
    /// None: the header is removed, the upstream's included (with
    /// `Vary: Origin`).
    Nobody,
}

/// A request origin as Kong's `normalize_origin` sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Normalized {
    /// `scheme://host[:port]` without a default port; the input itself
    /// when it has no host.
    pub domain: String,
    /// The host; the input itself when it has none.
    pub host: String,
}

// Compared through the `origins` they are compiled from.
impl PartialEq for Origins {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The characters of a plain (non-regex) origin.
fn plain(entry: &str) -> bool {
    !entry.is_empty()
        && entry
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'/' | b'-'))
}

impl Origins {
    /// Compiles `origins`; an entry that is neither `*` nor a regex is
    /// returned with its index.
    pub fn compile(origins: &[String]) -> Result<Self, (usize, String)> {
        let mut entries = Vec::with_capacity(origins.len());
        let mut star = false;
        for (i, entry) in origins.iter().enumerate() {
            if entry == "*" {
                star = true;
                continue;
            }
            let regex = RegexBuilder::new(&format!("^(?:{entry})$"))
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|_| (i, entry.clone()))?;
            entries.push(if plain(entry) {
                Entry::Exact(normalize(entry).domain)
            } else {
                Entry::Regex {
                    regex,
                    by_host: !entry.contains(':'),
                }
            });
        }
        Ok(match origins {
            [] => Origins::Any,
            [only] if only == "*" => Origins::Any,
            [only] if plain(only) => Origins::Fixed(only.clone()),
            _ => Origins::List { star, entries },
        })
    }

    /// Kong's answer for a request whose `Origin` is `origin` (`None` when
    /// absent or empty).
    pub fn allow(&self, origin: Option<&str>) -> Allowed {
        let (entries, Some(origin)) = (
            match self.settled(origin.is_some()) {
                Ok(entries) => entries,
                Err(allowed) => return allowed,
            },
            origin,
        ) else {
            return Allowed::Nobody;
        };
        let seen = normalize(origin);
        let found = entries.iter().any(|entry| match entry {
            Entry::Exact(domain) => *domain == seen.domain,
            Entry::Regex { regex, by_host } => {
                regex.is_match(if *by_host { &seen.host } else { &seen.domain })
            }
        });
        if found {
            Allowed::Origin(seen.domain)
        } else {
            Allowed::Nobody
        }
    }
}

impl Origins {
    /// The answer for an origin that is not text (bytes outside ASCII and
    /// UTF-8): it matches no entry. Browsers send ASCII origins only
    /// (RFC 6454 serialises hosts as punycode).
    pub fn allow_opaque(&self) -> Allowed {
        match self.settled(true) {
            Ok(_) => Allowed::Nobody,
            Err(allowed) => allowed,
        }
    }

    /// The answer when it does not depend on the origin's value, else the
    /// entries to compare it with.
    fn settled(&self, provided: bool) -> Result<&[Entry], Allowed> {
        match self {
            Origins::Any => Err(Allowed::Wildcard { vary: false }),
            Origins::Fixed(value) => Err(Allowed::Origin(value.clone())),
            Origins::List { star: true, .. } if provided => Err(Allowed::Wildcard { vary: true }),
            Origins::List { entries, .. } => Ok(entries),
        }
    }
}

/// Kong's `normalize_origin` (LuaSocket's `url.parse`): scheme, host and
/// port, the port dropped when it is the scheme's default.
pub fn normalize(origin: &str) -> Normalized {
    let whole = || Normalized {
        domain: origin.to_string(),
        host: origin.to_string(),
    };
    let rest = origin.split('#').next().unwrap_or_default();
    let scheme_len = scheme_length(rest);
    let scheme = scheme_len.map(|n| &rest[..n]);
    let rest = scheme_len.map_or(rest, |n| &rest[n + 1..]);
    let Some(after) = rest.strip_prefix("//") else {
        return whole();
    };
    let authority = after.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.split_once('@').map_or(authority, |(_, a)| a);
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority[i + 1..].contains(']') => {
            (&authority[..i], Some(&authority[i + 1..]))
        }
        _ => (authority, None),
    };
    if host.is_empty() {
        return whole();
    }
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .filter(|h| !h.is_empty())
        .unwrap_or(host);
    let port =
        port.filter(|p| !matches!((scheme, *p), (Some("http"), "80") | (Some("https"), "443")));
    let mut domain = String::with_capacity(origin.len());
    if let Some(scheme) = scheme {
        domain.push_str(scheme);
        domain.push_str("://");
    }
    domain.push_str(host);
    if let Some(port) = port {
        domain.push(':');
        domain.push_str(port);
    }
    Normalized {
        domain,
        host: host.to_string(),
    }
}

/// The length of a leading `scheme` before its `:` (a letter or digit,
/// then letters, digits, `+`, `-`, `.`), if there is one.
fn scheme_length(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    if !bytes.first()?.is_ascii_alphanumeric() {
        return None;
    }
    let end = bytes
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))?;
    (bytes[end] == b':').then_some(end)
}
