//! Who may use the Admin API, checked before any handler runs.
//!
//! ```text
//!  request ─▶ token (when --admin-token is set; every request, reads too) ─▶ 401
//!          ─▶ write? (any method but GET and HEAD)
//!               ─▶ Host names this listener (or localhost, or an allowed name) ─▶ 403
//!               ─▶ Origin / Sec-Fetch-Site say same origin (when present)      ─▶ 403
//! ```
//!
//! The Host rule stops DNS rebinding: a page on `evil.test` whose name
//! later resolves to 127.0.0.1 reaches the listener from the operator's
//! browser, but the browser still sends `Host: evil.test`. The Origin rule
//! stops cross-site requests from that browser (a form POST is a CORS
//! "simple request": sent without a preflight). Tools such as curl send no
//! `Origin`, so they are not affected. Kong's open-source Admin API has
//! neither check (Kong documents binding it to loopback instead); the
//! token is Kong Enterprise's RBAC header, `Kong-Admin-Token`.

mod refusal;
#[cfg(test)]
mod tests;

pub use refusal::Refusal;

use crate::model::Sensitive;
use http::header::{CONTENT_TYPE, HOST, ORIGIN};
use http::uri::Authority;
use http::{HeaderMap, Method, Request};
use sha2::{Digest, Sha256};
use std::net::{IpAddr, SocketAddr};
use subtle::ConstantTimeEq;

/// Kong Enterprise's RBAC header, carried by every request when a token is
/// set.
pub const TOKEN_HEADER: &str = "kong-admin-token";

/// The Admin API's access rules.
pub struct Guard {
    listen: SocketAddr,
    /// Extra host names (lower case), each with or without a port.
    allowed_hosts: Vec<Allowed>,
    /// SHA-256 of the token: comparing digests in constant time hides the
    /// token's length as well as its bytes, and the plaintext is not kept.
    token: Option<[u8; 32]>,
}

/// One `--admin-allowed-hosts` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Allowed {
    host: String,
    port: Option<u16>,
}

// === impl Guard ===

impl Guard {
    /// The rules of a listener bound to `listen`: writes only for Host names
    /// of this listener or loopback, no token.
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            allowed_hosts: Vec::new(),
            token: None,
        }
    }

    /// Also accepts writes whose Host is one of `hosts` (`name` for any port,
    /// `name:port` for that port only). Entries that do not parse as an
    /// authority are returned as the error.
    pub fn allow_hosts(mut self, hosts: &[String]) -> Result<Self, String> {
        for entry in hosts {
            let authority: Authority = entry
                .trim()
                .parse()
                .map_err(|_| format!("'{entry}' is not a host name or host:port"))?;
            self.allowed_hosts.push(Allowed {
                host: normal_host(authority.host()),
                port: authority.port_u16(),
            });
        }
        Ok(self)
    }

    /// Requires `Kong-Admin-Token: <token>` on every request.
    pub fn require_token(mut self, token: &Sensitive) -> Self {
        self.token = Some(Sha256::digest(token.expose().as_bytes()).into());
        self
    }

    /// Whether `request` may go on to a handler; the refusal says why not.
    pub fn check<B>(&self, request: &Request<B>) -> Result<(), Refusal> {
        let headers = request.headers();
        if let Some(expected) = &self.token {
            let presented = headers
                .get(TOKEN_HEADER)
                .map(|v| Sha256::digest(v.as_bytes()));
            let ok = presented.is_some_and(|p| bool::from(p[..].ct_eq(&expected[..])));
            if !ok {
                return Err(Refusal::Token);
            }
        }
        if request.method() == Method::GET || request.method() == Method::HEAD {
            return Ok(());
        }
        let authority = self.authority(request)?;
        self.same_origin(headers, &authority)
    }

    /// The authority the client addressed, if it names this listener.
    fn authority<B>(&self, request: &Request<B>) -> Result<Authority, Refusal> {
        let mut hosts = request.headers().get_all(HOST).iter();
        let host = hosts.next();
        if hosts.next().is_some() {
            return Err(Refusal::Host("several Host headers".into()));
        }
        let host = host
            .map(|v| {
                v.to_str()
                    .ok()
                    .and_then(|s| s.parse::<Authority>().ok())
                    .ok_or_else(|| Refusal::Host(printable(v.as_bytes())))
            })
            .transpose()?;
        // Absolute-form (HTTP/1.1) or `:authority` (HTTP/2) names the
        // target too; when both are present they must agree.
        let authority = match (request.uri().authority(), host) {
            (Some(uri), Some(host)) if !same_authority(uri, &host) => {
                return Err(Refusal::Host(format!("{uri} (Host {host})")));
            }
            (Some(uri), _) => uri.clone(),
            (None, Some(host)) => host,
            (None, None) => return Err(Refusal::Host("no Host header".into())),
        };
        if self.names_this_listener(&authority) {
            Ok(authority)
        } else {
            Err(Refusal::Host(authority.to_string()))
        }
    }

    fn names_this_listener(&self, authority: &Authority) -> bool {
        let host = normal_host(authority.host());
        if host == "localhost" {
            return true;
        }
        if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse() {
            let ip: IpAddr = ip;
            // An IP literal is never a rebinding (that needs a name the
            // attacker resolves); a listener on 0.0.0.0 has no single
            // address to compare with, so any literal is accepted there.
            return ip.is_loopback() || ip == self.listen.ip() || self.listen.ip().is_unspecified();
        }
        self.allowed_hosts
            .iter()
            .any(|a| a.host == host && a.port.is_none_or(|p| Some(p) == authority.port_u16()))
    }

    /// Browsers say where a request comes from: `Origin` (sent with every
    /// POST, PUT, PATCH and DELETE by current browsers) and
    /// `Sec-Fetch-Site`. Either one naming another site refuses the write;
    /// neither present (curl, scripts) is fine.
    fn same_origin(&self, headers: &HeaderMap, authority: &Authority) -> Result<(), Refusal> {
        let form = is_simple_content_type(headers);
        let cross = |origin: String| {
            if form {
                Refusal::CrossSiteForm(origin)
            } else {
                Refusal::CrossOrigin(origin)
            }
        };
        if let Some(site) = headers.get("sec-fetch-site").map(|v| v.as_bytes())
            && !site.eq_ignore_ascii_case(b"same-origin")
            && !site.eq_ignore_ascii_case(b"none")
        {
            return Err(cross(format!("Sec-Fetch-Site: {}", printable(site))));
        }
        let Some(origin) = headers.get(ORIGIN) else {
            return Ok(());
        };
        let same = origin
            .to_str()
            .ok()
            .and_then(|o| o.strip_prefix("http://"))
            .and_then(|rest| rest.parse::<Authority>().ok())
            .is_some_and(|o| same_authority(&o, authority));
        if same {
            Ok(())
        } else {
            Err(cross(printable(origin.as_bytes())))
        }
    }
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("listen", &self.listen)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("token", &self.token.map(|_| "[redacted]"))
            .finish()
    }
}

/// Host names compare without case and without a trailing dot.
fn normal_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// Same host and port, an absent port being HTTP's 80 (the Admin API
/// listener speaks plain HTTP).
fn same_authority(a: &Authority, b: &Authority) -> bool {
    normal_host(a.host()) == normal_host(b.host())
        && a.port_u16().unwrap_or(80) == b.port_u16().unwrap_or(80)
}

/// Content types a browser sends cross-site without asking first (the
/// CORS "simple request" types), and a missing one.
fn is_simple_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return true;
    };
    let essence = value
        .as_bytes()
        .split(|b| *b == b';')
        .next()
        .unwrap_or_default();
    let essence = essence.trim_ascii();
    [
        b"application/x-www-form-urlencoded".as_slice(),
        b"multipart/form-data",
        b"text/plain",
    ]
    .iter()
    .any(|t| essence.eq_ignore_ascii_case(t))
}

/// A client-sent value for a log line: at most 100 characters, escaped.
fn printable(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(100)]);
    text.escape_debug().to_string()
}
