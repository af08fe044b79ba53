use super::{ObjectRef, Sensitive};

/// An upstream: where matched requests are forwarded.
#[derive(Clone, Debug, PartialEq)]
pub struct Service {
    /// Kong-style name, `<ns>.<svc>.<port>` for Kubernetes Services.
    pub name: String,
    /// The object this service was built from.
    pub source: ObjectRef,
    /// Protocol spoken to the upstream.
    pub scheme: Scheme,
    /// Path prepended upstream (`konghq.com/path`); `None` means `/`.
    pub path: Option<String>,
    /// `Host` sent upstream when the route does not preserve the client's
    /// (`konghq.com/host-header`).
    pub host_header: Option<String>,
    /// Endpoints, tried round-robin; empty means 503.
    pub targets: Vec<Target>,
    /// Connect timeout in milliseconds (Kong default 60000).
    pub connect_timeout_ms: u64,
    /// Timeout for the upstream's response headers in milliseconds.
    pub read_timeout_ms: u64,
    /// Longest wait, in milliseconds, for the upstream to take more of the
    /// request body (Kong's `write_timeout`).
    pub write_timeout_ms: u64,
    /// Retries on connect failure, bounded by the number of targets.
    pub retries: u32,
}

/// The protocol spoken to an upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

/// One endpoint of a service: an IP (EndpointSlice) or a DNS name
/// (ExternalName Service).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    /// IP address or host name.
    pub host: String,
    /// Port.
    pub port: u16,
}

/// A TLS certificate and key for the SNI names in `hosts`.
#[derive(Clone, Debug, PartialEq)]
pub struct Certificate {
    /// The Secret it came from.
    pub source: ObjectRef,
    /// SNI names (exact or `*.` wildcard), lower-case.
    pub hosts: Vec<String>,
    /// PEM certificate chain.
    pub cert_pem: String,
    /// PEM private key.
    pub key_pem: Sensitive,
}

// === impl Service ===

impl Service {
    /// A service with Kong's defaults (http, 60 s timeouts, 5 retries).
    pub fn new(name: impl Into<String>, source: ObjectRef) -> Self {
        Self {
            name: name.into(),
            source,
            scheme: Scheme::Http,
            path: None,
            host_header: None,
            targets: Vec::new(),
            connect_timeout_ms: 60_000,
            read_timeout_ms: 60_000,
            write_timeout_ms: 60_000,
            retries: 5,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}
