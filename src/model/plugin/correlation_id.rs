//! `correlation-id`: Kong's schema (`kong/plugins/correlation-id/schema.lua`),
//! every field with Kong's default; priority 100001 (it runs first, so every
//! other plugin, the upstream and the log see the id).

use crate::model::plugin::ConfigError;
use crate::model::plugin::schema::{self, Schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The correlation-id plugin's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorrelationIdConfig {
    /// The header carrying the id (to the upstream, and back when
    /// `echo_downstream`).
    pub header_name: String,
    /// How a missing id is made.
    pub generator: Generator,
    /// Send the id back to the client too.
    pub echo_downstream: bool,
}

/// Kong's generators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub enum Generator {
    /// A random (v4) UUID per request.
    #[serde(rename = "uuid")]
    Uuid,
    /// A per-process UUID, `#`, and a per-process counter.
    #[serde(rename = "uuid#counter")]
    UuidCounter,
    /// `<server addr>-<server port>-<pid>-<connection>-<request on the
    /// connection>-<seconds.millis>`.
    #[serde(rename = "tracker")]
    Tracker,
}

impl Default for CorrelationIdConfig {
    fn default() -> Self {
        Self {
            header_name: "Kong-Request-ID".into(),
            generator: Generator::UuidCounter,
            echo_downstream: false,
        }
    }
}

impl Schema for CorrelationIdConfig {
    const NAME: &'static str = "correlation-id";
    const PRIORITY: u32 = 100001;
    const CONSUMER_SCOPED: bool = true;

    fn parse(config: &Value) -> Result<Self, ConfigError> {
        let parsed: Self = schema::read(config)?;
        if parsed.header_name.is_empty() {
            return Err(ConfigError::field(
                "config.header_name",
                "length must be at least 1",
            ));
        }
        // Kong takes any string; a name that is not a valid HTTP header
        // name cannot be sent, so it is refused rather than ignored.
        if http::HeaderName::from_bytes(parsed.header_name.as_bytes()).is_err() {
            return Err(ConfigError::field(
                "config.header_name",
                format!("'{}' is not a valid HTTP header name", parsed.header_name),
            ));
        }
        Ok(parsed)
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
    fn kong_defaults_and_messages() {
        assert_eq!(
            Value::Object(CorrelationIdConfig::defaults()),
            json!({"header_name": "Kong-Request-ID", "generator": "uuid#counter",
                   "echo_downstream": false})
        );
        // 02-schema_spec: a null generator is the default here (kingress's
        // null-means-default rule; Kong's DB-less loader fills it in too).
        let c = CorrelationIdConfig::parse(&json!({"generator": null})).unwrap();
        assert_eq!(c.generator, Generator::UuidCounter);
        let c = CorrelationIdConfig::parse(&json!({"generator": "tracker"})).unwrap();
        assert_eq!(c.generator, Generator::Tracker);
        let e = |v| CorrelationIdConfig::parse(&v).unwrap_err().to_string();
        assert_eq!(
            e(json!({"generator": "uuid4"})),
            "config.generator: expected one of: uuid, uuid#counter, tracker"
        );
        assert_eq!(
            e(json!({"echo_downstream": "yes"})),
            "config.echo_downstream: expected a boolean"
        );
        assert_eq!(
            e(json!({"header_name": ""})),
            "config.header_name: length must be at least 1"
        );
        assert_eq!(
            e(json!({"header_name": "bad header"})),
            "config.header_name: 'bad header' is not a valid HTTP header name"
        );
        assert_eq!(
            CorrelationIdConfig::parse(
                &json!({"header_name": "Foo-Bar-Id", "echo_downstream": true})
            )
            .unwrap()
            .render(),
            json!({"header_name": "Foo-Bar-Id", "generator": "uuid#counter", "echo_downstream": true})
        );
    }
}
