//! gRPC through the proxy over real loopback sockets: a tonic server
//! behind kingress (h2c for `grpc` services, h2 over TLS for `grpcs`) and a
//! tonic client in front of it (h2c on the plain listener, h2 on the TLS
//! one).
//!
//! - `grpc/calls.rs`: unary, server-, client- and bidirectional streaming,
//!   trailers, a 4 MiB message, multiplexing, an upstream restarting;
//! - `grpc/errors.rs`: Kong's gRPC route checks and gRPC-shaped answers,
//!   deadlines (`grpc-timeout`);
//! - `grpc/auth.rs`: oauth2 bearer tokens on gRPC calls.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

#[path = "grpc/auth.rs"]
mod auth;
#[path = "grpc/calls.rs"]
mod calls;
#[path = "grpc/errors.rs"]
mod errors;

use kingress::model::{Route, Scheme, Service, Table};
use std::net::SocketAddr;
use support::proxy::{route, service, table};

/// A `grpc` (or `grpcs`) service named `svc` to `targets`.
pub fn grpc_service(targets: &[SocketAddr], scheme: Scheme) -> Service {
    let mut svc = service("svc", targets);
    svc.scheme = scheme;
    svc
}

/// A route on `/` for `protocols` (empty: Kong's default, http and https).
pub fn grpc_route(protocols: &[&str]) -> Route {
    let mut r = route("r", &["/"], "svc");
    r.protocols = protocols.iter().map(|p| p.to_string()).collect();
    r
}

/// One route (`protocols`) to one gRPC service.
pub fn grpc_table(targets: &[SocketAddr], scheme: Scheme, protocols: &[&str]) -> Table {
    table(
        vec![grpc_route(protocols)],
        vec![grpc_service(targets, scheme)],
    )
}
