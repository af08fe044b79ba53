//! `response-transformer`: every field of Kong's schema
//! (`kong/plugins/response-transformer/schema.lua`) with its defaults and
//! messages; priority 800.
//!
//! Kong checks header names only for renames; a header name or value the
//! response cannot carry (`bad name:v`, a CR/LF) would fail every response
//! there, so it is refused here.

use super::ConfigError;
use super::schema::{self, Schema};
use super::transform::{check_colon, check_each, check_header, header_value_ok, split};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[cfg(test)]
mod tests;

/// The response-transformer plugin's configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResponseTransformerConfig {
    /// JSON keys and headers to remove.
    pub remove: Names,
    /// `old:new` JSON keys and headers to rename.
    pub rename: Names,
    /// `name:value` to replace where present.
    pub replace: Typed,
    /// `name:value` to add where absent.
    pub add: Typed,
    /// `name:value` to append.
    pub append: Typed,
}

/// The `remove` and `rename` records.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Names {
    /// Top-level keys of a JSON body.
    pub json: Vec<String>,
    /// Headers.
    pub headers: Vec<String>,
}

/// The `replace`, `add` and `append` records.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Typed {
    /// `key:value` of a JSON body.
    pub json: Vec<String>,
    /// The JSON type of each `json` value, by position (string when absent).
    pub json_types: Vec<JsonType>,
    /// `name:value` headers.
    pub headers: Vec<String>,
}

/// A JSON value's type (`config.*.json_types`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JsonType {
    /// `true` when the value is `true`, else `false`.
    Boolean,
    /// A number; a value that is not one is skipped.
    Number,
    /// A string.
    String,
}

impl Schema for ResponseTransformerConfig {
    const NAME: &'static str = "response-transformer";
    const PRIORITY: u32 = 800;
    const CONSUMER_SCOPED: bool = true;

    fn parse(config: &Value) -> Result<Self, ConfigError> {
        let parsed: Self = schema::read(config)?;
        parsed.validate()?;
        Ok(parsed)
    }

    fn defaults() -> Map<String, Value> {
        schema::defaults_of::<Self>()
    }

    fn render(&self) -> Value {
        schema::render_of(self)
    }
}

// === impl ResponseTransformerConfig ===

impl ResponseTransformerConfig {
    /// Kong's element checks, then the header names and values a response
    /// can carry.
    fn validate(&self) -> Result<(), ConfigError> {
        let rename_header = |e: &str| check_colon(e).and_then(|()| check_header(e, true));
        let set_header = |e: &str| {
            check_colon(e)?;
            check_header(e, false)?;
            match split(e) {
                Some((_, v)) if !header_value_ok(v) => {
                    Err(format!("'{v}' is not a valid header value"))
                }
                _ => Ok(()),
            }
        };
        check_each("config.rename.json", &self.rename.json, check_colon)?;
        check_each("config.rename.headers", &self.rename.headers, rename_header)?;
        for (op, typed) in [
            ("replace", &self.replace),
            ("add", &self.add),
            ("append", &self.append),
        ] {
            check_each(&format!("config.{op}.json"), &typed.json, check_colon)?;
            check_each(&format!("config.{op}.headers"), &typed.headers, set_header)?;
        }
        Ok(())
    }

    /// Whether any entry edits a JSON body (Kong's `is_body_transform_set`).
    pub fn edits_json(&self) -> bool {
        !(self.remove.json.is_empty()
            && self.rename.json.is_empty()
            && self.replace.json.is_empty()
            && self.add.json.is_empty()
            && self.append.json.is_empty())
    }
}
