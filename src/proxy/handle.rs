//! One request, start to finish: load the table once, find the route, run
//! the plugins' access phase, forward, run their response phase, and log.
//! Every failure leaves through `respond`.

use super::body::{client_body, response_body};
use super::forward::{Outgoing, Upstreams};
use super::headers::{self, Forwarded};
use super::logged::{PendingLog, log_plugins, pending_log};
use super::request_id::{loggable_id, request_id};
use super::respond::ProxyError;
use super::{affinity, authority};
use super::{grpc, inbound, rewrite, upgrade};
use crate::listen::ClientBody;
use crate::listen::fields::RawFields;
use crate::metrics::Metrics;
use crate::model::normalise::normalise;
use crate::model::{Route, Service};
use crate::plugins::pipeline::{self, Exit};
use crate::plugins::{self, BoxBody, Exchange, Runtime, empty_body};
use crate::publish::{Published, TableHandle};
use crate::router::{self, RequestInfo};
use http::header::{HOST, VIA};
use http::uri::PathAndQuery;
use http::{HeaderValue, Request, Response, StatusCode, Uri, Version};
use http_body_util::BodyExt;
use hyper::upgrade::OnUpgrade;
use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `Via` on proxied responses, like Kong's `1.1 kong/<version>`.
mod phases;

use phases::{answer, body_phase, local, response_phase};

const VIA_VALUE: &str = concat!("1.1 kingress/", env!("CARGO_PKG_VERSION"));

/// What every request of a proxy shares.
#[derive(Debug)]
pub(super) struct Shared {
    /// The routing table.
    pub table: TableHandle,
    /// Plugin state.
    pub runtime: Runtime,
    /// Metrics.
    pub metrics: Metrics,
    /// Pooled upstream clients.
    pub upstreams: Upstreams,
    /// `--underscores-in-headers`.
    pub underscores_in_headers: bool,
}

/// Facts about the client connection a request arrived on.
#[derive(Clone, Copy, Debug)]
pub(super) struct ConnInfo {
    /// The client.
    pub peer: SocketAddr,
    /// The listener address the client connected to.
    pub local: SocketAddr,
    /// Whether the connection is TLS.
    pub tls: bool,
    /// nginx's `$connection`: the connection's serial number, from 1.
    pub serial: u64,
    /// This request's number on its connection, from 1.
    pub requests: u64,
}

/// The TLS server name of the connection a request arrived on (lower-case,
/// empty when the client sent none), kept in the request's extensions:
/// only TLS connections have one.
#[derive(Clone, Debug)]
pub(super) struct ServerName(pub std::sync::Arc<str>);

/// What the access log reports besides method, path and status.
#[derive(Default)]
struct Outcome<'t> {
    /// Borrowed from the table generation the request used.
    route: Option<&'t str>,
    /// The route's service, from the same generation.
    service: Option<&'t Service>,
    /// Index in `service.targets` of the upstream last tried.
    upstream: Option<usize>,
    /// Filled in only when the access log is on.
    consumer: Option<String>,
    /// Filled in only when the access log is on.
    request_id: Option<String>,
    /// Filled in only when a plugin that ran has a log phase.
    log: Option<PendingLog>,
    /// The request is a gRPC call: the proxy's own answers are gRPC-shaped.
    grpc: bool,
    /// The access log writes this request's line: asked once, at its start
    /// (the filter check costs a few hundred instructions each time).
    logged: bool,
}

/// Serves one request; never fails (errors become responses).
pub(super) async fn handle(
    shared: Arc<Shared>,
    mut request: Request<ClientBody>,
    conn: ConnInfo,
) -> Response<BoxBody> {
    let started = Instant::now();
    inbound::screen(request.headers_mut(), shared.underscores_in_headers);
    let method = request.method().clone();
    // A cheap clone (shared bytes) for the access log: the path as the
    // client sent it. The query string may carry an access_token; it is
    // never logged.
    let uri = request.uri().clone();
    // One generation for routing, plugins and the upstream pick.
    let published = shared.table.load();
    let logged = access_log_on();
    let mut outcome = Outcome {
        logged,
        request_id: logged.then(|| request_id(request.headers())),
        grpc: grpc::is_call(request.headers(), request.version()),
        ..Outcome::default()
    };
    let response = proxy(&shared, &published, request, conn, &mut outcome)
        .await
        .unwrap_or_else(|error| answer(error, outcome.grpc));
    let response = match outcome.log.take() {
        Some(pending) => pending.attach(response, shared.clone(), started),
        None => response,
    };
    record(
        &shared.metrics,
        method.as_str(),
        uri.path(),
        response.status(),
        &outcome,
        started.elapsed(),
    );
    response
}

async fn proxy<'t>(
    shared: &Shared,
    published: &'t Published,
    request: Request<ClientBody>,
    conn: ConnInfo,
    outcome: &mut Outcome<'t>,
) -> Result<Response<BoxBody>, ProxyError> {
    let table = &published.table;
    let (mut parts, body) = request.into_parts();
    // Served by the own HTTP/1.1 loop, which can write an upstream's
    // fields as the bytes they came in.
    let own_loop = body.is_none();
    let trusted = shared.runtime.trusted_ips.contains(conn.peer.ip());
    let authority = authority::client_authority(&parts)
        .map_err(bad_request)?
        .map(str::to_string);
    let host = authority
        .as_deref()
        .map(authority::host_only)
        .unwrap_or_default();
    // Routing, plugins, `X-Forwarded-Path` and the upstream all read the
    // canonical path: what matched is what the upstream serves.
    canonical_uri(&mut parts.uri)?;
    let https = conn.tls
        || (trusted
            && headers::get(&parts.headers, "x-forwarded-proto")
                .is_some_and(|p| p.eq_ignore_ascii_case("https")));
    let info = RequestInfo {
        method: parts.method.as_str(),
        host: &host,
        path: parts.uri.path(),
        https,
        sni: parts.extensions.get::<ServerName>().map(|s| &*s.0),
        headers: &parts.headers,
    };
    let found = router::find(table, &published.router, &info).ok_or(ProxyError::NoRoute)?;
    let shared_route = table.routes.get(found.route).ok_or(ProxyError::NoRoute)?;
    let route: &Route = shared_route;
    outcome.route = Some(&route.name);
    if let Some(message) = &route.fault {
        return Err(ProxyError::Fault(message.clone()));
    }
    if found.https_required {
        return Err(https_required(route, &host, &parts.uri));
    }
    grpc::check_route(route, &parts.headers, parts.version, https)?;
    let service = route
        .service
        .as_deref()
        .and_then(|name| table.services.get(name));
    outcome.service = service;
    let routed_uri = parts.uri.clone();
    let request = Request::from_parts(parts, client_body(body));
    let mut exchange = Exchange::new(request, conn.peer, conn.tls, table, route, service);
    // Only a trusted peer's header is read; the others are their own client.
    if trusted {
        exchange.forwarded_ip = shared.runtime.real_ip.resolve(
            conn.peer.ip(),
            &shared.runtime.trusted_ips,
            exchange.headers(),
        );
    }
    exchange.matched_path = found.path;
    exchange.connection = plugins::Connection {
        local: Some(conn.local),
        serial: conn.serial,
        requests: conn.requests,
    };
    let (ran, access) = pipeline::access(route, &mut exchange, &shared.runtime, https).await;
    let logging = log_plugins(&ran, route, access.is_err(), https);
    outcome.log = pending_log(&logging, &exchange, shared_route, conn, &host);
    if outcome.logged {
        // The correlation-id plugin's id, when it ran, is the log's id.
        // (A client-sent one only when short and printable, as below.)
        if let Some(id) = exchange.request_id.take().as_ref().and_then(loggable_id) {
            outcome.request_id = Some(id.to_owned());
        }
        outcome.consumer = exchange.authenticated.as_ref().map(|a| {
            let consumer = &a.consumer;
            consumer
                .username
                .clone()
                .unwrap_or_else(|| consumer.id.clone())
        });
    }
    if let Err(exit) = access {
        let error = match exit {
            Exit::Respond(local) => ProxyError::Local(local),
            Exit::Refuse(e) => ProxyError::Plugin(e),
        };
        return Ok(local(
            &ran,
            &mut exchange,
            &shared.runtime,
            error,
            outcome.grpc,
        ));
    }
    let Some(service) = service else {
        return Ok(local(
            &ran,
            &mut exchange,
            &shared.runtime,
            ProxyError::NoService,
            outcome.grpc,
        ));
    };
    let balancer = published.balancers.get(&service.name);
    let affinity = affinity::of(balancer.and_then(|b| b.balance()), &exchange);

    let (mut parts, body) =
        std::mem::replace(&mut exchange.request, Request::new(empty_body())).into_parts();
    let client_upgrade = if parts.version == Version::HTTP_11 && headers::is_upgrade(&parts.headers)
    {
        parts.extensions.remove::<OnUpgrade>()
    } else {
        None
    };
    let mut upstream_headers = std::mem::take(&mut parts.headers);
    // Room for the forwarding fields and the plugins' fields set below in
    // one step: the map hyper parsed is sized to the client's fields, and
    // grew up to three times (and again for an authenticated consumer's).
    upstream_headers.reserve(headers::FORWARDING_FIELDS + exchange.upstream_headers.len());
    headers::remove_hop_by_hop(&mut upstream_headers, client_upgrade.is_some());
    if parts.version == Version::HTTP_2 {
        headers::join_cookies(&mut upstream_headers);
    }
    let forwarded = Forwarded {
        peer: conn.peer.ip(),
        client: exchange.forwarded_ip,
        trusted,
        proto: if conn.tls { "https" } else { "http" },
        host: &host,
        port: conn.local.port(),
        path: routed_uri.path(),
    };
    headers::set_forwarded(&mut upstream_headers, &forwarded);
    inbound::apply_plugin_headers(
        &mut upstream_headers,
        &exchange.upstream_remove,
        std::mem::take(&mut exchange.upstream_headers),
        shared.underscores_in_headers,
    );
    upstream_headers.remove(HOST);
    let preserved = authority
        .as_deref()
        .filter(|_| route.preserve_host)
        .and_then(|a| HeaderValue::from_str(a).ok());
    let host_header = exchange.upstream_host.take().or(preserved).or_else(|| {
        service
            .host_header
            .as_deref()
            .and_then(|h| HeaderValue::from_str(h).ok())
    });
    // gRPC method names are paths: Kong's `grpc_pass` sends the client's
    // path whatever the route strips, unless grpc-web asks otherwise.
    let client_path = service.scheme.is_grpc() && !exchange.pass_stripped_path;
    let path = exchange.upstream_path.take().unwrap_or_else(|| {
        if client_path {
            return parts.uri.path().to_string();
        }
        rewrite::upstream_path(
            parts.uri.path(),
            found.strip_len,
            route.strip_path,
            service.path.as_deref(),
            route.path_handling,
        )
    });
    let deadline = grpc::deadline(&upstream_headers);
    let outgoing = Outgoing {
        affinity,
        deadline,
        method: parts.method.clone(),
        path_and_query: rewrite::with_query(path, &parts.uri),
        headers: upstream_headers,
        host: host_header,
        body,
        // Nothing reads or changes the answer's fields on its way: no
        // plugin that ran has a response or body phase or asked for a
        // response field, none logs, and the client's connection writes it.
        raw_response: own_loop
            && outcome.log.is_none()
            && exchange.response_headers.is_empty()
            && !ran.iter().any(|p| plugins::shapes_answer(p)),
    };
    if let Some(log) = &mut outcome.log {
        log.upstream_uri = Some(outgoing.path_and_query.clone());
    }

    let sent_at = Instant::now();
    let sent = shared
        .upstreams
        .send(service, balancer, outgoing, &mut outcome.upstream)
        .await;
    if let Some(log) = &mut outcome.log {
        // Kong's `latencies.proxy` exists only when the upstream answered;
        // a failed connect is Kong's own answer (`source` kong).
        log.upstream_latency = sent.is_ok().then(|| sent_at.elapsed());
        log.upstream_target = outcome
            .upstream
            .and_then(|i| service.targets.get(i))
            .map(ToString::to_string);
    }
    // A failed exchange still goes through the plugins' header and body
    // phases, as Kong's error pages do (CORS and correlation-id headers on a
    // 502).
    let mut response = match sent {
        Ok(response) => response,
        Err(error) => {
            return Ok(local(
                &ran,
                &mut exchange,
                &shared.runtime,
                error,
                outcome.grpc,
            ));
        }
    };
    let switched = response.status() == StatusCode::SWITCHING_PROTOCOLS;
    if switched {
        let Some(client) = client_upgrade else {
            return Err(ProxyError::BadGateway(
                "upstream switched protocols without an upgrade request".into(),
            ));
        };
        upgrade::tunnel(client, hyper::upgrade::on(&mut response));
    }
    let (mut parts, body) = response.into_parts();
    headers::remove_hop_by_hop(&mut parts.headers, switched);
    response_phase(&ran, &mut exchange, &mut parts.headers);
    parts
        .headers
        .append(VIA, HeaderValue::from_static(VIA_VALUE));
    let body = if switched {
        body.boxed()
    } else {
        let length = match parts.extensions.get::<RawFields>() {
            Some(raw) => raw.content_length,
            None => headers::content_length(&parts.headers),
        };
        let mut body = response_body(body, length).await;
        if service.scheme.is_grpc() && grpc::is_response(&parts.headers) {
            let deadline = deadline.map(|d| tokio::time::Instant::from_std(sent_at) + d);
            body = grpc::Guarded::new(body, deadline).boxed();
        }
        body_phase(&ran, &exchange, &shared.runtime, &mut parts, body)
    };
    Ok(Response::from_parts(parts, body))
}

/// Replaces the path of `uri` by its canonical spelling (the query stays
/// as sent); allocates only when the path was not canonical.
fn canonical_uri(uri: &mut Uri) -> Result<(), ProxyError> {
    let path = match normalise(uri.path()).map_err(bad_request)? {
        Cow::Borrowed(_) => return Ok(()),
        Cow::Owned(path) => path,
    };
    let mut parts = std::mem::take(uri).into_parts();
    let target = match parts.path_and_query.as_ref().and_then(PathAndQuery::query) {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    parts.path_and_query = Some(PathAndQuery::try_from(target).map_err(bad_request)?);
    *uri = Uri::from_parts(parts).map_err(bad_request)?;
    Ok(())
}

/// A client error; the detail is logged, never sent back.
fn bad_request(detail: impl std::fmt::Display) -> ProxyError {
    ProxyError::BadRequest(detail.to_string())
}

fn https_required(route: &Route, host: &str, uri: &Uri) -> ProxyError {
    match StatusCode::from_u16(route.https_redirect_status_code) {
        Ok(
            status @ (StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT),
        ) => ProxyError::HttpsRequired {
            status,
            location: rewrite::https_location(host, uri),
        },
        _ => ProxyError::HttpsRequired {
            status: StatusCode::UPGRADE_REQUIRED,
            location: None,
        },
    }
}

/// The target a request went to, or `-`, as the access log writes it
/// (without building a string first).
struct Tried<'a>(Option<&'a crate::model::Target>);

impl std::fmt::Display for Tried<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(target) => target.fmt(f),
            None => f.write_str("-"),
        }
    }
}

/// Whether the access log writes lines (`kingress::access` at INFO): the
/// consumer's name is copied out of the exchange only then.
fn access_log_on() -> bool {
    tracing::enabled!(target: "kingress::access", tracing::Level::INFO)
}

/// Metrics and the access log line. Never a token: no query string, and
/// of the headers only the client's request id (see [`request_id`]).
fn record(
    metrics: &Metrics,
    method: &str,
    path: &str,
    status: StatusCode,
    outcome: &Outcome<'_>,
    latency: Duration,
) {
    let route = outcome.route.unwrap_or("none");
    metrics.requests.inc(route, status.as_u16());
    metrics.request_duration.observe(latency.as_secs_f64());
    metrics.kong.requests_seen.inc();
    if !outcome.logged {
        return;
    }
    let service = outcome.service;
    let upstream = service
        .zip(outcome.upstream)
        .and_then(|(s, i)| s.targets.get(i));
    tracing::info!(
        target: "kingress::access",
        method,
        path,
        status = status.as_u16(),
        route,
        service = service.map_or("-", |s| s.name.as_str()),
        consumer = outcome.consumer.as_deref().unwrap_or("-"),
        upstream = %Tried(upstream),
        request_id = outcome.request_id.as_deref().unwrap_or("-"),
        latency_ms = (latency.as_secs_f64() * 1e6).round() / 1e3,
    );
}
