use super::{HeaderMatch, ObjectRef, PluginInstance};
use std::fmt;

/// One route: what requests it matches, where they go and which plugins run.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// Kong-style name, `<ns>.<ingress>.<svc>.<host>.<port>` for Ingresses.
    pub name: String,
    /// The object this route was built from.
    pub source: ObjectRef,
    /// Host matches; empty means any host.
    pub hosts: Vec<HostMatch>,
    /// Path matches; never empty (translate uses `Plain("/")` for "any").
    pub paths: Vec<PathMatch>,
    /// Allowed methods, upper-case; empty means any.
    pub methods: Vec<String>,
    /// Headers the request must carry (all of them); empty means none.
    pub headers: Vec<HeaderMatch>,
    /// TLS server names (lower-case) an HTTPS request must have used; empty
    /// means any. Plain HTTP requests are not held to it (Kong's rule).
    pub snis: Vec<String>,
    /// Allowed protocols (`http`, `https`); empty means both.
    pub protocols: Vec<String>,
    /// Status used to redirect plain HTTP when `protocols` is https only.
    pub https_redirect_status_code: u16,
    /// Remove the matched path prefix before forwarding.
    pub strip_path: bool,
    /// How the service path and the request path are joined.
    pub path_handling: PathHandling,
    /// Send the client's `Host` upstream instead of the target's.
    pub preserve_host: bool,
    /// Kong `regex_priority`: higher regex routes are tried first.
    pub regex_priority: i64,
    /// Key into `Table::services`; `None` for a route without a service.
    pub service: Option<String>,
    /// Plugins to run, already merged (route, service, global) and ordered.
    pub plugins: Vec<PluginInstance>,
    /// Instances scoped to a consumer or consumer group together with this
    /// route or its service; the pipeline picks among them once a plugin
    /// has authenticated the consumer. Usually empty.
    pub scoped: Vec<PluginInstance>,
    /// When set the route fails closed: it answers 503 with this message.
    /// Used when a plugin reference cannot be honoured.
    pub fault: Option<String>,
}

/// Kong's `path_handling`: how the upstream path is built from the service
/// path and what remains of the request path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PathHandling {
    /// Kong's default: slashes between the two parts are added or merged so
    /// exactly one remains.
    #[default]
    V0,
    /// Plain concatenation (only a doubled slash at the seam is merged).
    V1,
}

/// A host condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostMatch {
    /// The whole host, lower-case.
    Exact(String),
    /// `*.example.com`: stored as `.example.com`; matches one or more labels.
    WildcardPrefix(String),
    /// `example.*`: stored as `example.`.
    WildcardSuffix(String),
}

/// A path condition.
#[derive(Clone, Debug, PartialEq)]
pub enum PathMatch {
    /// Kong plain prefix (`ImplementationSpecific`): a string prefix.
    Plain(String),
    /// `pathType: Prefix`: element-wise, `/foo` matches `/foo` and `/foo/…`
    /// but not `/foobar`.
    Prefix(String),
    /// `pathType: Exact`.
    Exact(String),
    /// A regular expression anchored at the start of the path.
    Regex(PathRegex),
}

/// A compiled path regex that compares and prints by its source text.
/// Shared behind an `Arc`: cloning a `regex::Regex` allocates a new cache
/// pool, which dominated translating many routes with the same pattern.
#[derive(Clone)]
pub struct PathRegex(std::sync::Arc<regex::Regex>);

// === impl PathHandling ===

impl PathHandling {
    /// Kong's spelling, `v0` or `v1`.
    pub fn as_str(self) -> &'static str {
        match self {
            PathHandling::V0 => "v0",
            PathHandling::V1 => "v1",
        }
    }
}

// === impl HostMatch ===

impl HostMatch {
    /// Parses a Kong host pattern (`a.example`, `*.example`, `example.*`).
    pub fn parse(host: &str) -> Self {
        let host = host.to_ascii_lowercase();
        if let Some(rest) = host.strip_prefix('*') {
            HostMatch::WildcardPrefix(rest.to_string())
        } else if let Some(rest) = host.strip_suffix('*') {
            HostMatch::WildcardSuffix(rest.to_string())
        } else {
            HostMatch::Exact(host)
        }
    }

    /// Whether `host` (lower-case, without port) satisfies this condition.
    pub fn matches(&self, host: &str) -> bool {
        match self {
            HostMatch::Exact(h) => h == host,
            HostMatch::WildcardPrefix(suffix) => {
                host.len() > suffix.len() && host.ends_with(suffix.as_str())
            }
            HostMatch::WildcardSuffix(prefix) => {
                host.len() > prefix.len() && host.starts_with(prefix.as_str())
            }
        }
    }
}

impl fmt::Display for HostMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostMatch::Exact(h) => f.write_str(h),
            HostMatch::WildcardPrefix(s) => write!(f, "*{s}"),
            HostMatch::WildcardSuffix(p) => write!(f, "{p}*"),
        }
    }
}

// === impl PathRegex ===

impl PathRegex {
    /// Compiles `pattern`, anchoring it at the start of the path as Kong does.
    pub fn new(pattern: &str) -> Result<Self, regex::Error> {
        let anchored = if pattern.starts_with('^') {
            pattern.to_string()
        } else {
            format!("^{pattern}")
        };
        regex::Regex::new(&anchored).map(|r| Self(std::sync::Arc::new(r)))
    }

    /// The compiled expression.
    pub fn regex(&self) -> &regex::Regex {
        &self.0
    }

    /// The source text (anchored).
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl PartialEq for PathRegex {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Debug for PathRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PathRegex({:?})", self.as_str())
    }
}

impl fmt::Display for PathMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathMatch::Plain(p) => f.write_str(p),
            PathMatch::Prefix(p) => write!(f, "{p} (prefix)"),
            PathMatch::Exact(p) => write!(f, "{p} (exact)"),
            PathMatch::Regex(r) => write!(f, "~{}", r.as_str().trim_start_matches('^')),
        }
    }
}
