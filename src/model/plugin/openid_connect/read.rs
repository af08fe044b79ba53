//! Typed readers over the raw `config` object. Each reader treats an absent
//! field and an explicit `null` alike (Kong's "unset") and names the field
//! in Kong's spelling (`config.leeway`) when the value has the wrong shape.

use super::super::ConfigError;
use serde_json::{Map, Value};

/// The `config` object being parsed.
pub(super) struct Fields<'a>(pub(super) &'a Map<String, Value>);

// === impl Fields ===

impl<'a> Fields<'a> {
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// A string field.
    pub(super) fn string(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(field(key, "expected a string")),
        }
    }

    /// A string field that must not be empty when present.
    pub(super) fn non_empty(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.string(key)? {
            Some(s) if s.trim().is_empty() => Err(field(key, "must not be empty")),
            other => Ok(other),
        }
    }

    /// An array-of-strings field; a single string counts as a one-element
    /// array (the seed writes `client_id: "kong"`).
    pub(super) fn strings(&self, key: &str) -> Result<Option<Vec<String>>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(field(&super::fields::element(key, i), "expected a string")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(field(key, "expected a string or an array of strings")),
        }
    }

    /// At most one string from an array field. Kong allows several clients
    /// selected per request by `client_arg`; kingress supports one.
    pub(super) fn single(&self, key: &str) -> Result<Option<String>, ConfigError> {
        let Some(mut items) = self.strings(key)? else {
            return Ok(None);
        };
        match items.len() {
            0 => Ok(None),
            1 => Ok(items.pop()),
            _ => Err(field(key, "only one client is supported")),
        }
    }

    /// A boolean field.
    pub(super) fn bool_or(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(field(key, "expected a boolean")),
        }
    }

    /// A non-negative whole number (Kong numbers; a fraction is refused
    /// rather than silently rounded).
    pub(super) fn uint_or(&self, key: &str, default: u64) -> Result<u64, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Number(n)) => {
                if let Some(u) = n.as_u64() {
                    Ok(u)
                } else {
                    match n.as_f64() {
                        Some(f) if f >= 0.0 && f.fract() == 0.0 && f < u64::MAX as f64 => {
                            Ok(f as u64)
                        }
                        _ => Err(field(key, "expected a non-negative whole number")),
                    }
                }
            }
            Some(_) => Err(field(key, "expected a number")),
        }
    }

    /// Whether the field is present with a non-null value.
    pub(super) fn is_set(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The raw value of a field.
    pub(super) fn raw(&self, key: &str) -> Option<&'a Value> {
        self.get(key)
    }
}

/// A field error for `config.<key>`.
pub(super) fn field(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::field(format!("config.{key}"), message)
}

/// Checks that `value` is an absolute `http`/`https` URL with a host.
pub(super) fn http_url(key: &str, value: &str) -> Result<(), ConfigError> {
    let uri: http::Uri = value
        .parse()
        .map_err(|_| field(key, format!("'{value}' is not a valid URL")))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(host)) if !host.is_empty() => Ok(()),
        _ => Err(field(
            key,
            format!("'{value}' must be an absolute http or https URL"),
        )),
    }
}
