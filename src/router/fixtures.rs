//! Small builders for router tests: `route("r").host("a.example").prefix("/api")`.

use super::{RouteMatch, Router, find};
use crate::model::{HostMatch, ObjectRef, PathMatch, PathRegex, Route, Shared, Table};

/// A route named `name` with no conditions at all (set them with the
/// builder methods).
pub(crate) fn route(name: &str) -> Route {
    Route {
        name: name.to_string(),
        source: ObjectRef::new("Ingress", "default", name),
        hosts: Vec::new(),
        paths: Vec::new(),
        methods: Vec::new(),
        protocols: Vec::new(),
        https_redirect_status_code: 426,
        strip_path: false,
        preserve_host: true,
        regex_priority: 0,
        service: None,
        plugins: Vec::new(),
        scoped: Vec::new(),
        fault: None,
    }
}

/// Chainable setters for test routes.
pub(crate) trait RouteFixture: Sized {
    fn with(self, f: impl FnOnce(&mut Route)) -> Self;

    fn host(self, pattern: &str) -> Self {
        self.with(|r| r.hosts.push(HostMatch::parse(pattern)))
    }
    fn plain(self, path: &str) -> Self {
        self.with(|r| r.paths.push(PathMatch::Plain(path.into())))
    }
    fn prefix(self, path: &str) -> Self {
        self.with(|r| r.paths.push(PathMatch::Prefix(path.into())))
    }
    fn exact(self, path: &str) -> Self {
        self.with(|r| r.paths.push(PathMatch::Exact(path.into())))
    }
    fn regex(self, pattern: &str) -> Self {
        let re = PathRegex::new(pattern).expect("test regex compiles");
        self.with(|r| r.paths.push(PathMatch::Regex(re)))
    }
    fn methods(self, methods: &[&str]) -> Self {
        self.with(|r| r.methods = methods.iter().map(|m| m.to_string()).collect())
    }
    fn protocols(self, protocols: &[&str]) -> Self {
        self.with(|r| r.protocols = protocols.iter().map(|p| p.to_string()).collect())
    }
    fn priority(self, regex_priority: i64) -> Self {
        self.with(|r| r.regex_priority = regex_priority)
    }
}

impl RouteFixture for Route {
    fn with(mut self, f: impl FnOnce(&mut Route)) -> Self {
        f(&mut self);
        self
    }
}

/// A table holding `routes` in this order.
pub(crate) fn table(routes: Vec<Route>) -> Table {
    Table {
        routes: routes.into_iter().map(Shared::new).collect(),
        ..Table::default()
    }
}

/// A request as the proxy would describe it.
#[derive(Clone, Debug)]
pub(crate) struct Req {
    pub(crate) method: String,
    pub(crate) host: String,
    pub(crate) path: String,
    pub(crate) https: bool,
}

/// `GET http://{host}{path}`.
pub(crate) fn get(host: &str, path: &str) -> Req {
    Req {
        method: "GET".into(),
        host: host.into(),
        path: path.into(),
        https: false,
    }
}

impl Req {
    pub(crate) fn method(mut self, method: &str) -> Self {
        self.method = method.into();
        self
    }
    pub(crate) fn https(mut self) -> Self {
        self.https = true;
        self
    }
    pub(crate) fn info(&self) -> super::RequestInfo<'_> {
        super::RequestInfo {
            method: &self.method,
            host: &self.host,
            path: &self.path,
            https: self.https,
        }
    }
}

/// Builds the router and looks `req` up.
pub(crate) fn lookup(table: &Table, req: &Req) -> Option<RouteMatch> {
    find(table, &Router::new(table), &req.info())
}

/// Name of the winning route, for readable assertions.
pub(crate) fn winner(table: &Table, req: &Req) -> Option<String> {
    lookup(table, req).map(|m| table.routes[m.route].name.clone())
}
