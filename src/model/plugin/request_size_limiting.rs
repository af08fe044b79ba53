//! `request-size-limiting`: Kong's schema
//! (`kong/plugins/request-size-limiting/schema.lua`), every field with
//! Kong's default; priority 951.

use crate::model::plugin::ConfigError;
use crate::model::plugin::schema::{self, Schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The request-size-limiting plugin's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestSizeLimitingConfig {
    /// The largest body allowed, in `size_unit`s.
    pub allowed_payload_size: i64,
    /// The unit of `allowed_payload_size`.
    pub size_unit: SizeUnit,
    /// Refuse (411) a request that has neither a `Content-Length` nor a
    /// chunked body.
    pub require_content_length: bool,
}

/// Kong's units (powers of 1024).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SizeUnit {
    /// 1048576 bytes.
    Megabytes,
    /// 1024 bytes.
    Kilobytes,
    /// 1 byte.
    Bytes,
}

impl Default for RequestSizeLimitingConfig {
    fn default() -> Self {
        Self {
            allowed_payload_size: 128,
            size_unit: SizeUnit::Megabytes,
            require_content_length: false,
        }
    }
}

impl RequestSizeLimitingConfig {
    /// The limit in bytes (a negative size allows nothing, as in Kong where
    /// every length is larger).
    pub fn limit_bytes(&self) -> u64 {
        let factor: u64 = match self.size_unit {
            SizeUnit::Megabytes => 1 << 20,
            SizeUnit::Kilobytes => 1 << 10,
            SizeUnit::Bytes => 1,
        };
        u64::try_from(self.allowed_payload_size).map_or(0, |n| n.saturating_mul(factor))
    }

    /// Whether a body of `length` bytes is refused.
    pub fn exceeded(&self, length: u64) -> bool {
        self.allowed_payload_size < 0 || length > self.limit_bytes()
    }
}

impl Schema for RequestSizeLimitingConfig {
    const NAME: &'static str = "request-size-limiting";
    const PRIORITY: u32 = 951;
    const CONSUMER_SCOPED: bool = true;

    fn parse(config: &Value) -> Result<Self, ConfigError> {
        schema::read(config)
    }

    fn defaults() -> Map<String, Value> {
        schema::defaults_of::<Self>()
    }

    fn render(&self) -> Value {
        schema::render_of(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kong_defaults_units_and_messages() {
        assert_eq!(
            Value::Object(RequestSizeLimitingConfig::defaults()),
            json!({"allowed_payload_size": 128, "size_unit": "megabytes",
                   "require_content_length": false})
        );
        let c = RequestSizeLimitingConfig::parse(&json!({})).unwrap();
        assert_eq!(c.limit_bytes(), 128 * 1048576);
        let limit = |size: i64, unit: &str| {
            RequestSizeLimitingConfig::parse(
                &json!({"allowed_payload_size": size, "size_unit": unit}),
            )
            .unwrap()
        };
        assert_eq!(limit(2, "kilobytes").limit_bytes(), 2048);
        assert_eq!(limit(2, "bytes").limit_bytes(), 2);
        assert!(limit(2, "bytes").exceeded(3));
        assert!(!limit(2, "bytes").exceeded(2));
        assert!(limit(-1, "bytes").exceeded(0));
        assert!(!limit(i64::MAX, "megabytes").exceeded(u64::MAX));
        let e = |v| {
            RequestSizeLimitingConfig::parse(&v)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e(json!({"size_unit": "gigabytes"})),
            "config.size_unit: expected one of: megabytes, kilobytes, bytes"
        );
        assert_eq!(
            e(json!({"allowed_payload_size": 1.5})),
            "config.allowed_payload_size: expected an integer"
        );
        assert_eq!(
            e(json!({"require_content_length": 1})),
            "config.require_content_length: expected a boolean"
        );
    }
}
