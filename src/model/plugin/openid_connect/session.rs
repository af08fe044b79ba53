//! The session fields (`session_*`, `redis`, `refresh_tokens`,
//! `disable_session`) and the cookie attributes shared with the
//! authorization cookie, with Kong 3.x defaults (lua-resty-session 4).

use super::fields::{element, invalid};
use super::read::{Fields, field};
use super::values::TokenParam;
use crate::model::Sensitive;
use crate::model::plugin::ConfigError;

/// `SameSite` of a cookie; `Default` sends no attribute (the browser's
/// default, Lax in current browsers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SameSite {
    /// No attribute.
    Default,
    /// `SameSite=Lax`.
    Lax,
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=None` (always `Secure`).
    None,
}

/// Name and attributes of a cookie the plugin sets.
#[derive(Clone, Debug, PartialEq)]
pub struct CookieConfig {
    /// Cookie name (chunks add `_2`, `_3`…).
    pub name: String,
    /// `Path`.
    pub path: String,
    /// `Domain`; `None` makes a host-only cookie.
    pub domain: Option<String>,
    /// `SameSite`.
    pub same_site: SameSite,
    /// `HttpOnly`.
    pub http_only: bool,
    /// `Secure`; `None` means "when the request came over HTTPS".
    pub secure: Option<bool>,
}

/// Where session data lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionStorage {
    /// Sealed in the cookie itself.
    Cookie,
    /// Sealed in Redis under a random id the cookie carries.
    Redis,
}

/// The Redis server of `session_storage: redis` (Kong 3.x `redis`
/// record, or the older `session_redis_*` fields).
#[derive(Clone, Debug, PartialEq)]
pub struct SessionRedis {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// ACL user name.
    pub username: Option<String>,
    /// Password.
    pub password: Option<Sensitive>,
    /// Database number.
    pub database: u64,
    /// TLS (always certificate-verifying).
    pub ssl: bool,
    /// Key prefix.
    pub prefix: Option<String>,
}

/// The session configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionConfig {
    /// Secrets the session keys derive from: the first seals, all open
    /// (`session_secret`, whitespace-separated when rotating). Empty: see
    /// the plugin's docs.
    pub secrets: Vec<Sensitive>,
    /// The session cookie.
    pub cookie: CookieConfig,
    /// `session_rolling_timeout` (s, 0 = off).
    pub rolling_timeout: u64,
    /// `session_absolute_timeout` (s, 0 = off).
    pub absolute_timeout: u64,
    /// `session_idling_timeout` (s, 0 = off).
    pub idling_timeout: u64,
    /// `session_audience`: sessions of another audience do not open.
    pub audience: String,
    /// `session_storage`.
    pub storage: SessionStorage,
    /// The Redis server for [`SessionStorage::Redis`].
    pub redis: SessionRedis,
    /// `refresh_tokens`: refresh a session's expiring access token.
    pub refresh_tokens: bool,
    /// `disable_session`: methods after which no session is created.
    pub disable: Vec<String>,
    /// `refresh_token_param_name` (Kong: `refresh_token`; a header is
    /// looked up with `-` for `_`).
    pub refresh_param_name: String,
    /// `refresh_token_param_type` (Kong: header, query, body).
    pub refresh_param_type: Vec<TokenParam>,
    /// `unauthorized_destroy_session`: a 401 expires the session cookie.
    pub unauthorized_destroy: bool,
    /// `forbidden_destroy_session`: a 403 ends the session.
    pub forbidden_destroy: bool,
}

/// Parses the session fields.
pub(super) fn parse(f: &Fields<'_>) -> Result<SessionConfig, ConfigError> {
    // Several secrets, separated by whitespace, rotate: the first seals,
    // all open (Kong's field is one string).
    let secrets = f
        .string("session_secret")?
        .unwrap_or_default()
        .split_whitespace()
        .map(|s| {
            if s.len() < 16 {
                Err(field(
                    "session_secret",
                    "each secret must be at least 16 characters",
                ))
            } else {
                Ok(Sensitive::new(s))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let storage = match f.string("session_storage")?.as_deref() {
        None | Some("cookie") => SessionStorage::Cookie,
        Some("redis") => SessionStorage::Redis,
        Some(v @ ("memcache" | "memcached")) => {
            return Err(field(
                "session_storage",
                format!("'{v}' is not supported by kingress (cookie and redis are)"),
            ));
        }
        Some(v) => return Err(field("session_storage", invalid(v))),
    };
    let cookie = cookie(f, "session_cookie", "session", SameSite::Lax)?;
    let disable = f.strings("disable_session")?.unwrap_or_default();
    Ok(SessionConfig {
        secrets,
        cookie,
        rolling_timeout: f.uint_or("session_rolling_timeout", 3600)?,
        absolute_timeout: f.uint_or("session_absolute_timeout", 86400)?,
        idling_timeout: f.uint_or("session_idling_timeout", 900)?,
        audience: f
            .string("session_audience")?
            .unwrap_or_else(|| "default".into()),
        storage,
        redis: redis(f, storage == SessionStorage::Redis)?,
        refresh_tokens: f.bool_or("refresh_tokens", true)?,
        disable,
        refresh_param_name: f
            .non_empty("refresh_token_param_name")?
            .unwrap_or_else(|| "refresh_token".into()),
        refresh_param_type: param_types(f, "refresh_token_param_type")?,
        unauthorized_destroy: f.bool_or("unauthorized_destroy_session", true)?,
        forbidden_destroy: f.bool_or("forbidden_destroy_session", true)?,
    })
}

/// `<prefix>_name`, `_path`, `_domain`, `_same_site`, `_http_only`,
/// `_secure`.
pub(super) fn cookie(
    f: &Fields<'_>,
    prefix: &str,
    default_name: &str,
    default_same_site: SameSite,
) -> Result<CookieConfig, ConfigError> {
    let key = |k: &str| format!("{prefix}_{k}");
    let name = f
        .non_empty(&key("name"))?
        .unwrap_or_else(|| default_name.into());
    // RFC 6265 token characters only: the name goes into headers as is.
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    {
        return Err(field(
            &key("name"),
            format!("'{name}' is not a valid cookie name"),
        ));
    }
    let attribute = |k: &str, v: &str| {
        if v.bytes().any(|b| b == b';' || b.is_ascii_control()) {
            Err(field(
                &key(k),
                format!("'{v}' is not a valid cookie attribute"),
            ))
        } else {
            Ok(())
        }
    };
    let path = f.non_empty(&key("path"))?.unwrap_or_else(|| "/".into());
    attribute("path", &path)?;
    let domain = f.non_empty(&key("domain"))?;
    if let Some(d) = &domain {
        attribute("domain", d)?;
    }
    let same_site = match f.string(&key("same_site"))?.as_deref() {
        None => default_same_site,
        Some("Default") => SameSite::Default,
        Some("Lax") => SameSite::Lax,
        Some("Strict") => SameSite::Strict,
        Some("None") => SameSite::None,
        Some(v) => return Err(field(&key("same_site"), invalid(v))),
    };
    let secure = match f.raw(&key("secure")) {
        None => None,
        Some(_) => Some(f.bool_or(&key("secure"), false)?),
    };
    Ok(CookieConfig {
        name,
        path,
        domain,
        same_site,
        http_only: f.bool_or(&key("http_only"), true)?,
        secure,
    })
}

/// Kong 3.x `redis` record, else the `session_redis_*` fields. Parts
/// kingress lacks are refused only when sessions are stored in Redis
/// (`used`): a deck dump carries the whole record at its defaults.
fn redis(f: &Fields<'_>, used: bool) -> Result<SessionRedis, ConfigError> {
    let mut r = SessionRedis {
        host: "127.0.0.1".into(),
        port: 6379,
        username: None,
        password: None,
        database: 0,
        ssl: false,
        prefix: None,
    };
    for key in ["host", "port", "username", "password", "prefix", "ssl"] {
        let legacy = format!("session_redis_{key}");
        if f.is_set(&legacy) {
            apply(&mut r, key, &legacy, f)?;
        }
    }
    if let Some(record) = f.raw("redis") {
        let obj = record
            .as_object()
            .ok_or_else(|| field("redis", "expected a record"))?;
        let inner = Fields(obj);
        for (key, value) in obj {
            if value.is_null() {
                continue;
            }
            let path = format!("redis.{key}");
            match key.as_str() {
                "host" | "port" | "username" | "password" | "prefix" | "ssl" | "database" => {
                    apply(&mut r, key, key, &inner).map_err(|_| field(&path, "invalid value"))?
                }
                // Bounds kingress sets for every Redis operation.
                "connect_timeout"
                | "read_timeout"
                | "send_timeout"
                | "keepalive_pool_size"
                | "keepalive_backlog"
                | "ssl_verify"
                | "server_name" => {}
                "cluster_nodes" | "sentinel_nodes"
                    if value.as_array().is_some_and(Vec::is_empty) => {}
                "cluster_max_redirections" | "connection_is_proxied" => {}
                "cloud_authentication"
                    if value.as_object().is_some_and(|o| {
                        o.iter()
                            .all(|(k, v)| v.is_null() || (k == "aws_is_serverless" && *v == true))
                    }) => {}
                _ if !used => {}
                _ => {
                    return Err(field(
                        &path,
                        "not supported by kingress for sessions (host, port, username, password, database, ssl, prefix are)",
                    ));
                }
            }
        }
        if used && obj.get("ssl_verify") == Some(&serde_json::Value::Bool(false)) {
            return Err(field(
                "redis.ssl_verify",
                "false is not supported: kingress always verifies Redis TLS",
            ));
        }
    }
    Ok(r)
}

fn apply(r: &mut SessionRedis, key: &str, name: &str, f: &Fields<'_>) -> Result<(), ConfigError> {
    match key {
        "host" => r.host = f.non_empty(name)?.unwrap_or(r.host.clone()),
        "port" => {
            r.port = u16::try_from(f.uint_or(name, 6379)?)
                .map_err(|_| field(name, "must be a port number"))?
        }
        "username" => r.username = f.non_empty(name)?,
        "password" => {
            r.password = f
                .string(name)?
                .filter(|p| !p.is_empty())
                .map(Sensitive::new)
        }
        "prefix" => r.prefix = f.non_empty(name)?,
        "ssl" => r.ssl = f.bool_or(name, false)?,
        "database" => r.database = f.uint_or(name, 0)?,
        _ => return Err(field(name, "unknown")),
    }
    Ok(())
}

/// A `*_param_type` set (Kong's default: all three), searched in Kong's
/// order (header, query, body) whatever the order given.
fn param_types(f: &Fields<'_>, key: &str) -> Result<Vec<TokenParam>, ConfigError> {
    let Some(values) = f.strings(key)? else {
        return Ok(vec![
            TokenParam::Header,
            TokenParam::Query,
            TokenParam::Body,
        ]);
    };
    for (i, v) in values.iter().enumerate() {
        if !["header", "query", "body"].contains(&v.as_str()) {
            return Err(field(&element(key, i), invalid(v)));
        }
    }
    Ok([
        ("header", TokenParam::Header),
        ("query", TokenParam::Query),
        ("body", TokenParam::Body),
    ]
    .into_iter()
    .filter(|(name, _)| values.iter().any(|v| v == name))
    .map(|(_, p)| p)
    .collect())
}
