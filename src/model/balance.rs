//! How a service spreads requests over its targets and when a target is
//! healthy: a Kong upstream's `algorithm`, `hash_on*`, `slots` and
//! `healthchecks` (from a KongUpstreamPolicy). Plain data with Kong's
//! defaults; the proxy's balancer reads it.

/// A service's load-balancing and health-check settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Balance {
    /// Where it came from: `namespace/name` of the KongUpstreamPolicy, or
    /// the kong.yml upstream's name.
    pub policy: String,
    /// Kong's `algorithm`.
    pub algorithm: Algorithm,
    /// Kong's `hash_on` (consistent-hashing only).
    pub hash_on: HashOn,
    /// Kong's `hash_fallback`, used when `hash_on` gives no value.
    pub hash_fallback: HashOn,
    /// Size of the consistent-hashing ring (Kong's `slots`, 10..=65536).
    pub slots: u32,
    /// Active and passive health checks.
    pub healthchecks: Healthchecks,
}

/// Kong's load-balancing algorithms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Algorithm {
    /// Each target in turn.
    #[default]
    RoundRobin,
    /// The target with the fewest requests in flight.
    LeastConnections,
    /// A ring of `slots` keyed by a hash of the request (`hash_on`).
    ConsistentHashing,
    /// The target with the lowest moving average of response time.
    Latency,
}

/// What consistent hashing hashes (Kong's `hash_on` values).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum HashOn {
    /// Nothing: consistent hashing without a key falls back to round-robin.
    #[default]
    None,
    /// The client address.
    Ip,
    /// The authenticated consumer (its id; the credential's when none).
    Consumer,
    /// The normalised request path.
    Path,
    /// A request header (the values joined when repeated).
    Header(String),
    /// A cookie; generated (a UUID) and set with `path` when absent.
    Cookie {
        /// Cookie name.
        name: String,
        /// `Path` of the generated cookie (Kong's `hash_on_cookie_path`).
        path: String,
    },
    /// A query argument.
    QueryArg(String),
    /// A named capture of the route's regex path.
    UriCapture(String),
}

/// Kong's `healthchecks`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Healthchecks {
    /// Probes sent by the proxy.
    pub active: ActiveCheck,
    /// Verdicts drawn from proxied traffic.
    pub passive: PassiveCheck,
    /// Kong's `threshold`: the percentage of healthy targets under which
    /// the whole upstream counts as unhealthy (0 = never).
    pub threshold: u8,
}

/// How a probe talks to a target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProbeKind {
    /// `GET path` over HTTP/1.1.
    #[default]
    Http,
    /// `GET path` over TLS.
    Https,
    /// A TCP connection only.
    Tcp,
}

/// Kong's `healthchecks.active`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveCheck {
    /// Protocol of the probe.
    pub kind: ProbeKind,
    /// Path probed (`http_path`, default `/`).
    pub path: String,
    /// Probe timeout in milliseconds (Kong: 1 s).
    pub timeout_ms: u64,
    /// Targets probed at once (Kong: 10).
    pub concurrency: usize,
    /// Headers added to the probe.
    pub headers: Vec<(String, String)>,
    /// SNI of HTTPS probes; the target's host when unset.
    pub https_sni: Option<String>,
    /// Whether HTTPS probes verify the certificate (Kong: true).
    pub verify_certificate: bool,
    /// Probe interval and thresholds for healthy targets.
    pub healthy: Thresholds,
    /// Probe interval and thresholds for unhealthy targets.
    pub unhealthy: Thresholds,
}

/// Kong's `healthchecks.passive`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PassiveCheck {
    /// Whether HTTP statuses count (`http`/`https`) or only TCP (`tcp`).
    pub kind: ProbeKind,
    /// What counts as a success, and how many make a target healthy.
    pub healthy: Thresholds,
    /// What counts as a failure, and how many make a target unhealthy.
    pub unhealthy: Thresholds,
}

/// One side (`healthy` or `unhealthy`) of a health check. A counter of 0
/// is off, as in Kong.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Thresholds {
    /// Probe interval in milliseconds (active checks; 0 = no probes).
    pub interval_ms: u64,
    /// Statuses that count (as a success on `healthy`, a failure on
    /// `unhealthy`).
    pub statuses: Vec<u16>,
    /// Successes in a row that make a target healthy.
    pub successes: u32,
    /// HTTP failures in a row that make a target unhealthy.
    pub http_failures: u32,
    /// TCP failures in a row that make a target unhealthy.
    pub tcp_failures: u32,
    /// Timeouts in a row that make a target unhealthy.
    pub timeouts: u32,
}

/// Kong's default `slots`.
pub const DEFAULT_SLOTS: u32 = 10_000;

// === impl Balance ===

impl Balance {
    /// Kong's defaults: round-robin, no hashing, no health checks.
    pub fn new(policy: impl Into<String>) -> Self {
        Self {
            policy: policy.into(),
            algorithm: Algorithm::RoundRobin,
            hash_on: HashOn::None,
            hash_fallback: HashOn::None,
            slots: DEFAULT_SLOTS,
            healthchecks: Healthchecks::default(),
        }
    }
}

// === impl Algorithm ===

impl Algorithm {
    /// Kong's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RoundRobin => "round-robin",
            Algorithm::LeastConnections => "least-connections",
            Algorithm::ConsistentHashing => "consistent-hashing",
            Algorithm::Latency => "latency",
        }
    }

    /// Kong's name back to the algorithm.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Algorithm::RoundRobin,
            Algorithm::LeastConnections,
            Algorithm::ConsistentHashing,
            Algorithm::Latency,
        ]
        .into_iter()
        .find(|a| a.as_str() == name)
    }
}

// === impl Healthchecks ===

impl Healthchecks {
    /// Whether probes run (Kong: either interval above 0).
    pub fn active_on(&self) -> bool {
        self.active.healthy.interval_ms > 0 || self.active.unhealthy.interval_ms > 0
    }

    /// Whether proxied traffic can mark a target unhealthy (Kong: any
    /// unhealthy counter above 0).
    pub fn passive_on(&self) -> bool {
        let u = &self.passive.unhealthy;
        u.http_failures > 0 || u.tcp_failures > 0 || u.timeouts > 0
    }
}

impl Default for ActiveCheck {
    fn default() -> Self {
        Self {
            kind: ProbeKind::Http,
            path: "/".to_string(),
            timeout_ms: 1_000,
            concurrency: 10,
            headers: Vec::new(),
            https_sni: None,
            verify_certificate: true,
            healthy: Thresholds {
                statuses: vec![200, 302],
                ..Thresholds::default()
            },
            unhealthy: Thresholds {
                statuses: vec![429, 404, 500, 501, 502, 503, 504, 505],
                ..Thresholds::default()
            },
        }
    }
}

impl Default for PassiveCheck {
    fn default() -> Self {
        Self {
            kind: ProbeKind::Http,
            healthy: Thresholds {
                statuses: vec![
                    200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305,
                    306, 307, 308,
                ],
                ..Thresholds::default()
            },
            unhealthy: Thresholds {
                statuses: vec![429, 500, 503],
                ..Thresholds::default()
            },
        }
    }
}
