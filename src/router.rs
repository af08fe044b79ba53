//! Route matching: the pure function [`find`] from a request's method, host,
//! path and scheme to the one route of a [`Table`] that serves it, with
//! Kong's precedence.
//!
//! # What must hold for a route to match
//!
//! - **Host**: one of `hosts` matches ([`HostMatch::matches`]), or `hosts` is
//!   empty.
//! - **Path**: one of `paths` matches, or `paths` is empty. `Exact` is
//!   equality. `Prefix` is element-wise: `/foo` (or `/foo/`) matches `/foo`,
//!   `/foo/` and `/foo/bar`, not `/foobar`; `/` matches every path. `Plain`
//!   is a string prefix (`/foo` matches `/foobar`). `Regex` must match at the
//!   start of the path.
//! - **Method**: `methods` contains the request's method, or is empty.
//! - **Headers**: every [`HeaderMatch`] of `headers` matches
//!   ([`HeaderMatch::matches`]); a route without them ignores headers.
//! - **SNI**: on a TLS connection, the client's server name is one of
//!   `snis`, or `snis` is empty; plain connections are not held to `snis`
//!   (Kong's rule).
//!
//! `protocols` never rules a route out. A route that allows `https` but not
//! `http` still matches a plain-HTTP request, flagged with
//! [`RouteMatch::https_required`], so the proxy can answer as Kong does (426,
//! or a redirect with `https_redirect_status_code`).
//!
//! # Which route wins
//!
//! Each way a route matches (one of its hosts with one of its paths) has a
//! summary; the greatest summary wins. Summaries compare field by field:
//!
//! 1. **Number of condition kinds** the route sets, out of hosts, paths,
//!    methods, headers and SNIs. Both of Kong's routers rank this first (the traditional
//!    router's categories; KIC's expression priority bits 41 and up): hosts
//!    with methods beat hosts alone, which beat methods alone, which beat
//!    neither.
//! 2. **Host**: an exact host beats a wildcard, which beats no host. Among
//!    wildcards the longer pattern wins (`*.api.example` over `*.example`),
//!    then `*.x` over `x.*`.
//! 3. **Path kind**: `Exact` beats any regex, which beats any prefix
//!    (Kong evaluates regex paths before prefix paths).
//!    - regexes: higher `regex_priority` first, then the longer source text;
//!    - prefixes (`Prefix` and `Plain`): the longer first, where a `Prefix`
//!      counts its trailing slash (`/foo` is as long as `/foo/`, KIC's
//!      measure), and at equal length `Prefix` beats `Plain`.
//! 4. **Number of header conditions**: more wins (Kong's traditional
//!    router sorts on it after the path).
//! 5. **Declaration order**: the earlier route in `Table::routes`, then the
//!    earlier path within the route.
//!
//! Where this departs from Kong on purpose: an `Exact` path beats every
//! regex whatever its `regex_priority` (KIC emits `Exact` as a regex, so in
//! Kong a higher-priority regex can win); `regex_priority` orders regexes
//! only; and host and path specificity are taken from the host and path
//! that matched rather than from the route's most specific ones.
//!
//! # Speed
//!
//! [`Router::new`] indexes the table once per publish: routes are bucketed by
//! exact host, by wildcard suffix or prefix, or as host-less; within a bucket
//! by number of condition kinds; and within that, exact paths and prefixes
//! sit in hash maps and regexes in a list in precedence order. A lookup
//! touches only the buckets its host selects and skips a bucket that cannot
//! beat the best hit so far. Inside a bucket it probes the prefix map only
//! at key lengths where the path's byte could end a key, and finds the
//! regexes worth running the same way, by the literal text every match of
//! each must start with.
//!
//! [`HostMatch::matches`]: crate::model::HostMatch::matches
//! [`HeaderMatch`]: crate::model::HeaderMatch
//! [`HeaderMatch::matches`]: crate::model::HeaderMatch::matches

mod hash;
mod index;
mod literal;
mod paths;
mod probe;
mod regexes;
mod summary;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod normalised_proptests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use crate::model::{Route, Table};
use std::fmt;

/// Index over a table's routes, built once per published table and kept next
/// to it (`publish::Published`).
pub struct Router {
    index: index::Index,
}

/// The parts of a request the router looks at.
#[derive(Clone, Copy, Debug)]
pub struct RequestInfo<'a> {
    /// Method, upper-case.
    pub method: &'a str,
    /// Host without port, lower-case; empty when the request has none.
    pub host: &'a str,
    /// Path without query string.
    pub path: &'a str,
    /// Whether the client connected over TLS.
    pub https: bool,
    /// On a TLS connection, the server name the client sent (lower-case;
    /// empty when it sent none); `None` on a plain connection.
    pub sni: Option<&'a str>,
    /// The request's headers, for routes with header conditions.
    pub headers: &'a http::HeaderMap,
}

/// The answer of [`find`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteMatch {
    /// Index into `Table::routes`.
    pub route: usize,
    /// Bytes at the start of the path that `strip_path` removes: the matched
    /// prefix (a `Prefix` path's base without its trailing `/`, a `Plain`
    /// path's text), the regex match, or the whole path for `Exact`. What
    /// remains may be empty or lack a leading `/`; Kong forwards it as `/` +
    /// the remainder in that case.
    pub strip_len: usize,
    /// Index of the matched path in `Route::paths` (0 for a route without
    /// paths), where a plugin finds a regex path's captures.
    pub path: usize,
    /// The route allows `https` but not `http` and the request came over
    /// plain HTTP: the proxy must answer 426 or redirect instead of
    /// forwarding.
    pub https_required: bool,
}

// === impl Router ===

impl Router {
    /// Builds the index for `table`. [`find`] must be given this same table.
    pub fn new(table: &Table) -> Self {
        Self {
            index: index::Index::build(&table.routes),
        }
    }

    /// The index for `table` when `last` is the index of `before`: what no
    /// changed route touches is shared with `last` (an edit among tens of
    /// thousands of Ingresses rebuilds a few hosts' buckets), else a whole
    /// build. [`find`] must be given `table`.
    pub fn next(table: &Table, before: &Table, last: &Router) -> Self {
        let index = index::Index::next(&table.routes, &before.routes, &last.index);
        Self {
            index: index.unwrap_or_else(|| index::Index::build(&table.routes)),
        }
    }
}

impl Default for Router {
    fn default() -> Self {
        Self::new(&Table::default())
    }
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The whole index would repeat the table; its shape is what helps.
        let (exact_hosts, wildcard_hosts, entries) = self.index.stats();
        f.debug_struct("Router")
            .field("exact_hosts", &exact_hosts)
            .field("wildcard_hosts", &wildcard_hosts)
            .field("entries", &entries)
            .finish()
    }
}

/// Finds the route for a request: the match with the greatest summary (see
/// the module docs), or `None` when no route matches. `router` must have been
/// built from `table`; with another table the answer is meaningless (but
/// never a panic).
pub fn find(table: &Table, router: &Router, req: &RequestInfo<'_>) -> Option<RouteMatch> {
    let hit = router.index.find(&table.routes, req)?;
    let route = table.routes.get(hit.summary.route())?;
    Some(RouteMatch {
        route: hit.summary.route(),
        strip_len: hit.strip_len,
        path: hit.summary.path_pos(),
        https_required: !req.https && https_only(route),
    })
}

/// Kong's test for redirecting: `https` allowed and `http` not.
fn https_only(route: &Route) -> bool {
    let allows = |p: &str| route.protocols.iter().any(|q| q.eq_ignore_ascii_case(p));
    allows("https") && !allows("http")
}
