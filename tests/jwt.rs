//! Kong's `jwt` plugin through the real proxy on loopback, case by case
//! after Kong's `spec/03-plugins/16-jwt/03-access_spec.lua` (each test
//! names the Kong case it mirrors).
//!
//! - `jwt/refusals.rs`: Kong's "refusals" (missing, bad and unknown tokens,
//!   algorithm mismatch, alg confusion, multiple tokens, preflight);
//! - `jwt/locations.rs`: tokens in the query, cookies and custom headers;
//! - `jwt/algorithms.rs`: every algorithm verifying, consumer headers;
//! - `jwt/claims.rs`: `exp`, `nbf`, `maximum_expiration`;
//! - `jwt/anonymous.rs`: `anonymous` by id and username, a missing one;
//! - `jwt/binary.rs`: the binary with a kong.yml (the bench's shape) and the Admin API;
//! - `jwt/multiple.rs`: with oauth2 on the same route, logical AND and OR.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

#[path = "jwt/algorithms.rs"]
mod algorithms;
#[path = "jwt/anonymous.rs"]
mod anonymous;
#[path = "jwt/binary.rs"]
mod binary;
#[path = "jwt/claims.rs"]
mod claims;
#[path = "jwt/locations.rs"]
mod locations;
#[path = "jwt/multiple.rs"]
mod multiple;
#[path = "jwt/refusals.rs"]
mod refusals;
