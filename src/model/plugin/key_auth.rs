//! `key-auth`: Kong's schema (`kong/plugins/key-auth/schema.lua`), every
//! field with Kong's default; priority 1250.

use crate::model::plugin::ConfigError;
use crate::model::plugin::schema::{self, Schema};
use crate::model::{CredentialType, Derived};
use http::HeaderName;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The key-auth plugin's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeyAuthConfig {
    /// Header, query and body parameter names searched, in order.
    pub key_names: Vec<String>,
    /// Remove the key from the request before proxying.
    pub hide_credentials: bool,
    /// Consumer id or username to continue as when authentication fails.
    pub anonymous: Option<String>,
    /// Search the headers.
    pub key_in_header: bool,
    /// Search the query string.
    pub key_in_query: bool,
    /// Search form, JSON and multipart bodies.
    pub key_in_body: bool,
    /// Authenticate `OPTIONS` requests too.
    pub run_on_preflight: bool,
    /// `realm` of the `WWW-Authenticate` challenge.
    pub realm: Option<String>,
    /// `key_names` as header names (`None` for one no header can have).
    #[serde(skip)]
    pub key_headers: Derived<Vec<Option<HeaderName>>>,
}

impl Default for KeyAuthConfig {
    fn default() -> Self {
        Self {
            key_names: vec!["apikey".into()],
            hide_credentials: false,
            anonymous: None,
            key_in_header: true,
            key_in_query: true,
            key_in_body: false,
            run_on_preflight: true,
            realm: None,
            key_headers: Derived::default(),
        }
    }
}

// === impl KeyAuthConfig ===

impl KeyAuthConfig {
    /// `key_names` as header names, in the same order.
    pub fn header_names(&self) -> &[Option<HeaderName>] {
        self.key_headers.get_or_init(|| {
            self.key_names
                .iter()
                .map(|n| HeaderName::from_bytes(n.as_bytes()).ok())
                .collect()
        })
    }
}

/// Kong's `typedefs.header_name` rule, shared by every plugin whose config
/// names headers: letters, digits, `_` and `-`.
pub fn check_header_names(field: &str, names: &[String]) -> Result<(), ConfigError> {
    for (i, name) in names.iter().enumerate() {
        schema::check_header_name(&format!("config.{field}.{}", i + 1), name)?;
    }
    Ok(())
}

impl Schema for KeyAuthConfig {
    const NAME: &'static str = "key-auth";
    const PRIORITY: u32 = 1250;
    const CREDENTIAL: Option<CredentialType> = Some(CredentialType::KeyAuth);

    fn parse(config: &Value) -> Result<Self, ConfigError> {
        let parsed: Self = schema::read(config)?;
        check_header_names("key_names", &parsed.key_names)?;
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
    fn kong_defaults_and_rules() {
        let c = KeyAuthConfig::parse(&json!({})).unwrap();
        assert_eq!(c, KeyAuthConfig::default());
        assert_eq!(
            Value::Object(KeyAuthConfig::defaults()),
            json!({"key_names": ["apikey"], "hide_credentials": false, "anonymous": null,
                   "key_in_header": true, "key_in_query": true, "key_in_body": false,
                   "run_on_preflight": true, "realm": null})
        );
        let e = KeyAuthConfig::parse(&json!({"key_names": ["ok", "bad name"]})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "config.key_names.2: bad header name 'bad name', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
        );
        let e = KeyAuthConfig::parse(&json!({"key_in_body": "yes"})).unwrap_err();
        assert_eq!(e.to_string(), "config.key_in_body: expected a boolean");
        let c =
            KeyAuthConfig::parse(&json!({"anonymous": "anon", "realm": "r", "key_names": null}))
                .unwrap();
        assert_eq!(c.key_names, ["apikey"]);
        assert_eq!(c.render()["anonymous"], "anon");
    }
}
