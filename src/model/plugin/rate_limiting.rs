//! `rate-limiting` plugin configuration: every field of Kong's DB-less
//! schema (`kong/plugins/rate-limiting/schema.lua`) with Kong's defaults and
//! messages, including the `redis` record and the deprecated flat
//! `redis_*` fields Kong 3 still accepts.
//!
//! Kong's `cluster` policy keeps counters in Kong's database; DB-less Kong
//! refuses it with `expected one of: local, redis`, and so does kingress.

use super::ConfigError;
use super::schema;
use crate::model::Sensitive;
use serde::Deserialize;

mod raw;
mod schema_impl;
mod shorthand;

pub use schema_impl::number as schema_number;
#[cfg(test)]
mod tests;

/// Parsed `rate-limiting` configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct RateLimitingConfig {
    /// The configured limits, smallest window first (at least one).
    pub limits: Vec<(Period, f64)>,
    /// What requests are counted by.
    pub limit_by: LimitBy,
    /// The header counted by when `limit_by` is `header`.
    pub header_name: Option<String>,
    /// The path counted by when `limit_by` is `path`.
    pub path: Option<String>,
    /// Where the counters live.
    pub policy: Policy,
    /// Proxy without limiting when the counter store fails (else 500).
    pub fault_tolerant: bool,
    /// The Redis server of the `redis` policy.
    pub redis: RedisConfig,
    /// Leave out the `X-RateLimit-*`, `RateLimit-*` and `Retry-After` headers.
    pub hide_client_headers: bool,
    /// Status of the refusal.
    pub error_code: u16,
    /// `message` of the refusal's body.
    pub error_message: String,
    /// Seconds between batched writes to Redis; `-1` writes every request.
    pub sync_rate: f64,
}

/// A rate-limiting window, as Kong names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    /// One second.
    Second,
    /// One minute.
    Minute,
    /// One hour.
    Hour,
    /// One UTC day.
    Day,
    /// One UTC calendar month.
    Month,
    /// One UTC calendar year.
    Year,
}

/// What requests are counted by (`config.limit_by`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitBy {
    /// The authenticated consumer (or credential), else the client IP.
    #[default]
    Consumer,
    /// The authenticated credential, else the client IP.
    Credential,
    /// The client IP.
    Ip,
    /// The route's service, else the client IP.
    Service,
    /// The value of `header_name`, else the client IP.
    Header,
    /// `path` when the request's path equals it, else the client IP.
    Path,
}

/// Where the counters live (`config.policy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// In this process.
    #[default]
    Local,
    /// In Redis, shared by every replica.
    Redis,
}

/// Kong's `redis` record (`kong/tools/redis/schema.lua`).
#[derive(Clone, Debug, PartialEq)]
pub struct RedisConfig {
    /// Host name or address; required with the `redis` policy.
    pub host: Option<String>,
    /// Port.
    pub port: u16,
    /// Connect and command timeout in milliseconds.
    pub timeout: u32,
    /// ACL user name (Redis 6+).
    pub username: Option<String>,
    /// `AUTH` password.
    pub password: Option<Sensitive>,
    /// Database number (`SELECT`).
    pub database: i64,
    /// Connect with TLS.
    pub ssl: bool,
    /// Verify the server's certificate.
    pub ssl_verify: bool,
    /// SNI name for TLS.
    pub server_name: Option<String>,
}

/// Kong's smallest accepted batched `sync_rate`.
const MIN_SYNC_RATE: f64 = 0.02;

// === impl RateLimitingConfig ===

impl RateLimitingConfig {
    /// Parses and validates `config` with Kong's rules and messages.
    pub fn parse(config: &serde_json::Value) -> Result<Self, ConfigError> {
        let mut config = match config {
            serde_json::Value::Object(map) => map.clone(),
            serde_json::Value::Null => serde_json::Map::new(),
            _ => return Err(ConfigError::field("config", "expected a record")),
        };
        shorthand::fold(&mut config)?;
        let raw: raw::Raw = schema::read(&serde_json::Value::Object(config))?;
        raw.into_config()
    }

    /// Kong's `validate_periods_order` and the `sync_rate` rules.
    fn validate(&self) -> Result<(), ConfigError> {
        for (i, (lower, low)) in self.limits.iter().enumerate() {
            for (upper, up) in &self.limits[i + 1..] {
                if up < low {
                    return Err(ConfigError::field(
                        "config",
                        format!(
                            "The limit for {}({up:.1}) cannot be lower than the limit for {}({low:.1})",
                            upper.name(),
                            lower.name()
                        ),
                    ));
                }
            }
        }
        let realtime = self.sync_rate == -1.0;
        if self.policy != Policy::Redis && !realtime {
            return Err(ConfigError::field(
                "config",
                "sync_rate can only be used with the redis policy",
            ));
        }
        if self.policy == Policy::Redis && !realtime && self.sync_rate < MIN_SYNC_RATE {
            return Err(ConfigError::field(
                "config",
                "sync_rate must be greater than 0.02, or -1 to disable",
            ));
        }
        Ok(())
    }

    /// The limit of `period`, if configured.
    pub fn limit(&self, period: Period) -> Option<f64> {
        self.limits
            .iter()
            .find_map(|(p, l)| (*p == period).then_some(*l))
    }

    /// Whether Redis is written on every request (`sync_rate` -1).
    pub fn realtime(&self) -> bool {
        self.sync_rate < 0.0
    }
}

// === impl Period ===

impl Period {
    /// Every window, smallest first (Kong's `ORDERED_PERIODS`).
    pub const ALL: [Period; 6] = [
        Period::Second,
        Period::Minute,
        Period::Hour,
        Period::Day,
        Period::Month,
        Period::Year,
    ];

    /// Kong's name (`minute`), also the config field.
    pub fn name(self) -> &'static str {
        match self {
            Period::Second => "second",
            Period::Minute => "minute",
            Period::Hour => "hour",
            Period::Day => "day",
            Period::Month => "month",
            Period::Year => "year",
        }
    }

    /// Kong's `expiration.lua`: the window's length in seconds (a month is
    /// 30 days and a year 365, as Kong counts them for expiry and resets).
    pub fn seconds(self) -> u64 {
        match self {
            Period::Second => 1,
            Period::Minute => 60,
            Period::Hour => 3600,
            Period::Day => 86_400,
            Period::Month => 2_592_000,
            Period::Year => 31_536_000,
        }
    }
}

// === impl LimitBy ===

impl LimitBy {
    /// Kong's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitBy::Consumer => "consumer",
            LimitBy::Credential => "credential",
            LimitBy::Ip => "ip",
            LimitBy::Service => "service",
            LimitBy::Header => "header",
            LimitBy::Path => "path",
        }
    }
}

// === impl Policy ===

impl Policy {
    /// Kong's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Local => "local",
            Policy::Redis => "redis",
        }
    }
}
