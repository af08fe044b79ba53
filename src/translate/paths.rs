//! Ingress paths to route path matches. KIC emits Kong path strings
//! (`/foo/` + `~/foo$` for a Prefix); kingress's router has Prefix and Exact
//! matches of its own, so each path becomes one [`PathMatch`].

use crate::model::normalise::normalise;
use crate::model::{PathMatch, PathRegex};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The marker that starts a regex in an ImplementationSpecific path, unless
/// `konghq.com/regex-prefix` names another.
pub(super) const DEFAULT_REGEX_PREFIX: &str = "/~";

/// Compiled path regexes by pattern: compiling costs tens of microseconds,
/// and the same pattern tends to recur across many Ingresses.
pub(super) type RegexCache = BTreeMap<String, PathRegex>;

/// Converts one Ingress path. `Err` is a human message (the path is then
/// dropped and the problem reported on the Ingress).
pub(super) fn convert(
    path: Option<&str>,
    path_type: &str,
    regex_prefix: &str,
    regexes: &mut RegexCache,
) -> Result<PathMatch, String> {
    let raw = path.unwrap_or_default();
    let mut path = collapse_slashes(raw);
    if path.is_empty() {
        path.push('/');
    }
    match path_type {
        "Exact" => Ok(PathMatch::Exact(canonical(raw, absolute(path))?)),
        "Prefix" => {
            let path = canonical(raw, absolute(path))?;
            let base = path.trim_end_matches('/');
            Ok(PathMatch::Prefix(if base.is_empty() {
                "/".to_string()
            } else {
                base.to_string()
            }))
        }
        // A missing pathType is ImplementationSpecific, as in KIC.
        "ImplementationSpecific" | "" => {
            if !regex_prefix.is_empty()
                && let Some(pattern) = path.strip_prefix(regex_prefix)
            {
                if let Some(compiled) = regexes.get(pattern) {
                    return Ok(PathMatch::Regex(compiled.clone()));
                }
                let compiled = PathRegex::new(pattern)
                    .map_err(|e| format!("invalid regex path '{raw}': {}", regex_error(&e)))?;
                regexes.insert(pattern.to_string(), compiled.clone());
                return Ok(PathMatch::Regex(compiled));
            }
            if !path.starts_with('/') {
                return Err(format!("path '{raw}' must start with '/'"));
            }
            Ok(PathMatch::Plain(canonical(raw, path)?))
        }
        other => Err(format!("path '{raw}' has unknown pathType '{other}'")),
    }
}

/// `path` in the spelling the proxy gives request paths (escapes of
/// unreserved characters decoded, dot segments removed, …), so that the
/// route matches the requests its path names. A path no request could
/// have (`/../x`, `/%zz`) is refused.
fn canonical(raw: &str, path: String) -> Result<String, String> {
    match normalise(&path) {
        Ok(Cow::Borrowed(_)) => Ok(path),
        Ok(Cow::Owned(canonical)) => Ok(canonical),
        Err(e) => Err(format!("path '{raw}' is not a valid request path: {e}")),
    }
}

/// `//a///b` → `/a/b` (KIC's `flattenMultipleSlashes`).
fn collapse_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if c == '/' && out.ends_with('/') {
            continue;
        }
        out.push(c);
    }
    out
}

/// Kubernetes requires Exact and Prefix paths to be absolute; KIC adds the
/// slash rather than rejecting, and so do we.
fn absolute(path: String) -> String {
    if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    }
}

/// The one-line cause of a regex error (its Display spans several lines with
/// a caret under the pattern).
pub(super) fn regex_error(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: ").map(str::to_string))
        .unwrap_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(path: &str, ty: &str) -> Result<String, String> {
        convert(Some(path), ty, DEFAULT_REGEX_PREFIX, &mut RegexCache::new()).map(|p| p.to_string())
    }

    #[test]
    fn path_types() {
        assert_eq!(conv("/foo", "Exact").unwrap(), "/foo (exact)");
        assert_eq!(conv("/foo/", "Prefix").unwrap(), "/foo (prefix)");
        assert_eq!(conv("/", "Prefix").unwrap(), "/ (prefix)");
        assert_eq!(conv("//a//b//", "Prefix").unwrap(), "/a/b (prefix)");
        assert_eq!(conv("", "ImplementationSpecific").unwrap(), "/");
        assert_eq!(conv("/foo/", "").unwrap(), "/foo/");
        assert_eq!(conv("/~/v\\d+", "").unwrap(), "~/v\\d+");
        assert_eq!(
            convert(Some("/@/x$"), "", "/@", &mut RegexCache::new())
                .unwrap()
                .to_string(),
            "~/x$"
        );
        let mut cache = RegexCache::new();
        let exact = convert(None, "Exact", "/~", &mut cache).unwrap();
        assert_eq!(exact.to_string(), "/ (exact)");
        let a = convert(Some("/~/a+"), "", "/~", &mut cache).unwrap();
        assert_eq!(a, convert(Some("/~/a+"), "", "/~", &mut cache).unwrap());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn paths_take_the_spelling_of_normalised_request_paths() {
        // A request for /mock is normalised to /mock; a route written with
        // an escape or a dot segment must match it.
        assert_eq!(conv("/mo%63k", "Prefix").unwrap(), "/mock (prefix)");
        assert_eq!(conv("/a/./b/../c", "Exact").unwrap(), "/a/c (exact)");
        assert_eq!(conv("/x%2fy", "").unwrap(), "/x%2Fy");
        assert_eq!(conv("/{v}", "").unwrap(), "/%7Bv%7D");
        for (path, ty) in [("/../x", "Prefix"), ("/a%zz", "Exact"), ("/a%00", "")] {
            let e = conv(path, ty).unwrap_err();
            assert!(e.contains("is not a valid request path"), "{path}: {e}");
        }
    }

    #[test]
    fn bad_paths_are_errors() {
        assert_eq!(
            conv("/~/api/(v1", "ImplementationSpecific").unwrap_err(),
            "invalid regex path '/~/api/(v1': unclosed group"
        );
        assert!(conv("foo", "ImplementationSpecific").is_err());
        assert!(conv("/foo", "Fuzzy").is_err());
    }
}
