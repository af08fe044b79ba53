//! `file-log`: Kong's schema (`kong/plugins/file-log/schema.lua`); priority 9.
//! `custom_fields_by_lua` (Lua) is refused with a problem naming the field.

use crate::model::plugin::ConfigError;
use crate::model::plugin::schema::{self, Schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The file-log plugin's configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileLogConfig {
    /// The file entries are appended to (created when missing).
    pub path: String,
    /// Close and reopen the file for every entry (for log rotation by
    /// renaming).
    pub reopen: bool,
    /// Lua expressions adding fields to the entry: refused when set.
    pub custom_fields_by_lua: Option<BTreeMap<String, String>>,
}

impl Schema for FileLogConfig {
    const NAME: &'static str = "file-log";
    const PRIORITY: u32 = 9;
    const CONSUMER_SCOPED: bool = true;

    fn parse(config: &Value) -> Result<Self, ConfigError> {
        let parsed: Self = schema::read(config)?;
        if parsed.path.is_empty() {
            return Err(ConfigError::field("config.path", "required field missing"));
        }
        if !valid_filename(&parsed.path) {
            return Err(ConfigError::field("config.path", "not a valid filename"));
        }
        if let Some(fields) = parsed
            .custom_fields_by_lua
            .as_ref()
            .filter(|m| !m.is_empty())
        {
            let names: Vec<&str> = fields.keys().map(String::as_str).collect();
            return Err(ConfigError::field(
                "config.custom_fields_by_lua",
                format!(
                    "Lua code is not supported by kingress (fields {}); remove custom_fields_by_lua",
                    names.join(", ")
                ),
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

/// Kong's pattern `^[^%s*&%%\`][^*&%%\`]*[^%s*&%%\`]$`: at least two
/// characters, none of `*&%\``, no white space at either end.
fn valid_filename(path: &str) -> bool {
    let bad = |c: char| matches!(c, '*' | '&' | '%' | '\\' | '`');
    let chars: Vec<char> = path.chars().collect();
    match (chars.first(), chars.last()) {
        (Some(&first), Some(&last)) if chars.len() >= 2 => {
            !chars.iter().any(|&c| bad(c)) && !first.is_whitespace() && !last.is_whitespace()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    //! Kong's spec/03-plugins/04-file-log/02-schema_spec.lua.
    use super::*;
    use serde_json::json;

    fn err(v: Value) -> String {
        FileLogConfig::parse(&v).unwrap_err().to_string()
    }

    #[test]
    fn kong_schema_cases() {
        let ok = FileLogConfig::parse(&json!({"path": "/tmp/log.txt"})).unwrap();
        assert!(!ok.reopen);
        assert_eq!(err(json!({})), "config.path: required field missing");
        assert_eq!(
            err(json!({"path": "/ends/with space "})),
            "config.path: not a valid filename"
        );
        assert_eq!(
            err(json!({"path": "/a*b"})),
            "config.path: not a valid filename"
        );
        assert_eq!(
            err(json!({"path": "/a&b"})),
            "config.path: not a valid filename"
        );
        assert_eq!(
            err(json!({"path": "x"})),
            "config.path: not a valid filename"
        );
        assert_eq!(
            err(json!({"path": "/x", "reopen": "yes"})),
            "config.reopen: expected a boolean"
        );
        assert_eq!(
            err(json!({"path": "/x", "custom_fields_by_lua": {"a": "return 1"}})),
            "config.custom_fields_by_lua: Lua code is not supported by kingress (fields a); remove custom_fields_by_lua"
        );
        assert_eq!(
            Value::Object(FileLogConfig::defaults()),
            json!({"path": "", "reopen": false, "custom_fields_by_lua": null})
        );
    }
}
