//! Command line: parsed once into plain configuration before any port is
//! bound. Every flag also reads an environment variable `KINGRESS_<FLAG>`.
//! Bad input exits with status 64 (`EX_USAGE`) and a message.

use crate::listen::Limits;
use crate::model::Sensitive;
use crate::plugins::TrustedIps;
use crate::tokens::redis::connect::{RedisTarget, RedisTls};
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Exit status for bad command-line or configuration input (sysexits EX_USAGE).
pub const EXIT_USAGE: i32 = 64;

/// `kingress --version`: the package version and the git commit it was
/// built from ("unknown" when built without git, e.g. from a tarball).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("KINGRESS_GIT_COMMIT"),
    ")"
);

/// kingress: a Kubernetes ingress controller that speaks Kong.
#[derive(Debug, Parser)]
#[command(name = "kingress", version = VERSION, about)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Watch a Kubernetes cluster (in-cluster config or KUBECONFIG) and serve.
    Run(RunArgs),
    /// Serve manifests (and Kong declarative files) from a file or directory,
    /// reloading on change.
    Standalone(StandaloneArgs),
    /// Print the CustomResourceDefinitions as YAML.
    Crds,
    /// Load and translate manifests (and Kong declarative files) as
    /// `standalone` would, print every problem with its file and document,
    /// and exit 1 when there is any (0 when clean): for CI pipelines.
    Check(CheckArgs),
}

/// `kingress check`.
#[derive(Clone, Debug, Args)]
pub struct CheckArgs {
    /// The manifests to check, read as `standalone` reads them.
    #[command(flatten)]
    pub manifests: Manifests,
    /// Ingress class served, as for `standalone`.
    #[arg(long, env = "KINGRESS_INGRESS_CLASS", default_value = "kong")]
    pub ingress_class: String,
}

/// Where manifests are read from: shared by `standalone` and `check`.
#[derive(Clone, Debug, Args)]
pub struct Manifests {
    /// Manifest file or directory.
    #[arg(short = 'f', long = "filename", env = "KINGRESS_FILENAME")]
    pub path: PathBuf,
    /// Largest manifest file read, in bytes or with a unit (8MiB, 512KiB;
    /// default 8 MiB); a larger file fails the load with an error naming it.
    #[arg(
        long,
        env = "KINGRESS_MAX_MANIFEST_SIZE",
        default_value_t = crate::source::files::DEFAULT_MAX_SIZE,
        value_parser = parse_size
    )]
    pub max_manifest_size: u64,
}

/// Flags shared by both serving modes.
#[derive(Clone, Debug, Args)]
pub struct ServeArgs {
    /// Plain HTTP proxy listener.
    #[arg(long, env = "KINGRESS_PROXY_LISTEN", default_value = "0.0.0.0:8000")]
    pub proxy_listen: SocketAddr,
    /// HTTPS proxy listener (SNI from Ingress TLS, self-signed default).
    #[arg(
        long,
        env = "KINGRESS_PROXY_TLS_LISTEN",
        default_value = "0.0.0.0:8443"
    )]
    pub proxy_tls_listen: SocketAddr,
    /// Kong-style Admin API listener.
    #[arg(long, env = "KINGRESS_ADMIN_LISTEN", default_value = "127.0.0.1:8001")]
    pub admin_listen: SocketAddr,
    /// Status listener: /status, /healthz, /readyz, /metrics.
    #[arg(long, env = "KINGRESS_STATUS_LISTEN", default_value = "0.0.0.0:8100")]
    pub status_listen: SocketAddr,
    /// Log format.
    #[arg(long, env = "KINGRESS_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// Token store: `memory`, or Redis to share tokens between replicas:
    /// `redis[s]://[[user]:password@]host[:port][/db]`,
    /// `redis[s]+sentinel://[[user]:password@]host[:26379][,host…]/master[/db]`
    /// or `redis[s]+cluster://[[user]:password@]host[:port][,host…]`. A
    /// secret (it may hold a password): never printed.
    #[arg(
        long,
        env = "KINGRESS_TOKEN_STORE",
        default_value = "memory",
        hide_env_values = true,
        value_parser = parse_token_store
    )]
    pub token_store: Sensitive,
    /// PEM CA certificates a `rediss…` server's certificate must chain to.
    /// Unset: the system's roots. Verification is always on.
    #[arg(long, env = "KINGRESS_REDIS_CA_FILE")]
    pub redis_ca_file: Option<PathBuf>,
    /// PEM client certificate for Redis servers that ask for one
    /// (`tls-auth-clients yes`); with --redis-client-key-file.
    #[arg(
        long,
        env = "KINGRESS_REDIS_CLIENT_CERT_FILE",
        requires = "redis_client_key_file"
    )]
    pub redis_client_cert_file: Option<PathBuf>,
    /// PEM private key of --redis-client-cert-file.
    #[arg(
        long,
        env = "KINGRESS_REDIS_CLIENT_KEY_FILE",
        requires = "redis_client_cert_file"
    )]
    pub redis_client_key_file: Option<PathBuf>,
    /// IPs or CIDRs whose X-Forwarded-* and real-IP headers are trusted
    /// (comma-separated or repeated).
    #[arg(long, env = "KINGRESS_TRUSTED_IPS", value_delimiter = ',')]
    pub trusted_ips: Vec<String>,
    /// Header a --trusted-ips peer puts the client address in (Kong's
    /// `real_ip_header`), e.g. X-Forwarded-For.
    #[arg(long, env = "KINGRESS_REAL_IP_HEADER", default_value = "X-Real-IP")]
    pub real_ip_header: String,
    /// Walk the real-IP header from the right past every --trusted-ips
    /// address (Kong's `real_ip_recursive`); off: only the last one.
    #[arg(long, env = "KINGRESS_REAL_IP_RECURSIVE")]
    pub real_ip_recursive: bool,
    /// Ingress class served.
    #[arg(long, env = "KINGRESS_INGRESS_CLASS", default_value = "kong")]
    pub ingress_class: String,
    /// Quiet time after a change before re-translating (e.g. 10ms, 1s):
    /// long enough to coalesce the events of one save or `kubectl apply`,
    /// short next to the reload itself.
    #[arg(long, env = "KINGRESS_DEBOUNCE", default_value = "10ms", value_parser = parse_duration)]
    pub debounce: Duration,
    /// Longest a steady stream of changes postpones a reload, from its
    /// first change (e.g. 2s). Unset: max(500ms, 4 × --debounce).
    #[arg(long, env = "KINGRESS_DEBOUNCE_MAX", value_parser = parse_duration)]
    pub debounce_max: Option<Duration>,
    /// Token every Admin API request (reads too) must carry in the
    /// `Kong-Admin-Token` header, Kong Enterprise's RBAC header. Unset: no
    /// token is asked for.
    #[arg(
        long,
        env = "KINGRESS_ADMIN_TOKEN",
        hide_env_values = true,
        value_parser = parse_admin_token,
        conflicts_with = "admin_token_file"
    )]
    pub admin_token: Option<Sensitive>,
    /// File holding the Admin API token (a trailing newline is ignored),
    /// so the token stays out of the process's arguments and environment.
    #[arg(long, env = "KINGRESS_ADMIN_TOKEN_FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// Host names (`name` or `name:port`) under which Admin API writes are
    /// accepted besides the listener's address and localhost.
    #[arg(long, env = "KINGRESS_ADMIN_ALLOWED_HOSTS", value_delimiter = ',')]
    pub admin_allowed_hosts: Vec<String>,
    /// Most live tokens one oauth2 credential holds; issuing one more
    /// evicts its oldest, so one client cannot fill the token store.
    #[arg(
        long,
        env = "KINGRESS_MAX_TOKENS_PER_CREDENTIAL",
        default_value_t = crate::tokens::DEFAULT_MAX_PER_CREDENTIAL,
        value_parser = parse_positive
    )]
    pub max_tokens_per_credential: usize,
    /// Keys the Redis token store seals rows with: `<key id> <base64 of 32
    /// random bytes>` per line; the first seals, all open (rotation).
    /// Unset: the built-in key `k0` (rows sealed under their tokens only).
    #[arg(long, env = "KINGRESS_TOKEN_SEAL_KEYS_FILE")]
    pub token_seal_keys_file: Option<PathBuf>,
    /// Keep key-auth keys in memory only as HMAC-SHA256 digests under a
    /// per-process random key (lookups digest the presented key the same
    /// way); the Admin API then shows `[redacted]` for keys of manifests.
    #[arg(long, env = "KINGRESS_HASH_API_KEYS")]
    pub hash_api_keys: bool,
    /// Memory proxy-cache entries may take in all, in bytes or with a unit
    /// (default 128MiB, Kong's `mem_cache_size`); the least recently used
    /// entries are evicted first.
    #[arg(
        long,
        env = "KINGRESS_PROXY_CACHE_MEMORY",
        default_value_t = crate::plugins::proxy_cache::DEFAULT_MEMORY,
        value_parser = parse_size
    )]
    pub proxy_cache_memory: u64,
    /// Largest response body proxy-cache stores (default 4MiB); a larger
    /// one streams to the client uncached.
    #[arg(
        long,
        env = "KINGRESS_PROXY_CACHE_MAX_ENTRY",
        default_value_t = crate::plugins::proxy_cache::DEFAULT_MAX_ENTRY,
        value_parser = parse_size
    )]
    pub proxy_cache_max_entry: u64,
    /// Forward request headers whose names contain `_` (nginx's
    /// `underscores_in_headers on`). Off: they are dropped, as nginx and
    /// Kong do. Identity headers (X-Consumer-*, …) are dropped in every
    /// spelling either way.
    #[arg(long, env = "KINGRESS_UNDERSCORES_IN_HEADERS")]
    pub underscores_in_headers: bool,
    /// Close a client connection that sends nothing this long after it
    /// opened (after the TLS handshake on TLS listeners).
    #[arg(long, env = "KINGRESS_CLIENT_FIRST_BYTE_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub client_first_byte_timeout: Duration,
    /// Close a client connection whose request head is not complete this
    /// long after its first byte (nginx's `client_header_timeout`).
    #[arg(long, env = "KINGRESS_CLIENT_HEADER_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub client_header_timeout: Duration,
    /// Close a client connection idle this long between requests, HTTP/1.1
    /// and HTTP/2 (nginx's `keepalive_timeout`).
    #[arg(long, env = "KINGRESS_KEEPALIVE_TIMEOUT", default_value = "75s", value_parser = parse_duration)]
    pub keepalive_timeout: Duration,
    /// Close a TLS client connection whose handshake takes longer.
    #[arg(long, env = "KINGRESS_TLS_HANDSHAKE_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub tls_handshake_timeout: Duration,
    /// Most client connections open at once on each listener (proxy, proxy
    /// TLS, admin, status); more are closed as soon as they are accepted.
    #[arg(long, env = "KINGRESS_MAX_CLIENT_CONNECTIONS", default_value_t = 16_384, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_client_connections: u32,
}

/// `kingress run`.
#[derive(Clone, Debug, Args)]
pub struct RunArgs {
    /// Common serving flags.
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Namespace to watch (repeatable); all when absent.
    #[arg(
        long = "watch-namespace",
        env = "KINGRESS_WATCH_NAMESPACE",
        value_delimiter = ','
    )]
    pub watch_namespaces: Vec<String>,
    /// `namespace/name` of the proxy Service whose addresses go into Ingress
    /// status.
    #[arg(long, env = "KINGRESS_PUBLISH_SERVICE", value_parser = parse_namespaced)]
    pub publish_service: Option<String>,
    /// Addresses to put into Ingress status (overrides --publish-service).
    #[arg(long, env = "KINGRESS_PUBLISH_STATUS_ADDRESS", value_delimiter = ',')]
    pub publish_status_address: Vec<String>,
    /// Namespace of the leader-election Lease (default: POD_NAMESPACE, then
    /// `default`).
    #[arg(long, env = "KINGRESS_ELECTION_NAMESPACE")]
    pub election_namespace: Option<String>,
}

/// `kingress standalone`.
#[derive(Clone, Debug, Args)]
pub struct StandaloneArgs {
    /// Common serving flags.
    #[command(flatten)]
    pub serve: ServeArgs,
    /// The manifests served.
    #[command(flatten)]
    pub manifests: Manifests,
}

// === impl ServeArgs ===

impl ServeArgs {
    /// The Redis TLS files (`--redis-ca-file`, `--redis-client-*-file`).
    pub fn redis_tls(&self) -> RedisTls {
        RedisTls {
            ca_file: self.redis_ca_file.clone(),
            client_cert_file: self.redis_client_cert_file.clone(),
            client_key_file: self.redis_client_key_file.clone(),
        }
    }

    /// The trusted IP list, parsed.
    pub fn trusted(&self) -> Result<TrustedIps, String> {
        TrustedIps::parse(&self.trusted_ips)
    }

    /// Where trusted peers put the client address (`--real-ip-header`,
    /// `--real-ip-recursive`).
    pub fn real_ip(&self) -> Result<crate::plugins::RealIp, String> {
        crate::plugins::RealIp::new(&self.real_ip_header, self.real_ip_recursive)
            .map_err(|e| e.to_string())
    }

    /// The Admin API token from `--admin-token` or `--admin-token-file`.
    pub fn admin_token(&self) -> Result<Option<Sensitive>, String> {
        let Some(path) = &self.admin_token_file else {
            return Ok(self.admin_token.clone());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--admin-token-file {}: {e}", path.display()))?;
        parse_admin_token(text.trim_end_matches(['\r', '\n']))
            .map(Some)
            .map_err(|e| format!("--admin-token-file {}: {e}", path.display()))
    }

    /// How changes are coalesced (`--debounce`, `--debounce-max`).
    pub fn debounce(&self) -> crate::reconcile::Debounce {
        crate::reconcile::Debounce::new(self.debounce, self.debounce_max)
    }

    /// The connection limits every listener applies.
    pub fn limits(&self) -> Limits {
        Limits {
            first_byte_timeout: self.client_first_byte_timeout,
            header_timeout: self.client_header_timeout,
            keepalive_timeout: self.keepalive_timeout,
            tls_handshake_timeout: self.tls_handshake_timeout,
            max_connections: self.max_client_connections as usize,
        }
    }

    /// Checks what clap could not: distinct listener addresses, trusted
    /// IPs that parse, a readable Admin API token, allowed hosts that parse.
    pub fn validate(&self) -> Result<(), String> {
        self.trusted()?;
        self.admin_token()?;
        crate::admin::guard::Guard::new(self.admin_listen)
            .allow_hosts(&self.admin_allowed_hosts)
            .map_err(|e| format!("--admin-allowed-hosts: {e}"))?;
        let addrs = [
            ("--proxy-listen", self.proxy_listen),
            ("--proxy-tls-listen", self.proxy_tls_listen),
            ("--admin-listen", self.admin_listen),
            ("--status-listen", self.status_listen),
        ];
        for (i, (a, x)) in addrs.iter().enumerate() {
            for (b, y) in &addrs[i + 1..] {
                if x == y && x.port() != 0 {
                    return Err(format!("{a} and {b} are both {x}"));
                }
            }
        }
        let timeouts = [
            (
                "--client-first-byte-timeout",
                self.client_first_byte_timeout,
            ),
            ("--client-header-timeout", self.client_header_timeout),
            ("--keepalive-timeout", self.keepalive_timeout),
            ("--tls-handshake-timeout", self.tls_handshake_timeout),
        ];
        if let Some((flag, _)) = timeouts.iter().find(|(_, d)| d.is_zero()) {
            return Err(format!("{flag} must be more than 0"));
        }
        if self.ingress_class.trim().is_empty() {
            return Err("--ingress-class must not be empty".into());
        }
        Ok(())
    }
}

/// Parses `50ms`, `2s`, `1m` or a bare number of milliseconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "ms"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid duration '{s}' (examples: 50ms, 2s, 1m)"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("invalid duration unit in '{s}' (use ms, s or m)")),
    }
}

/// A count of at least one.
fn parse_positive(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) | Err(_) => Err(format!("'{s}' is not a whole number of at least 1")),
        Ok(n) => Ok(n),
    }
}

/// A token a client can send as a header value; the message never holds it.
fn parse_admin_token(s: &str) -> Result<Sensitive, String> {
    if s.is_empty() {
        return Err("the Admin API token is empty".into());
    }
    if !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the Admin API token must be printable ASCII without spaces".into());
    }
    Ok(Sensitive::new(s))
}

/// Parses `8MiB`, `512KiB`, `1GiB` (also `MB`/`KB`/`GB`, read as powers of
/// 1024, as Kubernetes' `Mi` is) or a bare number of bytes; zero is refused.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid size '{s}' (examples: 8MiB, 512KiB, 1048576)"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "ki" | "kib" => 1 << 10,
        "m" | "mb" | "mi" | "mib" => 1 << 20,
        "g" | "gb" | "gi" | "gib" => 1 << 30,
        _ => return Err(format!("invalid size unit in '{s}' (use KiB, MiB or GiB)")),
    };
    match n.checked_mul(scale) {
        Some(0) => Err("the size must be more than 0".into()),
        Some(bytes) => Ok(bytes),
        None => Err(format!("size '{s}' is too large")),
    }
}

/// `memory` or a Redis URL whose form is valid (its TLS files are read
/// when the store opens). The message never repeats the URL: it may hold a
/// password.
fn parse_token_store(s: &str) -> Result<Sensitive, String> {
    if s == "memory" {
        return Ok(Sensitive::new(s));
    }
    if !s.starts_with("redis") {
        return Err(
            "not a token store (use memory, redis://host:port, redis+sentinel://… or \
             redis+cluster://…)"
                .into(),
        );
    }
    match RedisTarget::parse(s, &RedisTls::default()) {
        Ok(_) => Ok(Sensitive::new(s)),
        Err(e) => Err(format!("invalid Redis URL: {e}")),
    }
}

fn parse_namespaced(s: &str) -> Result<String, String> {
    match s.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok(s.to_string())
        }
        _ => Err(format!("'{s}' is not namespace/name")),
    }
}

#[cfg(test)]
mod tests;
