use crate::model::{Consumer, Route, Service, Table};
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Request};
use http_body_util::{BodyExt, Full};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

use super::PluginError;

mod header_list;
pub use header_list::{HeaderList, SetHeader};

/// Error type of request and response bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body type the proxy and plugins pass around. `Sync` so that a plugin
/// may hold `&Exchange` across an `.await` and its future stays `Send` (the
/// proxy runs it on hyper's multi-threaded server).
pub type BoxBody = http_body_util::combinators::BoxBody<Bytes, BoxError>;

/// One request on its way through the plugins: the client's request (which
/// plugins may edit), who sent it, the route it matched and what the plugins
/// decided so far.
pub struct Exchange<'t> {
    /// The client's request. Plugins may remove headers or rewrite the query.
    pub request: Request<BoxBody>,
    /// The TCP peer.
    pub client_addr: SocketAddr,
    /// The client's address as Kong's `ngx.var.remote_addr` has it: the
    /// peer, or what a trusted peer forwarded (`super::RealIp`). The proxy
    /// resolves it once; plugins read it rather than the headers.
    pub forwarded_ip: IpAddr,
    /// Whether the client connected over TLS.
    pub tls: bool,
    /// The table generation this request uses throughout.
    pub table: &'t Table,
    /// The matched route.
    pub route: &'t Route,
    /// The route's service, if any.
    pub service: Option<&'t Service>,
    /// Set by an authentication plugin.
    pub authenticated: Option<Authenticated>,
    /// Groups an identity provider vouched for (Kong's
    /// `kong.ctx.shared.authenticated_groups`, set by openid-connect's
    /// `authenticated_groups_claim`); acl checks them instead of the
    /// consumer's when there is no consumer, no credential, or
    /// `always_use_authenticated_groups`.
    pub authenticated_groups: Option<Vec<String>>,
    /// Headers the proxy sets on the upstream request after the plugins ran.
    /// The proxy applies `upstream_remove` first, then these.
    pub upstream_headers: HeaderList,
    /// Headers to remove from the upstream request (client copies).
    pub upstream_remove: Vec<HeaderName>,
    /// Headers the proxy adds to the response the client gets, whether the
    /// upstream's or a local one (a refusal included), before the plugins'
    /// response phase runs.
    pub response_headers: HeaderList,
    /// What a plugin keeps for its later phases of this request, the log
    /// phase included (Kong's `kong.ctx.plugin`), keyed by a type of its own.
    pub context: http::Extensions,
    /// Index of the route path that matched, in `route.paths` (a regex
    /// path's captures are read again from it only when a plugin asks).
    pub matched_path: usize,
    /// The whole upstream path, already escaped, replacing the one
    /// `strip_path` and the service path make (Kong's
    /// `kong.service.request.set_path`).
    pub upstream_path: Option<String>,
    /// Send a gRPC upstream the path `strip_path` made (grpc-web's
    /// `pass_stripped_path`); otherwise it gets the client's path, as
    /// nginx's `grpc_pass` under Kong does.
    pub pass_stripped_path: bool,
    /// The upstream `Host`, over `preserve_host` and the service's (Kong's
    /// `kong.service.request.set_header("host", …)`).
    pub upstream_host: Option<HeaderValue>,
    /// The request's correlation id, set by `correlation-id`; the access log
    /// reports it as `request_id` (a header value: cloning it is a
    /// reference count, and the log turns it into text only when it writes).
    pub request_id: Option<HeaderValue>,
    /// Facts about the client connection the request arrived on.
    pub connection: Connection,
    buffered: Option<Bytes>,
}

/// The client connection of a request, as nginx's `$server_addr`,
/// `$server_port`, `$connection` and `$connection_requests` describe it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Connection {
    /// The listener address the client connected to.
    pub local: Option<SocketAddr>,
    /// The connection's serial number in this process, from 1.
    pub serial: u64,
    /// This request's number on its connection, from 1.
    pub requests: u64,
}

/// Who a request was authenticated as.
#[derive(Clone, Debug, PartialEq)]
pub struct Authenticated {
    /// The consumer (or the anonymous consumer).
    pub consumer: std::sync::Arc<Consumer>,
    /// Credential identifier (`client_id` for oauth2), if any.
    pub credential: Option<String>,
    /// Whether this is the `anonymous` fallback.
    pub anonymous: bool,
}

/// CIDR ranges whose `X-Forwarded-*` and real-IP headers are trusted
/// (`--trusted-ips`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrustedIps(Vec<IpNet>);

// === impl Exchange ===

impl<'t> Exchange<'t> {
    /// Starts an exchange for a matched request.
    pub fn new(
        request: Request<BoxBody>,
        client_addr: SocketAddr,
        tls: bool,
        table: &'t Table,
        route: &'t Route,
        service: Option<&'t Service>,
    ) -> Self {
        Self {
            request,
            client_addr,
            forwarded_ip: client_addr.ip().to_canonical(),
            tls,
            table,
            route,
            service,
            authenticated: None,
            authenticated_groups: None,
            upstream_headers: HeaderList::new(),
            upstream_remove: Vec::new(),
            response_headers: HeaderList::new(),
            context: http::Extensions::new(),
            matched_path: 0,
            upstream_path: None,
            pass_stripped_path: false,
            upstream_host: None,
            request_id: None,
            connection: Connection::default(),
            buffered: None,
        }
    }

    /// Reads the whole request body (at most `limit` bytes) and keeps it so
    /// it is still forwarded upstream, now with a `Content-Length`. Later
    /// calls return the same bytes. The one body-reading rule of the plugins.
    pub async fn body(&mut self, limit: usize) -> Result<Bytes, PluginError> {
        if let Some(bytes) = &self.buffered {
            return Ok(bytes.clone());
        }
        let mut body = std::mem::replace(self.request.body_mut(), empty_body());
        // A plain frame loop: `Limited::collect`'s boxed-error conversion
        // makes rustc's higher-ranked `Send` check fail for every caller,
        // and the proxy needs plugin futures to be `Send`.
        let mut buf = BytesMut::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| PluginError::Body(e.to_string()))?;
            if let Ok(data) = frame.into_data() {
                if buf.len() + data.len() > limit {
                    return Err(PluginError::BodyTooLarge { limit });
                }
                buf.extend_from_slice(&data);
            }
        }
        // The body is now sent with a length; a chunked framing header would
        // contradict it.
        self.request
            .headers_mut()
            .remove(http::header::TRANSFER_ENCODING);
        let bytes = buf.freeze();
        self.set_body(bytes.clone());
        Ok(bytes)
    }

    /// Replaces the request body (e.g. after removing `access_token`).
    pub fn set_body(&mut self, bytes: Bytes) {
        if let Ok(len) = HeaderValue::from_str(&bytes.len().to_string()) {
            self.request
                .headers_mut()
                .insert(http::header::CONTENT_LENGTH, len);
        }
        *self.request.body_mut() = full_body(bytes.clone());
        self.buffered = Some(bytes);
    }

    /// Sets a header on the upstream request.
    pub fn set_upstream_header(&mut self, name: HeaderName, value: &str) {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.upstream_headers.insert(name, v);
        }
    }

    /// Removes a header from the upstream request (client copies included).
    pub fn clear_upstream_header(&mut self, name: HeaderName) {
        self.upstream_headers.remove(&name);
        self.upstream_remove.push(name);
    }

    /// Replaces the query string of the request (`None` or empty: none).
    pub fn set_query(&mut self, query: Option<&str>) {
        let uri = self.request.uri();
        let path_and_query = match query.filter(|q| !q.is_empty()) {
            Some(q) => format!("{}?{q}", uri.path()),
            None => uri.path().to_string(),
        };
        let mut parts = uri.clone().into_parts();
        if let Ok(pq) = path_and_query.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(new) = http::Uri::from_parts(parts) {
                *self.request.uri_mut() = new;
            }
        }
    }

    /// The client's headers.
    pub fn headers(&self) -> &HeaderMap {
        self.request.headers()
    }
}

/// An empty body.
pub fn empty_body() -> BoxBody {
    full_body(Bytes::new())
}

/// A body holding `bytes`.
pub fn full_body(bytes: Bytes) -> BoxBody {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

// === impl TrustedIps ===

impl TrustedIps {
    /// Parses a list of IPs or CIDRs (`10.0.0.0/8`, `127.0.0.1`).
    pub fn parse(items: &[String]) -> Result<Self, String> {
        items
            .iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("invalid trusted IP or CIDR '{s}'"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// Whether `ip` is trusted.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.0.iter().any(|net| net.contains(&ip))
    }
}
