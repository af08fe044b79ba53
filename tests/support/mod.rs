//! Helpers shared by the integration tests. Each test binary uses a subset,
//! hence `dead_code` is allowed here.
//!
//! - [`upstream`]: a real hyper upstream that echoes requests as JSON, streams,
//!   delays, answers any status, echoes WebSocket messages, and a broken one;
//! - [`client`]: reqwest clients (HTTP/1.1, HTTP/2, TLS without
//!   verification) and a raw TLS probe that returns the served certificate;
//! - [`proxy`]: starts the proxy, status and admin listeners on `127.0.0.1:0`
//!   around a hand-built table, plus small table builders;
//! - [`otlp`]: a loopback OTLP/HTTP receiver decoding protobuf exports;
//! - [`grpc`]: a tonic gRPC server (h2c or TLS) and client of `test.Echo`;
//! - [`raw`]: raw TCP requests and close timing, for what a client library
//!   would refuse or fix.
//!
//! Other test helpers may live beside these as `tests/support/<name>.rs`
//! with one `pub mod <name>;` line here.
#![allow(dead_code)]

pub mod auth;
pub mod browser;
pub mod client;
pub mod grpc;
pub mod idp;
pub mod jwt;
pub mod log_receiver;
pub mod oauth2;
pub mod otlp;
pub mod pki;
pub mod proxy;
pub mod raw;
pub mod redis_server;
pub mod redis_topology;
pub mod standalone;
pub mod upstream;
