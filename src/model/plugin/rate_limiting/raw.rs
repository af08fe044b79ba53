//! The `config` object as written, read by serde, and its conversion into
//! [`RateLimitingConfig`] with Kong's field checks and entity checks (the
//! deprecated `redis_*` shorthands are folded in before, by `shorthand`).

use super::{LimitBy, Period, Policy, RateLimitingConfig, RedisConfig};
use crate::model::Sensitive;
use crate::model::plugin::ConfigError;
use serde::Deserialize;

/// `config` as written; `None` is "left out" (or `null`, which Kong reads
/// as the default).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct Raw {
    second: Option<f64>,
    minute: Option<f64>,
    hour: Option<f64>,
    day: Option<f64>,
    month: Option<f64>,
    year: Option<f64>,
    limit_by: Option<LimitBy>,
    header_name: Option<String>,
    path: Option<String>,
    policy: Option<Policy>,
    fault_tolerant: Option<bool>,
    redis: RawRedis,
    hide_client_headers: Option<bool>,
    error_code: Option<f64>,
    error_message: Option<String>,
    sync_rate: Option<f64>,
}

/// The `redis` record as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawRedis {
    host: Option<String>,
    port: Option<i64>,
    timeout: Option<i64>,
    username: Option<String>,
    password: Option<String>,
    database: Option<i64>,
    ssl: Option<bool>,
    ssl_verify: Option<bool>,
    server_name: Option<String>,
}

/// Kong's `typedefs.timeout` upper bound (2^31 - 2).
const MAX_TIMEOUT: i64 = 2_147_483_646;

// === impl Raw ===

impl Raw {
    /// Applies the shorthands and defaults, then Kong's checks in Kong's
    /// order: fields, entity checks, the custom validator.
    pub(super) fn into_config(self) -> Result<RateLimitingConfig, ConfigError> {
        let given = [
            self.second,
            self.minute,
            self.hour,
            self.day,
            self.month,
            self.year,
        ];
        let mut limits = Vec::new();
        for (period, limit) in Period::ALL.into_iter().zip(given) {
            if let Some(limit) = limit {
                if limit <= 0.0 {
                    return Err(field(period.name(), "value must be greater than 0"));
                }
                limits.push((period, limit));
            }
        }
        if let Some(name) = &self.header_name {
            header_name(name).map_err(|m| field("header_name", m))?;
        }
        if let Some(p) = &self.path {
            path(p).map_err(|m| field("path", m))?;
        }
        let error_code = match self.error_code {
            None => 429,
            Some(code) if code <= 0.0 => {
                return Err(field("error_code", "value must be greater than 0"));
            }
            // kingress sends the code as a status line, which only holds
            // three digits; Kong would fail the request at run time instead.
            Some(code) if code.fract() == 0.0 && (100.0..=999.0).contains(&code) => code as u16,
            Some(_) => {
                return Err(field(
                    "error_code",
                    "value should be an HTTP status code between 100 and 999",
                ));
            }
        };
        let redis = self.redis.into_config()?;
        if limits.is_empty() {
            return Err(ConfigError::field(
                "config",
                "at least one of these fields must be non-empty: 'config.second', \
                 'config.minute', 'config.hour', 'config.day', 'config.month', 'config.year'",
            ));
        }
        let policy = self.policy.unwrap_or_default();
        if policy == Policy::Redis && redis.host.is_none() {
            return Err(field("redis.host", "required field missing"));
        }
        let limit_by = self.limit_by.unwrap_or_default();
        if limit_by == LimitBy::Header && self.header_name.is_none() {
            return Err(field("header_name", "required field missing"));
        }
        if limit_by == LimitBy::Path && self.path.is_none() {
            return Err(field("path", "required field missing"));
        }
        let config = RateLimitingConfig {
            limits,
            limit_by,
            header_name: self.header_name,
            path: self.path,
            policy,
            fault_tolerant: self.fault_tolerant.unwrap_or(true),
            redis,
            hide_client_headers: self.hide_client_headers.unwrap_or(false),
            error_code,
            error_message: self
                .error_message
                .unwrap_or_else(|| "API rate limit exceeded".to_string()),
            sync_rate: self.sync_rate.unwrap_or(-1.0),
        };
        config.validate()?;
        Ok(config)
    }
}

// === impl RawRedis ===

impl RawRedis {
    fn into_config(self) -> Result<RedisConfig, ConfigError> {
        let port = self.port.unwrap_or(6379);
        let port = u16::try_from(port)
            .map_err(|_| field("redis.port", "value should be between 0 and 65535"))?;
        let timeout = self.timeout.unwrap_or(2000);
        if !(0..=MAX_TIMEOUT).contains(&timeout) {
            return Err(field(
                "redis.timeout",
                "value should be between 0 and 2147483646",
            ));
        }
        if let Some(host) = &self.host
            && (host.is_empty() || host.chars().any(|c| c.is_whitespace() || c == '/'))
        {
            return Err(field("redis.host", format!("invalid hostname: {host}")));
        }
        Ok(RedisConfig {
            host: self.host,
            port,
            timeout: u32::try_from(timeout).unwrap_or(u32::MAX),
            username: self.username,
            password: self.password.map(Sensitive::new),
            database: self.database.unwrap_or(0),
            ssl: self.ssl.unwrap_or(false),
            ssl_verify: self.ssl_verify.unwrap_or(false),
            server_name: self.server_name,
        })
    }
}

fn field(name: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::field(format!("config.{name}"), message)
}

/// Kong's `tools.http.validate_header_name`.
fn header_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "bad header name '{name}', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
        ))
    }
}

/// Kong's `typedefs.path` checks.
fn path(p: &str) -> Result<(), &'static str> {
    if !p.starts_with('/') {
        return Err("should start with: /");
    }
    if p.contains("//") {
        return Err("must not have empty segments");
    }
    Ok(())
}
