//! `basic-auth`: Kong's schema (`kong/plugins/basic-auth/schema.lua`),
//! every field with Kong's default; priority 1100.

use crate::model::CredentialType;
use crate::model::plugin::ConfigError;
use crate::model::plugin::schema::{self, Schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The basic-auth plugin's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BasicAuthConfig {
    /// Consumer id or username to continue as when authentication fails.
    pub anonymous: Option<String>,
    /// Remove the `Authorization` (and `Proxy-Authorization`) header
    /// before proxying.
    pub hide_credentials: bool,
    /// `realm` of the `WWW-Authenticate` challenge.
    pub realm: String,
}

impl Default for BasicAuthConfig {
    fn default() -> Self {
        Self {
            anonymous: None,
            hide_credentials: false,
            realm: "service".into(),
        }
    }
}

impl Schema for BasicAuthConfig {
    const NAME: &'static str = "basic-auth";
    const PRIORITY: u32 = 1100;
    const CREDENTIAL: Option<CredentialType> = Some(CredentialType::BasicAuth);

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
    fn kong_defaults_and_types() {
        assert_eq!(
            Value::Object(BasicAuthConfig::defaults()),
            json!({"anonymous": null, "hide_credentials": false, "realm": "service"})
        );
        assert_eq!(
            BasicAuthConfig::parse(&json!({"realm": null})).unwrap(),
            BasicAuthConfig::default()
        );
        let e = BasicAuthConfig::parse(&json!({"realm": 1})).unwrap_err();
        assert_eq!(e.to_string(), "config.realm: expected a string");
        // Unknown fields are refused (the path's exact form is schema::read's).
        let e = BasicAuthConfig::parse(&json!({"key_names": []})).unwrap_err();
        assert!(e.to_string().starts_with("config.key_names"), "{e}");
        assert!(e.to_string().ends_with("unknown field"), "{e}");
    }
}
