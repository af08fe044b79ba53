//! The ordered match summary: how good one (host, path) pair of a route is
//! for a request. The router returns the match with the greatest summary;
//! the field order here *is* the precedence documented in `router.rs`.

use crate::model::{HostMatch, PathMatch, Route};
use std::cmp::Reverse;

/// How specific one way of matching a request is. Derived `Ord` compares the
/// fields top to bottom, so their order is the precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Summary {
    /// How many kinds of condition the route sets (hosts, paths, methods,
    /// headers, SNIs).
    pub(super) fields: u8,
    /// The host condition that matched.
    pub(super) host: HostRank,
    /// The path condition that matched.
    pub(super) path: PathRank,
    /// How many header conditions the route sets.
    pub(super) headers: usize,
    /// Declaration order: (route index, path index within the route); the
    /// `Reverse` makes the earlier one the greater.
    pub(super) order: Reverse<(usize, usize)>,
}

/// Host specificity, least specific first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum HostRank {
    /// The route has no host condition.
    Any,
    /// A wildcard pattern; a longer one is more specific, and at equal length
    /// `*.example` (leading) beats `example.*` only to keep the order total.
    Wildcard { len: usize, leading: bool },
    /// The host equals the request's.
    Exact,
}

/// Path specificity, least specific first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum PathRank {
    /// `Plain` or `Prefix`: the longer wins; `len` of a `Prefix` counts its
    /// trailing `/` (`/foo` counts as `/foo/`, as KIC measures it), and at
    /// equal length the element-wise `Prefix` beats the plain string prefix
    /// because it matches fewer paths.
    Prefix { len: usize, element_wise: bool },
    /// A regex: higher `regex_priority` first, then the longer source.
    Regex { priority: i64, len: usize },
    /// `Exact`: only one path can satisfy it, so it beats every pattern.
    Exact,
}

// === impl Summary ===

impl Summary {
    /// The summary of matching `route` (at `index` in the table) through
    /// `host` (`None` when the route has no hosts) and its path at `pos`
    /// (`None` when it has no paths).
    pub(super) fn new(
        index: usize,
        route: &Route,
        host: Option<&HostMatch>,
        pos: Option<usize>,
    ) -> Self {
        let path = match pos.and_then(|p| route.paths.get(p)) {
            Some(p) => PathRank::of(p, route.regex_priority),
            // No path condition: below every real path, even `Plain("")`.
            None => PathRank::Prefix {
                len: 0,
                element_wise: false,
            },
        };
        Self {
            fields: fields(route),
            host: host.map_or(HostRank::Any, HostRank::of),
            path,
            headers: route.headers.len(),
            order: Reverse((index, pos.unwrap_or(0))),
        }
    }

    /// Index of the route in `Table::routes`.
    pub(super) fn route(&self) -> usize {
        self.order.0.0
    }

    /// Index of the matched path within the route.
    pub(super) fn path_pos(&self) -> usize {
        self.order.0.1
    }

    /// The part the router's host buckets share: every summary in one
    /// bucket has the same tier, so buckets can be skipped by tier alone.
    pub(super) fn tier(&self) -> (u8, HostRank) {
        (self.fields, self.host)
    }
}

/// Kong's "category" weight: the number of condition kinds a route sets
/// (hosts, paths, methods, headers, SNIs).
/// Both Kong routers rank this first (traditional: categories by number of
/// match rules; expressions: KIC's priority bits 41 and up), so a route with
/// hosts and methods beats one with hosts only, which beats one with methods
/// only.
pub(super) fn fields(route: &Route) -> u8 {
    u8::from(!route.hosts.is_empty())
        + u8::from(!route.paths.is_empty())
        + u8::from(!route.methods.is_empty())
        + u8::from(!route.headers.is_empty())
        + u8::from(!route.snis.is_empty())
}

/// A `Prefix` path without its trailing slashes: `/foo/` and `/foo` are the
/// same Kubernetes prefix, and `/` becomes the empty base.
pub(super) fn prefix_base(prefix: &str) -> &str {
    prefix.trim_end_matches('/')
}

/// The source text of a regex without the anchor the model adds.
pub(super) fn regex_source(regex: &crate::model::PathRegex) -> &str {
    regex.as_str().strip_prefix('^').unwrap_or(regex.as_str())
}

// === impl HostRank ===

impl HostRank {
    fn of(host: &HostMatch) -> Self {
        match host {
            HostMatch::Exact(_) => HostRank::Exact,
            HostMatch::WildcardPrefix(suffix) => HostRank::Wildcard {
                len: suffix.len(),
                leading: true,
            },
            HostMatch::WildcardSuffix(prefix) => HostRank::Wildcard {
                len: prefix.len(),
                leading: false,
            },
        }
    }
}

// === impl PathRank ===

impl PathRank {
    fn of(path: &PathMatch, regex_priority: i64) -> Self {
        match path {
            PathMatch::Exact(_) => PathRank::Exact,
            PathMatch::Regex(re) => PathRank::Regex {
                priority: regex_priority,
                len: regex_source(re).len(),
            },
            PathMatch::Prefix(p) => PathRank::Prefix {
                len: prefix_base(p).len() + 1,
                element_wise: true,
            },
            PathMatch::Plain(p) => PathRank::Prefix {
                len: p.len(),
                element_wise: false,
            },
        }
    }
}
