//! `acl`: Kong's schema (`kong/plugins/acl/schema.lua`, with Kong
//! Enterprise's `include_consumer_groups`); priority 950.

use crate::model::plugin::ConfigError;
use crate::model::plugin::schema::{self, FormType, Schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The acl plugin's configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AclConfig {
    /// Groups allowed (exclusive with `deny`).
    pub allow: Option<Vec<String>>,
    /// Groups denied (exclusive with `allow`).
    pub deny: Option<Vec<String>>,
    /// Do not send `X-Consumer-Groups` upstream.
    pub hide_groups_header: bool,
    /// Prefer an identity provider's groups over the consumer's.
    pub always_use_authenticated_groups: bool,
    /// Count the consumer's consumer groups as groups.
    pub include_consumer_groups: bool,
}

impl Schema for AclConfig {
    const NAME: &'static str = "acl";
    const PRIORITY: u32 = 950;
    const CONSUMER_SCOPED: bool = false;
    const NULL_TYPES: &'static [(&'static str, FormType)] =
        &[("allow", FormType::Strings), ("deny", FormType::Strings)];

    fn parse(config: &Value) -> Result<Self, ConfigError> {
        let parsed: Self = schema::read(config)?;
        let set = |v: &Option<Vec<String>>| v.as_ref().is_some_and(|g| !g.is_empty());
        match (set(&parsed.allow), set(&parsed.deny)) {
            (true, true) => Err(ConfigError::field(
                "@entity",
                "only one of these fields must be non-empty: 'config.allow', 'config.deny'",
            )),
            (false, false) => Err(ConfigError::field(
                "@entity",
                "at least one of these fields must be non-empty: 'config.allow', 'config.deny'",
            )),
            _ => Ok(parsed),
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

    #[test]
    fn kong_entity_checks_and_defaults() {
        let e = |v| AclConfig::parse(&v).unwrap_err().to_string();
        assert_eq!(
            e(json!({})),
            "@entity: at least one of these fields must be non-empty: 'config.allow', 'config.deny'"
        );
        assert_eq!(
            e(json!({"allow": ["a"], "deny": ["b"]})),
            "@entity: only one of these fields must be non-empty: 'config.allow', 'config.deny'"
        );
        assert!(AclConfig::parse(&json!({"deny": ["b"]})).is_ok());
        assert_eq!(
            Value::Object(AclConfig::defaults()),
            json!({"allow": null, "deny": null, "hide_groups_header": false,
                   "always_use_authenticated_groups": false, "include_consumer_groups": false})
        );
    }
}
