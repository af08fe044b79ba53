//! Why the Admin API's guard turned a request away, and the answer it
//! gets: Kong's `{"message": …}` JSON. Each refusal is logged at WARN with
//! the client-sent values escaped; the token is never part of a refusal.

use crate::admin::reply;
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use serde_json::json;

/// Kong Enterprise RBAC's answer for a missing or wrong token.
const INVALID_CREDENTIALS: &str = "Invalid credentials. Token or User credentials required";

/// A request the guard does not let through.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// `Kong-Admin-Token` missing or wrong (401).
    #[error("missing or wrong Kong-Admin-Token")]
    Token,
    /// A write whose Host (or `:authority`) does not name this listener
    /// (403); holds what was sent.
    #[error("write with Host {0}, which does not name this listener")]
    Host(String),
    /// A write from another origin (403); holds the origin.
    #[error("cross-origin write from {0}")]
    CrossOrigin(String),
    /// A form or text write from another origin, which browsers send
    /// without a CORS preflight (403); holds the origin.
    #[error("cross-site form write from {0}")]
    CrossSiteForm(String),
}

// === impl Refusal ===

impl Refusal {
    /// The response, after logging why.
    pub fn respond(&self, method: &http::Method, path: &str) -> Response<Full<Bytes>> {
        let path = super::printable(path.as_bytes());
        tracing::warn!(%method, path = %path, reason = %self, "Admin API request refused");
        match self {
            Refusal::Token => reply::json(
                StatusCode::UNAUTHORIZED,
                &json!({ "message": INVALID_CREDENTIALS }),
            ),
            Refusal::Host(_) => forbidden(
                "Admin API writes must address this listener by its address or localhost \
                 (allow other names with --admin-allowed-hosts)",
            ),
            Refusal::CrossOrigin(_) | Refusal::CrossSiteForm(_) => {
                forbidden("Admin API writes from another origin are not allowed")
            }
        }
    }
}

fn forbidden(message: &str) -> Response<Full<Bytes>> {
    reply::json(StatusCode::FORBIDDEN, &json!({ "message": message }))
}
