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
        headers: Vec::new(),
        snis: Vec::new(),
        protocols: Vec::new(),
        https_redirect_status_code: 426,
        strip_path: false,
        path_handling: Default::default(),
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
    fn header(self, name: &str, values: &[&str]) -> Self {
        let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        let m = crate::model::HeaderMatch::new(name, &values).expect("test header regex");
        self.with(|r| r.headers.push(m))
    }
    fn snis(self, snis: &[&str]) -> Self {
        self.with(|r| r.snis = snis.iter().map(|s| s.to_string()).collect())
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
    pub(crate) sni: Option<String>,
    pub(crate) headers: http::HeaderMap,
}

/// `GET http://{host}{path}`.
pub(crate) fn get(host: &str, path: &str) -> Req {
    Req {
        method: "GET".into(),
        host: host.into(),
        path: path.into(),
        https: false,
        sni: None,
        headers: http::HeaderMap::new(),
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
    /// Over TLS with server name `sni` (empty: none sent).
    pub(crate) fn tls(mut self, sni: &str) -> Self {
        self.https = true;
        self.sni = Some(sni.into());
        self
    }
    pub(crate) fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers
            .append(name, http::HeaderValue::from_static(value));
        self
    }
    pub(crate) fn info(&self) -> super::RequestInfo<'_> {
        super::RequestInfo {
            method: &self.method,
            host: &self.host,
            path: &self.path,
            https: self.https,
            sni: self.sni.as_deref(),
            headers: &self.headers,
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
