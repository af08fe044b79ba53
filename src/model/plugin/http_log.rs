//! `http-log`: Kong's schema (`kong/plugins/http-log/schema.lua`), every
//! field with Kong's default and messages; priority 12.
//!
//! `custom_fields_by_lua` runs Lua in Kong; kingress has no Lua, so a
//! non-empty map is refused with a problem naming the field. The deprecated
//! `retry_count`, `queue_size` and `flush_timeout` are accepted; the latter
//! two replace `queue.max_batch_size` and `queue.max_coalescing_delay` as in
//! Kong's `Queue.get_plugin_params`.

use crate::model::plugin::ConfigError;
use crate::model::plugin::queue::QueueConfig;
use crate::model::plugin::schema::{self, MASK, Schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

#[cfg(test)]
mod tests;

/// The http-log plugin's configuration. `Debug` hides the endpoint's user
/// info and the header values (they carry credentials).
#[derive(Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpLogConfig {
    /// Where batches are sent (`http` or `https`; user info becomes Basic
    /// authentication).
    pub http_endpoint: String,
    /// `POST`, `PUT` or `PATCH`.
    pub method: String,
    /// `application/json` (or with `; charset=utf-8`).
    pub content_type: String,
    /// Milliseconds a send may take.
    pub timeout: f64,
    /// Milliseconds an idle connection to the endpoint is kept.
    pub keepalive: f64,
    /// Deprecated, without effect (Kong warns).
    pub retry_count: Option<i64>,
    /// Deprecated `queue.max_batch_size`.
    pub queue_size: Option<i64>,
    /// Deprecated `queue.max_coalescing_delay`.
    pub flush_timeout: Option<f64>,
    /// Headers sent with every batch.
    pub headers: Option<BTreeMap<String, String>>,
    /// The batching queue.
    pub queue: QueueConfig,
    /// Lua expressions adding fields to the entry: refused when set.
    pub custom_fields_by_lua: Option<BTreeMap<String, String>>,
}

impl Default for HttpLogConfig {
    fn default() -> Self {
        Self {
            http_endpoint: String::new(),
            method: "POST".into(),
            content_type: "application/json".into(),
            timeout: 10_000.0,
            keepalive: 60_000.0,
            retry_count: None,
            queue_size: None,
            flush_timeout: None,
            headers: None,
            queue: QueueConfig::default(),
            custom_fields_by_lua: None,
        }
    }
}

impl std::fmt::Debug for HttpLogConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpLogConfig")
            .field("http_endpoint", &masked_endpoint(&self.http_endpoint))
            .field("method", &self.method)
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

impl HttpLogConfig {
    /// The queue settings in force: the deprecated fields win when set to
    /// other than their old defaults (Kong's `Queue.get_plugin_params`).
    pub fn effective_queue(&self) -> QueueConfig {
        let mut queue = self.queue.clone();
        if let Some(size) = self.queue_size.filter(|&s| s != 1) {
            queue.max_batch_size = size.max(1);
        }
        if let Some(delay) = self.flush_timeout.filter(|&d| d != 2.0) {
            queue.max_coalescing_delay = delay;
        }
        queue
    }

    /// The endpoint parsed: scheme, authority and path (user info removed),
    /// and the user info, if any.
    pub fn endpoint(&self) -> Result<(http::Uri, Option<String>), ConfigError> {
        parse_endpoint(&self.http_endpoint)
    }
}

/// Splits user info off `endpoint` and checks Kong's url rules.
fn parse_endpoint(endpoint: &str) -> Result<(http::Uri, Option<String>), ConfigError> {
    let field = |m: &str| ConfigError::field("config.http_endpoint", m);
    let (scheme, rest) = endpoint
        .split_once("://")
        .ok_or_else(|| field("missing scheme in url"))?;
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u.to_string()), h),
        None => (None, authority),
    };
    if host.is_empty() {
        return Err(field("missing host in url"));
    }
    if !["http", "https"].contains(&scheme.to_ascii_lowercase().as_str()) {
        return Err(field(&format!("unsupported scheme '{scheme}' in url")));
    }
    let uri = format!("{scheme}://{host}{path}")
        .parse::<http::Uri>()
        .map_err(|e| field(&format!("could not parse url. {e}")))?;
    Ok((uri, userinfo))
}

/// The endpoint with the user info's password masked.
fn masked_endpoint(endpoint: &str) -> String {
    match parse_endpoint(endpoint) {
        Ok((uri, Some(userinfo))) => {
            let user = userinfo.split(':').next().unwrap_or("");
            let scheme = uri.scheme_str().unwrap_or("http");
            let host = uri.authority().map_or("", |a| a.as_str());
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            format!("{scheme}://{user}:{MASK}@{host}{path}")
        }
        _ => endpoint.to_string(),
    }
}

impl Schema for HttpLogConfig {
    const NAME: &'static str = "http-log";
    const PRIORITY: u32 = 12;
    const CONSUMER_SCOPED: bool = true;

    fn parse(config: &Value) -> Result<Self, ConfigError> {
        let parsed: Self = schema::read(config)?;
        if parsed.http_endpoint.is_empty() {
            return Err(ConfigError::field(
                "config.http_endpoint",
                "required field missing",
            ));
        }
        let (_, userinfo) = parsed.endpoint()?;
        if !["POST", "PUT", "PATCH"].contains(&parsed.method.as_str()) {
            return Err(ConfigError::field(
                "config.method",
                "expected one of: POST, PUT, PATCH",
            ));
        }
        if !["application/json", "application/json; charset=utf-8"]
            .contains(&parsed.content_type.as_str())
        {
            return Err(ConfigError::field(
                "config.content_type",
                "expected one of: application/json, application/json; charset=utf-8",
            ));
        }
        for (name, value) in parsed.headers.iter().flatten() {
            check_header(name, value)?;
            if userinfo.is_some() && name.eq_ignore_ascii_case("authorization") {
                return Err(ConfigError::field(
                    "config",
                    "specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed",
                ));
            }
        }
        parsed.queue.validate()?;
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

    /// The endpoint's password and the header values are masked: they are
    /// credentials.
    fn render(&self) -> Value {
        let mut value = schema::render_of(self);
        if let Some(fields) = value.as_object_mut() {
            fields.insert(
                "http_endpoint".into(),
                Value::String(masked_endpoint(&self.http_endpoint)),
            );
            if let Some(Value::Object(headers)) = fields.get_mut("headers") {
                headers
                    .values_mut()
                    .for_each(|v| *v = Value::String(MASK.into()));
            }
        }
        value
    }
}

/// Kong's `headers` key and value rules, with Kong's messages.
fn check_header(name: &str, value: &str) -> Result<(), ConfigError> {
    let err = |m: &str| ConfigError::field("config.headers", m);
    for forbidden in ["Host", "Content-Length", "Content-Type"] {
        if name.eq_ignore_ascii_case(forbidden) {
            return Err(err(&format!("cannot contain '{forbidden}' header")));
        }
    }
    let fine = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !fine {
        return Err(err(&format!(
            "bad header name '{name}', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
        )));
    }
    if value.is_empty() {
        return Err(err("length must be at least 1"));
    }
    if http::HeaderValue::from_str(value).is_err() {
        return Err(err("invalid header value"));
    }
    Ok(())
}
