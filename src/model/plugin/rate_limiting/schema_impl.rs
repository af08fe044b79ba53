//! `rate-limiting` in the registry: Kong's name, priority, defaults and how
//! the Admin API prints a parsed config.

use super::{Period, RateLimitingConfig};
use crate::model::plugin::ConfigError;
use crate::model::plugin::schema::{FormType, Schema, mask};
use serde_json::{Map, Value, json};

impl Schema for RateLimitingConfig {
    const NAME: &'static str = "rate-limiting";
    const PRIORITY: u32 = 910;
    const CONSUMER_SCOPED: bool = true;
    const NULL_TYPES: &'static [(&'static str, FormType)] = &[
        ("second", FormType::Number),
        ("minute", FormType::Number),
        ("hour", FormType::Number),
        ("day", FormType::Number),
        ("month", FormType::Number),
        ("year", FormType::Number),
    ];

    fn parse(config: &Value) -> Result<Self, ConfigError> {
        RateLimitingConfig::parse(config)
    }

    fn fold_shorthands(config: &mut Map<String, Value>) {
        // A conflict stays for `parse` to report.
        let mut folded = config.clone();
        if super::shorthand::fold(&mut folded).is_ok() {
            *config = folded;
        }
    }

    /// Kong's defaults. The deprecated `redis_*` fields are not fields of
    /// their own (Kong folds them into `redis`), so they have no default.
    fn defaults() -> Map<String, Value> {
        let value = json!({
            "second": null,
            "minute": null,
            "hour": null,
            "day": null,
            "month": null,
            "year": null,
            "limit_by": "consumer",
            "header_name": null,
            "path": null,
            "policy": "local",
            "fault_tolerant": true,
            "redis": {
                "host": null,
                "port": 6379,
                "timeout": 2000,
                "username": null,
                "password": null,
                "database": 0,
                "ssl": false,
                "ssl_verify": false,
                "server_name": null,
            },
            "hide_client_headers": false,
            "error_code": 429,
            "error_message": "API rate limit exceeded",
            "sync_rate": -1,
        });
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    /// Kong prints the deprecated `redis_*` fields too, mirroring `redis`.
    fn render(&self) -> Value {
        let r = &self.redis;
        let mut out = json!({
            "limit_by": self.limit_by.as_str(),
            "header_name": self.header_name,
            "path": self.path,
            "policy": self.policy.as_str(),
            "fault_tolerant": self.fault_tolerant,
            "redis": {
                "host": r.host,
                "port": r.port,
                "timeout": r.timeout,
                "username": r.username,
                "password": mask(&r.password),
                "database": r.database,
                "ssl": r.ssl,
                "ssl_verify": r.ssl_verify,
                "server_name": r.server_name,
            },
            "hide_client_headers": self.hide_client_headers,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "sync_rate": number(self.sync_rate),
            "redis_host": r.host,
            "redis_port": r.port,
            "redis_timeout": r.timeout,
            "redis_username": r.username,
            "redis_password": mask(&r.password),
            "redis_database": r.database,
            "redis_ssl": r.ssl,
            "redis_ssl_verify": r.ssl_verify,
            "redis_server_name": r.server_name,
        });
        for period in Period::ALL {
            out[period.name()] = self.limit(period).map_or(Value::Null, number);
        }
        out
    }
}

/// A whole number prints as an integer (`5`, not `5.0`), as Kong's JSON does.
pub fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        Value::from(n)
    }
}
