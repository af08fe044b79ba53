//! Route matching (being filled in by the router work; this is the API).
use crate::model::Table;

/// Index over a table's routes, built once per published table.
#[derive(Debug, Default)]
pub struct Router {}

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
}

/// The answer of [`find`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteMatch {
    /// Index into `Table::routes`.
    pub route: usize,
    /// Length in bytes of the path prefix that matched (what `strip_path`
    /// removes); 0 for regex and exact matches that strip nothing.
    pub strip_len: usize,
}

impl Router {
    /// Builds the index.
    pub fn new(_table: &Table) -> Self {
        Self {}
    }
}

/// Finds the route for a request.
pub fn find(table: &Table, _router: &Router, req: &RequestInfo<'_>) -> Option<RouteMatch> {
    table.routes.iter().enumerate().find_map(|(i, r)| {
        let host_ok = r.hosts.is_empty() || r.hosts.iter().any(|h| h.matches(req.host));
        let path = r.paths.iter().find_map(|p| match p {
            crate::model::PathMatch::Plain(p) if req.path.starts_with(p.as_str()) => Some(p.len()),
            _ => None,
        });
        match (host_ok, path) {
            (true, Some(len)) => Some(RouteMatch {
                route: i,
                strip_len: len,
            }),
            _ => None,
        }
    })
}
