//! Where Redis is and how to reach it, from one URL and the TLS flags.
//!
//! URL forms (credentials and names percent-encoded; `rediss…` = TLS):
//! - `redis[s]://[[user]:password@]host[:6379][/db]`: one server, as the
//!   `redis` crate and Kong spell it;
//! - `redis[s]+sentinel://[[user]:password@]h1[:26379][,h2…]/master[/db]`
//!   `[?sentinel_username=…&sentinel_password=…]`: the primary that the
//!   Sentinels name `master`; the credentials are the data nodes', the
//!   query's the Sentinels' (Kong's `sentinel_username`/`sentinel_password`);
//! - `redis[s]+cluster://[[user]:password@]h1[:6379][,h2…]`: a Redis
//!   Cluster found from any of the seed nodes (no db: a cluster has one).
//!
//! TLS always verifies the server: against `--redis-ca-file` when given,
//! else the system's roots. Turning verification off (`#insecure`) is
//! refused rather than silently ignored.

use redis::{ClientTlsConfig, TlsCertificates};
use secrecy::{ExposeSecret, SecretString};
use std::path::PathBuf;

/// Default port of a Redis server or cluster node.
const REDIS_PORT: u16 = 6379;
/// Default port of a Sentinel.
const SENTINEL_PORT: u16 = 26379;

/// The TLS files for `rediss…` URLs (`--redis-ca-file`,
/// `--redis-client-cert-file`, `--redis-client-key-file`).
#[derive(Clone, Debug, Default)]
pub struct RedisTls {
    /// PEM CA certificates the server's certificate must chain to; unset:
    /// the system's roots.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate chain, for servers that ask for one
    /// (`tls-auth-clients yes`).
    pub client_cert_file: Option<PathBuf>,
    /// PEM private key of the client certificate.
    pub client_key_file: Option<PathBuf>,
}

/// Why a Redis URL or its TLS files cannot be used. Messages never hold a
/// password.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The URL is malformed or names something unsupported.
    #[error("{0}")]
    Url(String),
    /// A TLS file cannot be read or does not fit the URL.
    #[error("{0}")]
    Tls(String),
}

/// One Redis deployment: a server, a Sentinel-watched primary or a
/// cluster, with credentials and TLS settings.
#[derive(Clone)]
pub struct RedisTarget {
    pub(super) topology: Topology,
    pub(super) auth: Auth,
    pub(super) db: i64,
    /// `None`: plain TCP.
    pub(super) tls: Option<TlsCertificates>,
    redacted: String,
}

/// How the data nodes are found.
#[derive(Clone, Debug)]
pub(super) enum Topology {
    /// One server.
    Single(Host),
    /// The primary the Sentinels name `master`.
    Sentinel {
        sentinels: Vec<Host>,
        master: String,
        auth: Auth,
    },
    /// A Redis Cluster, from its seed nodes.
    Cluster(Vec<Host>),
}

/// `host:port` of one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Host {
    pub(super) name: String,
    pub(super) port: u16,
}

/// ACL user and password (`AUTH [user] password`).
#[derive(Clone, Debug, Default)]
pub(super) struct Auth {
    pub(super) username: Option<String>,
    pub(super) password: Option<SecretString>,
}

/// The scheme's two facts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Single,
    Sentinel,
    Cluster,
}

// === impl RedisTarget ===

impl RedisTarget {
    /// Parses `url` (see the module docs) and loads the TLS files a
    /// `rediss…` URL uses. TLS files with a plain URL are an error: the
    /// operator meant TLS.
    pub fn parse(url: &str, tls: &RedisTls) -> Result<Self, TargetError> {
        let bad = |reason: &str| TargetError::Url(reason.to_string());
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("not a URL (redis://host:port)"))?;
        let (kind, secure) = match scheme {
            "redis" => (Kind::Single, false),
            "rediss" => (Kind::Single, true),
            "redis+sentinel" => (Kind::Sentinel, false),
            "rediss+sentinel" => (Kind::Sentinel, true),
            "redis+cluster" => (Kind::Cluster, false),
            "rediss+cluster" => (Kind::Cluster, true),
            _ => {
                return Err(bad(
                    "unknown scheme (use redis, rediss, redis+sentinel, rediss+sentinel, \
                     redis+cluster or rediss+cluster)",
                ));
            }
        };
        let (rest, fragment) = match rest.split_once('#') {
            Some((r, f)) => (r, Some(f)),
            None => (rest, None),
        };
        if let Some(fragment) = fragment {
            return Err(bad(if fragment == "insecure" {
                "TLS verification cannot be turned off; give the server's CA with --redis-ca-file"
            } else {
                "a Redis URL takes no #fragment"
            }));
        }
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        let (userinfo, hosts) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let auth = userinfo
            .map(parse_userinfo)
            .transpose()?
            .unwrap_or_default();
        let default_port = if kind == Kind::Sentinel {
            SENTINEL_PORT
        } else {
            REDIS_PORT
        };
        let hosts = hosts
            .split(',')
            .map(|h| parse_host(h, default_port))
            .collect::<Result<Vec<_>, _>>()?;
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut sentinel_auth = Auth::default();
        let mut sentinel_query = Vec::new();
        for pair in query.into_iter().flat_map(|q| q.split('&')) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode(value)?;
            match (kind, name) {
                (Kind::Sentinel, "sentinel_username") => {
                    sentinel_query.push("sentinel_username=".to_string() + &value);
                    sentinel_auth.username = Some(value);
                }
                (Kind::Sentinel, "sentinel_password") => {
                    sentinel_query.push("sentinel_password=***".to_string());
                    sentinel_auth.password = Some(SecretString::from(value));
                }
                _ => {
                    // Parts of the URL are never echoed: a password with an
                    // unencoded `/`, `?` or `#` would land in them.
                    return Err(bad(
                        "unknown query parameter (a sentinel URL takes sentinel_username \
                         and sentinel_password)",
                    ));
                }
            }
        }
        let (topology, db) = match kind {
            Kind::Single => {
                let [host] = <[Host; 1]>::try_from(hosts)
                    .map_err(|_| bad("one host only (use redis+cluster:// for several)"))?;
                (Topology::Single(host), parse_db(&segments)?)
            }
            Kind::Sentinel => {
                let Some((master, db)) = segments.split_first() else {
                    return Err(bad(
                        "name the master: redis+sentinel://host:26379/mymaster[/db]",
                    ));
                };
                let master = decode(master)?;
                let topology = Topology::Sentinel {
                    sentinels: hosts,
                    master,
                    auth: sentinel_auth,
                };
                (topology, parse_db(db)?)
            }
            Kind::Cluster => {
                if !segments.is_empty() {
                    return Err(bad("a cluster has no database number"));
                }
                (Topology::Cluster(hosts), 0)
            }
        };
        let redacted = redact(scheme, &auth, authority, path, &sentinel_query);
        let tls = if secure {
            Some(certificates(tls)?)
        } else if tls.ca_file.is_some()
            || tls.client_cert_file.is_some()
            || tls.client_key_file.is_some()
        {
            return Err(TargetError::Tls(
                "TLS files were given for a plain redis:// URL (use rediss://)".into(),
            ));
        } else {
            None
        };
        Ok(Self {
            topology,
            auth,
            db,
            tls,
            redacted,
        })
    }

    /// The URL without its passwords, for logs and messages.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// Whether this is a Redis Cluster, whose scripts must keep to one slot.
    pub fn is_cluster(&self) -> bool {
        matches!(self.topology, Topology::Cluster(_))
    }
}

impl std::fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RedisTarget").field(&self.redacted).finish()
    }
}

// === impl Auth ===

impl Auth {
    /// The password, for the connection's `AUTH`.
    pub(super) fn password(&self) -> Option<String> {
        self.password
            .as_ref()
            .map(|p| p.expose_secret().to_string())
    }
}

/// `user:password`, `:password` or `password` (the `redis` crate's and
/// redis-cli's readings).
fn parse_userinfo(userinfo: &str) -> Result<Auth, TargetError> {
    let (user, password) = match userinfo.split_once(':') {
        Some((u, p)) => (u, Some(p)),
        None => ("", Some(userinfo)),
    };
    Ok(Auth {
        username: Some(decode(user)?).filter(|u| !u.is_empty()),
        password: password
            .map(decode)
            .transpose()?
            .filter(|p| !p.is_empty())
            .map(SecretString::from),
    })
}

/// `host`, `host:port` or `[v6]:port`.
fn parse_host(s: &str, default_port: u16) -> Result<Host, TargetError> {
    let bad = || TargetError::Url("invalid host (host[:port], comma-separated)".into());
    let (name, port) = if let Some(v6) = s.strip_prefix('[') {
        let (name, after) = v6.split_once(']').ok_or_else(bad)?;
        (name, after.strip_prefix(':'))
    } else {
        match s.split_once(':') {
            Some((n, p)) => (n, Some(p)),
            None => (s, None),
        }
    };
    if name.is_empty() || name.contains(['/', '@', ' ']) {
        return Err(bad());
    }
    let port = match port {
        None => default_port,
        Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(bad)?,
    };
    Ok(Host {
        name: name.to_string(),
        port,
    })
}

/// The database number from what is left of the path.
fn parse_db(segments: &[&str]) -> Result<i64, TargetError> {
    match segments {
        [] => Ok(0),
        [db] => db
            .parse::<i64>()
            .ok()
            .filter(|db| *db >= 0)
            .ok_or_else(|| TargetError::Url("invalid database number".into())),
        _ => Err(TargetError::Url("too many path segments".into())),
    }
}

fn decode(s: &str) -> Result<String, TargetError> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| TargetError::Url("a URL part is not UTF-8 once decoded".into()))
}

/// The URL as given with every password replaced by `***`.
fn redact(scheme: &str, auth: &Auth, authority: &str, path: &str, query: &[String]) -> String {
    let hosts = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let user = match (&auth.username, &auth.password) {
        (Some(u), Some(_)) => format!("{u}:***@"),
        (Some(u), None) => format!("{u}@"),
        (None, Some(_)) => ":***@".to_string(),
        (None, None) => String::new(),
    };
    let path = if path.is_empty() {
        String::new()
    } else {
        format!("/{path}")
    };
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{}", query.join("&"))
    };
    format!("{scheme}://{user}{hosts}{path}{query}")
}

/// The certificates of a TLS target, read from the flags' files.
fn certificates(tls: &RedisTls) -> Result<TlsCertificates, TargetError> {
    let read = |flag: &str, path: &PathBuf| {
        std::fs::read(path).map_err(|e| TargetError::Tls(format!("{flag} {}: {e}", path.display())))
    };
    let root_cert = tls
        .ca_file
        .as_ref()
        .map(|p| read("--redis-ca-file", p))
        .transpose()?;
    let client_tls = match (&tls.client_cert_file, &tls.client_key_file) {
        (None, None) => None,
        (Some(cert), Some(key)) => Some(ClientTlsConfig {
            client_cert: read("--redis-client-cert-file", cert)?,
            client_key: read("--redis-client-key-file", key)?,
        }),
        _ => {
            return Err(TargetError::Tls(
                "--redis-client-cert-file and --redis-client-key-file go together".into(),
            ));
        }
    };
    // Checked now so a bad file is a usage error at start, not a 503 later.
    redis::Client::build_with_tls(
        "rediss://localhost/",
        TlsCertificates {
            client_tls: client_tls.clone(),
            root_cert: root_cert.clone(),
        },
    )
    .map_err(|e| TargetError::Tls(format!("TLS files: {e}")))?;
    Ok(TlsCertificates {
        client_tls,
        root_cert,
    })
}

#[cfg(test)]
mod tests;
