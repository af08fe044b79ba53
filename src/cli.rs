//! Command line: parsed once into plain configuration before any port is
//! bound. Every flag also reads an environment variable `KINGRESS_<FLAG>`.
//! Bad input exits with status 64 (`EX_USAGE`) and a message.

use crate::listen::Limits;
use crate::plugins::TrustedIps;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Exit status for bad command-line or configuration input (sysexits EX_USAGE).
pub const EXIT_USAGE: i32 = 64;

/// kingress: a Kubernetes ingress controller that speaks Kong.
#[derive(Debug, Parser)]
#[command(name = "kingress", version, about)]
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
    /// Token store: `memory`, or `redis://host:port[/db]` to share tokens
    /// between replicas.
    #[arg(long, env = "KINGRESS_TOKEN_STORE", default_value = "memory", value_parser = parse_token_store)]
    pub token_store: String,
    /// IPs or CIDRs whose X-Forwarded-Proto is trusted (comma-separated or
    /// repeated).
    #[arg(long, env = "KINGRESS_TRUSTED_IPS", value_delimiter = ',')]
    pub trusted_ips: Vec<String>,
    /// Ingress class served.
    #[arg(long, env = "KINGRESS_INGRESS_CLASS", default_value = "kong")]
    pub ingress_class: String,
    /// Quiet time after a change before re-translating (e.g. 10ms, 1s):
    /// long enough to coalesce the events of one save or `kubectl apply`,
    /// short next to the reload itself.
    #[arg(long, env = "KINGRESS_DEBOUNCE", default_value = "10ms", value_parser = parse_duration)]
    pub debounce: Duration,
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
    /// Manifest file or directory.
    #[arg(short = 'f', long = "filename", env = "KINGRESS_FILENAME")]
    pub path: PathBuf,
}

// === impl ServeArgs ===

impl ServeArgs {
    /// The trusted IP list, parsed.
    pub fn trusted(&self) -> Result<TrustedIps, String> {
        TrustedIps::parse(&self.trusted_ips)
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

    /// Checks what clap could not: distinct listener addresses and trusted
    /// IPs that parse.
    pub fn validate(&self) -> Result<(), String> {
        self.trusted()?;
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

fn parse_token_store(s: &str) -> Result<String, String> {
    if s == "memory" || s.starts_with("redis://") || s.starts_with("rediss://") {
        if s != "memory" && redis::parse_redis_url(s).is_none() {
            return Err(format!("invalid redis URL '{s}'"));
        }
        Ok(s.to_string())
    } else {
        Err(format!(
            "'{s}' is not a token store (use memory or redis://host:port)"
        ))
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
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("50ms").unwrap(), Duration::from_millis(50));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("75").unwrap(), Duration::from_millis(75));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("5h").is_err());
    }

    #[test]
    fn bad_flags_are_refused() {
        assert!(Cli::try_parse_from(["kingress", "standalone"]).is_err());
        assert!(Cli::try_parse_from(["kingress", "run", "--proxy-listen", "nope"]).is_err());
        assert!(Cli::try_parse_from(["kingress", "run", "--token-store", "mysql://x"]).is_err());
        assert!(Cli::try_parse_from(["kingress", "run", "--publish-service", "svc"]).is_err());
        let cli = Cli::try_parse_from([
            "kingress",
            "run",
            "--proxy-listen",
            "127.0.0.1:9000",
            "--status-listen",
            "127.0.0.1:9000",
        ])
        .unwrap();
        let Command::Run(run) = cli.command else {
            panic!("run expected")
        };
        assert!(run.serve.validate().unwrap_err().contains("both"));
    }

    #[test]
    fn connection_limits_have_nginx_like_defaults_and_flags() {
        let parse = |args: &[&str]| {
            let mut all = vec!["kingress", "run"];
            all.extend_from_slice(args);
            match Cli::try_parse_from(all).map(|c| c.command) {
                Ok(Command::Run(run)) => Ok(run.serve),
                Ok(_) => panic!("run expected"),
                Err(e) => Err(e),
            }
        };
        let defaults = parse(&[]).unwrap();
        assert_eq!(defaults.limits(), Limits::default());
        assert_eq!(defaults.limits().header_timeout, Duration::from_secs(60));
        assert_eq!(defaults.limits().keepalive_timeout, Duration::from_secs(75));
        assert!(!defaults.underscores_in_headers);
        let set = parse(&[
            "--underscores-in-headers",
            "--client-first-byte-timeout",
            "1s",
            "--client-header-timeout",
            "2s",
            "--keepalive-timeout",
            "3s",
            "--tls-handshake-timeout",
            "4s",
            "--max-client-connections",
            "5",
        ])
        .unwrap();
        assert!(set.underscores_in_headers);
        assert_eq!(
            set.limits(),
            Limits {
                first_byte_timeout: Duration::from_secs(1),
                header_timeout: Duration::from_secs(2),
                keepalive_timeout: Duration::from_secs(3),
                tls_handshake_timeout: Duration::from_secs(4),
                max_connections: 5,
            }
        );
        assert!(parse(&["--max-client-connections", "0"]).is_err());
        let zero = parse(&["--keepalive-timeout", "0s"]).unwrap();
        assert!(zero.validate().unwrap_err().contains("--keepalive-timeout"));
    }
}
