//! Kong's `oauth2` plugin through the real proxy over HTTPS on loopback:
//! every grant, the error rows of the reference with their exact bodies and
//! headers, and verification of proxied requests.
//!
//! - `oauth2/token.rs`: `/oauth2/token` (grants, client authentication, errors, HTTPS);
//! - `oauth2/client_auth.rs`: HTTP Basic as RFC 6749 clients encode it, and Go's x/oauth2;
//! - `oauth2/authorize.rs`: `/oauth2/authorize`, codes, PKCE, implicit;
//! - `oauth2/multipart.rs`: `multipart/form-data` bodies at the endpoints and on proxied requests;
//! - `oauth2/binary.rs`: the kingress binary with a kong.yml, Go's client, multipart, anonymous;
//! - `oauth2/verify.rs`: proxied requests, binding, expiry, headers.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

#[path = "oauth2/authorize.rs"]
mod authorize;
#[path = "oauth2/binary.rs"]
mod binary;
#[path = "oauth2/client_auth.rs"]
mod client_auth;
#[path = "oauth2/multipart.rs"]
mod multipart;
#[path = "oauth2/token.rs"]
mod token;
#[path = "oauth2/verify.rs"]
mod verify;
