//! `grpc-web`: Kong's schema (`kong/plugins/grpc-web/schema.lua`), every
//! field with Kong's default; priority 3.
//!
//! `proto` (JSON transcoding through a `.proto` file read from the data
//! plane's disk) is refused: kingress reads no files named by plugin
//! configurations, and without it the plugin serves gRPC-Web's binary and
//! text (base64) forms, which is what gRPC-Web clients send.

use crate::model::plugin::ConfigError;
use crate::model::plugin::schema::{self, Schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The grpc-web plugin's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcWebConfig {
    /// A `.proto` file for JSON transcoding (refused when set).
    pub proto: Option<String>,
    /// Send the path as the route's `strip_path` left it, instead of the
    /// client's (gRPC method names are paths).
    pub pass_stripped_path: Option<bool>,
    /// `Access-Control-Allow-Origin` on every answer.
    pub allow_origin_header: String,
}

impl Default for GrpcWebConfig {
    fn default() -> Self {
        Self {
            proto: None,
            pass_stripped_path: None,
            allow_origin_header: "*".into(),
        }
    }
}

impl Schema for GrpcWebConfig {
    const NAME: &'static str = "grpc-web";
    const PRIORITY: u32 = 3;
    const CONSUMER_SCOPED: bool = true;

    fn parse(config: &Value) -> Result<Self, ConfigError> {
        let parsed: Self = schema::read(config)?;
        if let Some(proto) = &parsed.proto {
            return Err(ConfigError::field(
                "config.proto",
                format!(
                    "'{proto}': JSON transcoding with a .proto file is not supported by kingress; \
                     remove proto (gRPC-Web clients' binary and text forms need none)"
                ),
            ));
        }
        if http::HeaderValue::from_str(&parsed.allow_origin_header).is_err() {
            return Err(ConfigError::field(
                "config.allow_origin_header",
                "must be a valid HTTP header value",
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
    fn kong_defaults_and_refusals() {
        assert_eq!(
            Value::Object(GrpcWebConfig::defaults()),
            json!({"proto": null, "pass_stripped_path": null, "allow_origin_header": "*"})
        );
        let c = GrpcWebConfig::parse(
            &json!({"pass_stripped_path": true, "allow_origin_header": "https://app.example"}),
        )
        .unwrap();
        assert_eq!(c.pass_stripped_path, Some(true));
        assert_eq!(
            GrpcWebConfig::parse(&json!({"allow_origin_header": null}))
                .unwrap()
                .allow_origin_header,
            "*"
        );
        let e = |v| GrpcWebConfig::parse(&v).unwrap_err().to_string();
        assert_eq!(
            e(json!({"proto": "spec/fixtures/grpc/hello.proto"})),
            "config.proto: 'spec/fixtures/grpc/hello.proto': JSON transcoding with a .proto file \
             is not supported by kingress; remove proto (gRPC-Web clients' binary and text forms need none)"
        );
        assert_eq!(
            e(json!({"pass_stripped_path": "yes"})),
            "config.pass_stripped_path: expected a boolean"
        );
        assert!(e(json!({"bogus": 1})).starts_with("config.bogus"));
        assert_eq!(
            GrpcWebConfig::parse(&json!({})).unwrap().render(),
            json!({"proto": null, "pass_stripped_path": null, "allow_origin_header": "*"})
        );
    }

    /// Kong's other gRPC plugin transcodes REST to gRPC with a `.proto`
    /// file; kingress does not implement it and says so.
    #[test]
    fn grpc_gateway_is_refused_by_name() {
        let e =
            crate::model::plugin::PluginConfig::parse("grpc-gateway", &json!({"proto": "x.proto"}))
                .unwrap_err();
        assert_eq!(
            e.to_string(),
            "plugin 'grpc-gateway' is not supported by kingress"
        );
    }
}
