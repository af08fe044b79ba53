use super::{Balance, ObjectRef, Sensitive};
use std::sync::Arc;

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
    /// TLS towards the upstream (`https`, `grpcs`): verification and
    /// client certificate. Shared so the proxy builds one TLS client per
    /// distinct setting and finds it by address.
    pub tls: Arc<UpstreamTls>,
    /// Algorithm and health checks (a KongUpstreamPolicy, or a kong.yml
    /// upstream); `None` is Kong's default: round-robin without health
    /// checks.
    pub balance: Option<Arc<Balance>>,
    /// The kong.yml upstream whose targets and balance these are (the
    /// service's `host` names it); `None`: the service's own upstream,
    /// named after the service, as KIC names them.
    pub upstream: Option<String>,
}

/// How kingress speaks TLS to an upstream: Kong's service fields
/// `tls_verify`, `tls_verify_depth`, `ca_certificates` and
/// `client_certificate`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpstreamTls {
    /// Verify the upstream's certificate (Kong's default: off).
    pub verify: bool,
    /// At most this many intermediate certificates between the upstream's
    /// certificate and a trusted one; `None` means no limit.
    pub verify_depth: Option<u8>,
    /// PEM CA bundles to trust when verifying; empty means the system's
    /// trust store (as Kong's `lua_ssl_trusted_certificate = system`).
    pub ca_certificates: Vec<String>,
    /// A certificate presented to the upstream (mutual TLS).
    pub client_certificate: Option<ClientCertificate>,
}

/// A client certificate for mutual TLS to an upstream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCertificate {
    /// The Secret it came from.
    pub source: ObjectRef,
    /// PEM certificate chain.
    pub cert_pem: String,
    /// PEM private key.
    pub key_pem: Sensitive,
}

/// The protocol spoken to an upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP/1.1.
    Http,
    /// HTTP over TLS (HTTP/1.1).
    Https,
    /// gRPC: HTTP/2 over plain TCP with prior knowledge (h2c).
    Grpc,
    /// gRPC over TLS: HTTP/2 negotiated with ALPN `h2`.
    Grpcs,
}

/// One endpoint of a service: an IP (EndpointSlice) or a DNS name
/// (ExternalName Service).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    /// IP address or host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Share of the traffic relative to the other targets (Kong's target
    /// `weight`, 0..=65535); 0 gets none. Endpoints of a Kubernetes
    /// Service all carry [`DEFAULT_WEIGHT`], as KIC sets them.
    pub weight: u32,
}

/// Kong's default target weight.
pub const DEFAULT_WEIGHT: u32 = 100;

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
            tls: Arc::default(),
            balance: None,
            upstream: None,
        }
    }

    /// The name of the upstream the Admin API shows for this service.
    pub fn upstream_name(&self) -> &str {
        self.upstream.as_deref().unwrap_or(&self.name)
    }
}

// === impl Scheme ===

impl Scheme {
    /// Kong's name of the protocol (`protocol` of a service).
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
            Scheme::Grpc => "grpc",
            Scheme::Grpcs => "grpcs",
        }
    }

    /// Kong's name back to the scheme; `None` for protocols kingress does
    /// not proxy to (stream ones).
    pub fn parse(protocol: &str) -> Option<Self> {
        match protocol {
            "http" => Some(Scheme::Http),
            "https" => Some(Scheme::Https),
            "grpc" => Some(Scheme::Grpc),
            "grpcs" => Some(Scheme::Grpcs),
            _ => None,
        }
    }

    /// Whether the upstream connection is TLS.
    pub fn is_tls(self) -> bool {
        matches!(self, Scheme::Https | Scheme::Grpcs)
    }

    /// Whether the upstream speaks gRPC (HTTP/2 only).
    pub fn is_grpc(self) -> bool {
        matches!(self, Scheme::Grpc | Scheme::Grpcs)
    }

    /// The port a URL of this scheme implies (80 without TLS, 443 with).
    pub fn default_port(self) -> u16 {
        if self.is_tls() { 443 } else { 80 }
    }
}

// === impl Target ===

impl Target {
    /// A target of [`DEFAULT_WEIGHT`].
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            weight: DEFAULT_WEIGHT,
        }
    }

    /// Whether `other` is the same address (whatever the weights).
    pub fn same_address(&self, other: &Target) -> bool {
        self.host == other.host && self.port == other.port
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
