//! Where a request goes upstream: the path after `strip_path` and the
//! service path (Kong's `path_handling`, `v0` unless the route says `v1`),
//! applied to the normalised path the route matched.

use crate::model::PathHandling;
use http::Uri;

/// The upstream path: the matched prefix (`strip_len` bytes) removed when
/// `strip` is set, then joined to the service path: with `v0` with exactly
/// one slash, with `v1` as Kong's v1 does (plain concatenation, a doubled
/// slash at the seam merged). Never empty.
pub(super) fn upstream_path(
    path: &str,
    strip_len: usize,
    strip: bool,
    service_path: Option<&str>,
    handling: PathHandling,
) -> String {
    if handling == PathHandling::V1 {
        return v1(path, strip_len, strip, service_path);
    }
    let rest = if strip {
        // The router measured the prefix on the same path; stay safe if a
        // plugin changed it since.
        path.get(strip_len..).unwrap_or(path)
    } else {
        path
    };
    let base = service_path.filter(|p| !p.is_empty()).unwrap_or("/");
    // `concat` allocates once, exactly: this runs on every request.
    let joined = match (base.ends_with('/'), rest.starts_with('/')) {
        _ if rest.is_empty() => base.to_string(),
        (true, true) => [base, &rest[1..]].concat(),
        (false, false) => [base, "/", rest].concat(),
        _ => [base, rest].concat(),
    };
    if joined.is_empty() {
        "/".to_string()
    } else {
        joined
    }
}

/// Kong's `path_handling: v1` (`kong/router/traditional.lua`).
fn v1(path: &str, strip_len: usize, strip: bool, service_path: Option<&str>) -> String {
    let base = service_path.filter(|p| !p.is_empty()).unwrap_or("/");
    if !strip {
        // The request path without its leading slash, after the base.
        return [base, path.get(1..).unwrap_or_default()].concat();
    }
    let rest = path.get(strip_len..).unwrap_or(path);
    let joined = match base.strip_suffix('/') {
        Some(head) if rest.starts_with('/') => [head, rest].concat(),
        _ => [base, rest].concat(),
    };
    if joined.is_empty() {
        "/".to_string()
    } else {
        joined
    }
}

/// `path` plus the query string of `uri`, if any.
pub(super) fn with_query(mut path: String, uri: &Uri) -> String {
    if let Some(q) = uri.query() {
        path.reserve_exact(1 + q.len());
        path.push('?');
        path.push_str(q);
    }
    path
}

/// Kong's redirect target for https-only routes: the host without port and
/// the original request target.
pub(super) fn https_location(host: &str, uri: &Uri) -> Option<String> {
    if host.is_empty() {
        return None;
    }
    let target = uri.path_and_query().map_or("/", |pq| pq.as_str());
    Some(format!("https://{host}{target}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_path_and_service_path_follow_kong_v0() {
        // (request path, strip_len, strip, service path, expected)
        let cases = [
            ("/foo/bar", 4, true, None, "/bar"),
            ("/foo", 4, true, None, "/"),
            ("/foo/", 4, true, None, "/"),
            ("/foo/bar", 4, false, None, "/foo/bar"),
            ("/foobar", 4, true, None, "/bar"),
            ("/foo/bar", 4, true, Some("/svc"), "/svc/bar"),
            ("/foo/bar", 4, true, Some("/svc/"), "/svc/bar"),
            ("/foo", 4, true, Some("/svc"), "/svc"),
            ("/foo", 4, true, Some("/svc/"), "/svc/"),
            ("/foo/bar", 4, false, Some("/svc"), "/svc/foo/bar"),
            ("/foo/bar", 5, true, None, "/bar"),
            ("/", 1, true, None, "/"),
            ("/x", 99, true, None, "/x"),
            ("/é", 2, true, None, "/é"),
        ];
        for (path, len, strip, svc, want) in cases {
            assert_eq!(
                upstream_path(path, len, strip, svc, PathHandling::V0),
                want,
                "{path} {len} {strip} {svc:?}"
            );
        }
    }

    #[test]
    fn v1_concatenates_as_kong_does() {
        // (request path, strip_len, strip, service path, expected), from
        // Kong's path_handling table (docs, "Route object").
        let cases = [
            ("/foo/bar", 4, true, None, "/bar"),
            ("/foo", 4, true, None, "/"),
            ("/foobar", 4, true, None, "/bar"),
            ("/foo/bar", 4, true, Some("/svc"), "/svc/bar"),
            ("/foo/bar", 4, true, Some("/svc/"), "/svc/bar"),
            ("/foobar", 4, true, Some("/svc"), "/svcbar"),
            ("/foo", 4, true, Some("/svc/"), "/svc/"),
            ("/foo", 4, true, Some("/svc"), "/svc"),
            ("/foo/bar", 4, false, Some("/svc"), "/svcfoo/bar"),
            ("/foo/bar", 4, false, Some("/svc/"), "/svc/foo/bar"),
            ("/foo/bar", 4, false, None, "/foo/bar"),
        ];
        for (path, len, strip, svc, want) in cases {
            assert_eq!(
                upstream_path(path, len, strip, svc, PathHandling::V1),
                want,
                "{path} {len} {strip} {svc:?}"
            );
        }
    }

    #[test]
    fn redirect_location_keeps_path_and_query() {
        let uri: Uri = "/p/q?x=1".parse().unwrap();
        assert_eq!(
            https_location("a.example", &uri).unwrap(),
            "https://a.example/p/q?x=1"
        );
        assert_eq!(https_location("", &uri), None);
    }
}
