//! Property tests: the index gives the same answer as a brute-force scan that
//! sorts every match by its summary; answers are repeatable; a route that
//! cannot match never changes the answer. Hosts, paths and regexes come from
//! small pools so generated routes overlap often.

use super::fixtures::{Req, route, table};
use super::summary::Summary;
use super::{RouteMatch, Router, find};
use crate::model::{HostMatch, PathMatch, PathRegex, Route, Shared, Table};
use proptest::prelude::*;
use std::cmp::Reverse;

const HOST_PATTERNS: &[&str] = &[
    "a.test",
    "b.a.test",
    "x.b.a.test",
    "*.a.test",
    "*.b.a.test",
    "b.*",
    "x.b.*",
    "*a.test",
];
const REQUEST_HOSTS: &[&str] = &[
    "a.test",
    "b.a.test",
    "x.b.a.test",
    "c.a.test",
    "ba.test",
    "b.x",
    "x.b.a",
    // Edge hosts a client can send: a wildcard needs a whole label.
    ".a.test",
    "b.",
    "",
];
const SEGMENTS: &[&str] = &["a", "b", "ab", "é"];
const REGEXES: &[&str] = &["/a/[a-z]+", "/a.*", "/(a|b)/b$", "/[ab]+", "/ab?", "/a|/b/"];
const METHODS: &[&[&str]] = &[&[], &["GET"], &["POST"], &["GET", "POST"]];
const PROTOCOLS: &[&[&str]] = &[&[], &["http"], &["https"], &["http", "https"]];

/// The reference: every (host, path) way each route matches, sorted by
/// summary, greatest first. Matching is written out here independently of
/// the index.
fn reference(t: &Table, req: &Req) -> Option<RouteMatch> {
    let mut found: Vec<(Summary, usize)> = Vec::new();
    for (i, r) in t.routes.iter().enumerate() {
        if !r.methods.is_empty() && !r.methods.contains(&req.method) {
            continue;
        }
        let hosts: Vec<Option<&HostMatch>> = if r.hosts.is_empty() {
            vec![None]
        } else {
            r.hosts
                .iter()
                .filter(|h| h.matches(&req.host))
                .map(Some)
                .collect()
        };
        let paths: Vec<(Option<usize>, usize)> = if r.paths.is_empty() {
            vec![(None, 0)]
        } else {
            let matching = r.paths.iter().enumerate();
            matching
                .filter_map(|(pos, p)| path_match(p, &req.path).map(|n| (Some(pos), n)))
                .collect()
        };
        for &host in &hosts {
            for &(pos, strip) in &paths {
                found.push((Summary::new(i, r, host, pos), strip));
            }
        }
    }
    found.sort_by_key(|&(summary, _)| Reverse(summary));
    let &(best, strip_len) = found.first()?;
    let r = &t.routes[best.route()];
    let has = |p: &str| r.protocols.iter().any(|q| q == p);
    Some(RouteMatch {
        route: best.route(),
        strip_len,
        path: best.path_pos(),
        https_required: has("https") && !has("http") && !req.https,
    })
}

/// Bytes `strip_path` would remove when `pattern` matches `path`.
fn path_match(pattern: &PathMatch, path: &str) -> Option<usize> {
    match pattern {
        PathMatch::Exact(e) => (path == e).then_some(path.len()),
        PathMatch::Plain(p) => path.starts_with(p.as_str()).then_some(p.len()),
        PathMatch::Prefix(p) => {
            let base = p.trim_end_matches('/');
            let below = path
                .strip_prefix(base)
                .is_some_and(|rest| rest.starts_with('/'));
            (path == base || below).then_some(base.len())
        }
        PathMatch::Regex(re) => re
            .regex()
            .find(path)
            .filter(|m| m.start() == 0)
            .map(|m| m.end()),
    }
}

/// At most two segments, so request paths often equal a pattern exactly
/// (the case the `Prefix` base lookup exists for).
fn path_text() -> impl Strategy<Value = String> {
    let segments = prop::collection::vec(prop::sample::select(SEGMENTS), 0..3);
    (segments, any::<bool>()).prop_map(|(segments, slash)| {
        let mut path = format!("/{}", segments.join("/"));
        if slash && !segments.is_empty() {
            path.push('/');
        }
        path
    })
}

fn path_match_strategy() -> impl Strategy<Value = PathMatch> {
    prop_oneof![
        path_text().prop_map(PathMatch::Plain),
        path_text().prop_map(PathMatch::Prefix),
        path_text().prop_map(PathMatch::Exact),
        prop::sample::select(REGEXES)
            .prop_map(|r| PathMatch::Regex(PathRegex::new(r).expect("pool regex compiles"))),
    ]
}

fn route_strategy() -> impl Strategy<Value = Route> {
    (
        prop::collection::vec(prop::sample::select(HOST_PATTERNS), 0..3),
        prop::collection::vec(path_match_strategy(), 0..3),
        prop::sample::select(METHODS),
        prop::sample::select(PROTOCOLS),
        -1i64..=1,
    )
        .prop_map(|(hosts, paths, methods, protocols, regex_priority)| {
            let mut r = route("r");
            r.hosts = hosts.into_iter().map(HostMatch::parse).collect();
            r.paths = paths;
            r.methods = methods.iter().map(|m| m.to_string()).collect();
            r.protocols = protocols.iter().map(|p| p.to_string()).collect();
            r.regex_priority = regex_priority;
            r
        })
}

fn table_strategy() -> impl Strategy<Value = Table> {
    prop::collection::vec(route_strategy(), 0..16).prop_map(|mut routes| {
        for (i, r) in routes.iter_mut().enumerate() {
            r.name = format!("r{i}");
        }
        table(routes)
    })
}

fn request_strategy() -> impl Strategy<Value = Req> {
    (
        prop::sample::select(&["GET", "POST", "PUT"][..]),
        prop::sample::select(REQUEST_HOSTS),
        path_text(),
        any::<bool>(),
    )
        .prop_map(|(method, host, path, https)| Req {
            method: method.into(),
            host: host.into(),
            path,
            https,
            sni: None,
            headers: http::HeaderMap::new(),
        })
}

/// The answer with the route named instead of numbered, so tables whose
/// indexes shift can be compared.
fn named(t: &Table, m: Option<RouteMatch>) -> Option<(String, usize, bool)> {
    m.map(|m| {
        (
            t.routes[m.route].name.clone(),
            m.strip_len,
            m.https_required,
        )
    })
}

proptest! {
    // More cases than the default: this is the test that checks every
    // lookup step of the index against the reference.
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn index_agrees_with_brute_force(t in table_strategy(), req in request_strategy()) {
        let router = Router::new(&t);
        prop_assert_eq!(find(&t, &router, &req.info()), reference(&t, &req));
    }

    #[test]
    fn an_index_built_from_the_last_answers_as_a_whole_build(
        t in table_strategy(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), route_strategy()), 0..4),
        reqs in prop::collection::vec(request_strategy(), 8),
    ) {
        let last = Router::new(&t);
        // The same routes (the very `Arc`s) but for a few replaced in place.
        let mut next = t.clone();
        for (at, mut route) in edits {
            if next.routes.is_empty() {
                break;
            }
            let i = at.index(next.routes.len());
            route.name = format!("edited{i}");
            next.routes[i] = Shared::new(route);
        }
        let incremental = Router::next(&next, &t, &last);
        let whole = Router::new(&next);
        for req in &reqs {
            prop_assert_eq!(
                find(&next, &incremental, &req.info()),
                find(&next, &whole, &req.info())
            );
        }
    }

    #[test]
    fn same_request_same_table_same_answer(t in table_strategy(), req in request_strategy()) {
        let router = Router::new(&t);
        let first = find(&t, &router, &req.info());
        prop_assert_eq!(find(&t, &router, &req.info()), first);
        let copy = t.clone();
        prop_assert_eq!(find(&copy, &Router::new(&copy), &req.info()), first);
    }

    #[test]
    fn adding_a_non_matching_route_keeps_the_answer(
        t in table_strategy(),
        req in request_strategy(),
        extra in route_strategy(),
        how in 0..3usize,
        at in any::<prop::sample::Index>(),
    ) {
        let before = named(&t, find(&t, &Router::new(&t), &req.info()));
        let mut extra = extra;
        extra.name = "extra".into();
        // Each way rules the route out for every generated request.
        match how {
            0 => extra.hosts = vec![HostMatch::parse("never.invalid")],
            1 => extra.methods = vec!["NEVER".into()],
            _ => extra.paths = vec![PathMatch::Exact("/never".into())],
        }
        let mut routes: Vec<Route> = t.routes.iter().map(|r| (**r).clone()).collect();
        routes.insert(at.index(routes.len() + 1), extra);
        let grown = table(routes);
        let after = named(&grown, find(&grown, &Router::new(&grown), &req.info()));
        prop_assert_eq!(after, before);
    }
}
