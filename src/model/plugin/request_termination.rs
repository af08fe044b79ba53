//! `request-termination`: Kong's schema
//! (`kong/plugins/request-termination/schema.lua`), every field with Kong's
//! default and Kong's cross-field messages; priority 2.

use crate::model::plugin::ConfigError;
use crate::model::plugin::schema::{self, Schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The request-termination plugin's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestTerminationConfig {
    /// The status of the answer.
    pub status_code: i64,
    /// `{"message": …}` body (Kong's default message for the status when
    /// unset).
    pub message: Option<String>,
    /// `Content-Type` of `body`.
    pub content_type: Option<String>,
    /// A raw body, sent as it is.
    pub body: Option<String>,
    /// Answer with a JSON copy of the request (for debugging).
    pub echo: bool,
    /// Terminate only requests carrying this header or query argument.
    pub trigger: Option<String>,
}

impl Default for RequestTerminationConfig {
    fn default() -> Self {
        Self {
            status_code: 503,
            message: None,
            content_type: None,
            body: None,
            echo: false,
            trigger: None,
        }
    }
}

fn present(value: &Option<String>) -> bool {
    value.as_ref().is_some_and(|v| !v.is_empty())
}

impl Schema for RequestTerminationConfig {
    const NAME: &'static str = "request-termination";
    const PRIORITY: u32 = 2;
    const CONSUMER_SCOPED: bool = true;

    fn parse(config: &Value) -> Result<Self, ConfigError> {
        let parsed: Self = schema::read(config)?;
        if !(100..=599).contains(&parsed.status_code) {
            return Err(ConfigError::field(
                "config.status_code",
                "value should be between 100 and 599",
            ));
        }
        // Kong accepts 1xx, but an informational status cannot end an
        // exchange (HTTP/1.1 and HTTP/2 both wait for a final one).
        if parsed.status_code < 200 {
            return Err(ConfigError::field(
                "config.status_code",
                format!(
                    "{} is informational: kingress answers only with a final status (200-599)",
                    parsed.status_code
                ),
            ));
        }
        for (field, value) in [
            ("message", &parsed.message),
            ("content_type", &parsed.content_type),
            ("body", &parsed.body),
        ] {
            if value.as_deref() == Some("") {
                return Err(ConfigError::field(
                    format!("config.{field}"),
                    "length must be at least 1",
                ));
            }
        }
        if let Some(trigger) = &parsed.trigger {
            schema::check_header_name("config.trigger", trigger)?;
        }
        if present(&parsed.content_type)
            && http::HeaderValue::from_str(parsed.content_type.as_deref().unwrap_or_default())
                .is_err()
        {
            return Err(ConfigError::field(
                "config.content_type",
                "not a valid header value",
            ));
        }
        let rule = if present(&parsed.message)
            && (present(&parsed.content_type) || present(&parsed.body))
        {
            Some("message cannot be used with content_type or body")
        } else if present(&parsed.content_type) && !present(&parsed.body) {
            Some("content_type requires a body")
        } else if parsed.echo && (present(&parsed.content_type) || present(&parsed.body)) {
            Some("echo cannot be used with content_type and body")
        } else {
            None
        };
        match rule {
            Some(message) => Err(ConfigError::field("config", message)),
            None => Ok(parsed),
        }
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

    /// `01-schema_spec.lua`, case by case.
    #[test]
    fn kong_schema_rules() {
        let e = |v| RequestTerminationConfig::parse(&v).unwrap_err().to_string();
        assert_eq!(
            e(json!({"status_code": "abcd"})),
            "config.status_code: expected an integer"
        );
        assert_eq!(
            e(json!({"status_code": 99})),
            "config.status_code: value should be between 100 and 599"
        );
        assert_eq!(
            e(json!({"status_code": 600})),
            "config.status_code: value should be between 100 and 599"
        );
        assert!(e(json!({"status_code": 101})).contains("informational"));
        assert_eq!(
            e(json!({"message": "error", "body": "test"})),
            "config: message cannot be used with content_type or body"
        );
        assert_eq!(
            e(json!({"message": "error", "content_type": "text/html", "body": "test"})),
            "config: message cannot be used with content_type or body"
        );
        assert_eq!(
            e(json!({"message": "error", "content_type": "text/html"})),
            "config: message cannot be used with content_type or body"
        );
        assert_eq!(
            e(json!({"content_type": "text/html"})),
            "config: content_type requires a body"
        );
        assert_eq!(
            e(
                json!({"echo": true, "content_type": "text/html", "body": "<body><h1>Not found</h1>"})
            ),
            "config: echo cannot be used with content_type and body"
        );
        assert_eq!(
            e(json!({"trigger": "a b"})),
            "config.trigger: bad header name 'a b', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
        );
        assert_eq!(
            e(json!({"body": ""})),
            "config.body: length must be at least 1"
        );
        // "status_code allows 599", "message with status_code", "body with content_type".
        for ok in [
            json!({"status_code": 599}),
            json!({"status_code": 200, "message": "Invalid"}),
            json!({"status_code": 451, "content_type": "text/html", "body": "<h1>x</h1>"}),
            json!({"echo": true, "trigger": "gimme-an-echo"}),
        ] {
            assert!(RequestTerminationConfig::parse(&ok).is_ok(), "{ok}");
        }
        assert_eq!(
            Value::Object(RequestTerminationConfig::defaults()),
            json!({"status_code": 503, "message": null, "content_type": null, "body": null,
                   "echo": false, "trigger": null})
        );
    }
}
