//! `opentelemetry`: Kong's schema (`kong/plugins/opentelemetry/schema.lua`),
//! every field with Kong's default, the deprecated `endpoint` shorthand and
//! the deprecated `batch_span_count`, `batch_flush_delay` and `header_type`
//! folded as Kong folds them; priority 14.
//!
//! Kong evaluates `resource_attributes` values as Lua templates
//! (`$(headers.host)`) and resolves `{vault://…}` references; kingress runs
//! no Lua and has no vault, so both are refused with a clear problem.

use crate::model::Sensitive;
use crate::model::plugin::ConfigError;
use crate::model::plugin::key_auth::check_header_names;
use crate::model::plugin::queue::QueueConfig;
use crate::model::plugin::schema::{self, FormType, MASK, Schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

mod propagation;
#[cfg(test)]
mod tests;

pub use propagation::{Effective, Format, HeaderType, Inject, PropagationConfig};

/// The opentelemetry plugin's configuration.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpentelemetryConfig {
    /// OTLP/HTTP traces endpoint (`…/v1/traces`).
    pub traces_endpoint: Option<String>,
    /// OTLP/HTTP logs endpoint (`…/v1/logs`).
    pub logs_endpoint: Option<String>,
    /// Headers added to every export request (often a token).
    pub headers: Option<BTreeMap<String, HeaderSecret>>,
    /// Resource attributes; they override `service.name` and friends.
    pub resource_attributes: Option<BTreeMap<String, String>>,
    /// The export queue.
    pub queue: QueueConfig,
    /// Deprecated: `queue.max_batch_size` when not 200.
    pub batch_span_count: Option<i64>,
    /// Deprecated: `queue.max_coalescing_delay` when not 3.
    pub batch_flush_delay: Option<i64>,
    /// Milliseconds to connect to the collector.
    pub connect_timeout: i64,
    /// Milliseconds to send a request.
    pub send_timeout: i64,
    /// Milliseconds to wait for the answer.
    pub read_timeout: i64,
    /// A response header that carries the trace id (hex).
    pub http_response_header_for_traceid: Option<String>,
    /// Deprecated: the propagation when `propagation` sets nothing.
    pub header_type: HeaderType,
    /// Probability a trace is sampled (unset: every request, see
    /// [`DEFAULT_SAMPLING_RATE`]).
    pub sampling_rate: Option<f64>,
    /// Extraction, clearing and injection of tracing headers.
    pub propagation: PropagationConfig,
}

/// A `headers` value: may carry a token, so it never prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderSecret(pub Sensitive);

/// The sampling rate of an instance without `sampling_rate`. Kong takes
/// kong.conf's `tracing_sampling_rate` (0.01), and exports nothing at all
/// unless `tracing_instrumentations` is on (off by default); kingress has no
/// kong.conf and always instruments the request, so it samples every trace
/// as a Kong configured for tracing (`tracing_sampling_rate = 1`) does.
pub const DEFAULT_SAMPLING_RATE: f64 = 1.0;

/// The propagation formats kingress reads and writes; Kong's others are
/// refused when named.
pub const IMPLEMENTED_FORMATS: [Format; 5] = [
    Format::W3c,
    Format::B3,
    Format::B3Single,
    Format::Jaeger,
    Format::Ot,
];

impl Default for OpentelemetryConfig {
    fn default() -> Self {
        Self {
            traces_endpoint: None,
            logs_endpoint: None,
            headers: None,
            resource_attributes: None,
            queue: QueueConfig {
                max_batch_size: 200,
                ..QueueConfig::default()
            },
            batch_span_count: None,
            batch_flush_delay: None,
            connect_timeout: 1000,
            send_timeout: 5000,
            read_timeout: 5000,
            http_response_header_for_traceid: None,
            header_type: HeaderType::default(),
            sampling_rate: None,
            propagation: PropagationConfig::default(),
        }
    }
}

impl Schema for OpentelemetryConfig {
    const NAME: &'static str = "opentelemetry";
    const PRIORITY: u32 = 14;
    const CONSUMER_SCOPED: bool = true;
    const NULL_TYPES: &'static [(&'static str, FormType)] = &[
        ("sampling_rate", FormType::Number),
        ("batch_span_count", FormType::Number),
        ("batch_flush_delay", FormType::Number),
    ];

    fn parse(config: &Value) -> Result<Self, ConfigError> {
        let mut config = match config {
            Value::Object(map) => map.clone(),
            Value::Null => Map::new(),
            _ => return Err(ConfigError::field("config", "expected a record")),
        };
        fold_endpoint(&mut config)?;
        let parsed: Self = schema::read(&Value::Object(config))?;
        parsed.validate()?;
        Ok(parsed)
    }

    fn defaults() -> Map<String, Value> {
        schema::defaults_of::<Self>()
    }

    fn render(&self) -> Value {
        schema::render_of(self)
    }

    fn fold_shorthands(config: &mut Map<String, Value>) {
        // A conflict stays for `parse` to report.
        let mut folded = config.clone();
        if fold_endpoint(&mut folded).is_ok() {
            *config = folded;
        }
    }
}

/// Kong's deprecated `endpoint` shorthand: it sets `traces_endpoint`.
fn fold_endpoint(config: &mut Map<String, Value>) -> Result<(), ConfigError> {
    let Some(endpoint) = config.remove("endpoint").filter(|v| !v.is_null()) else {
        return Ok(());
    };
    match config.get("traces_endpoint").filter(|v| !v.is_null()) {
        Some(current) if *current != endpoint => {
            let shown = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
            let message = format!(
                "both deprecated and new field are used but their values mismatch: \
                 endpoint = {} vs traces_endpoint = {}",
                shown(&endpoint),
                shown(current)
            );
            config.insert("endpoint".into(), endpoint);
            Err(ConfigError::field("config.endpoint", message))
        }
        _ => {
            config.insert("traces_endpoint".into(), endpoint);
            Ok(())
        }
    }
}

// === impl OpentelemetryConfig ===

impl OpentelemetryConfig {
    /// Kong's field rules and entity check, and kingress's refusals.
    fn validate(&self) -> Result<(), ConfigError> {
        if self.traces_endpoint.is_none() && self.logs_endpoint.is_none() {
            return Err(ConfigError::field(
                "@entity",
                "at least one of these fields must be non-empty: \
                 'config.traces_endpoint', 'config.logs_endpoint'",
            ));
        }
        for (field, url) in [
            ("traces_endpoint", &self.traces_endpoint),
            ("logs_endpoint", &self.logs_endpoint),
        ] {
            if let Some(url) = url {
                check_url(url).map_err(|m| ConfigError::field(format!("config.{field}"), m))?;
            }
        }
        for (name, value) in self.headers.iter().flatten() {
            check_header_names("headers", std::slice::from_ref(name))
                .map_err(|e| rename(e, "config.headers"))?;
            let value = value.0.expose();
            if is_reference(value) {
                return Err(ConfigError::field(
                    format!("config.headers.{name}"),
                    "vault references are not supported by kingress",
                ));
            }
            if http::HeaderValue::from_str(value).is_err() {
                return Err(ConfigError::field(
                    format!("config.headers.{name}"),
                    "invalid header value",
                ));
            }
        }
        for (name, value) in self.resource_attributes.iter().flatten() {
            let field = || format!("config.resource_attributes.{name}");
            if value.is_empty() {
                return Err(ConfigError::field(
                    "config.resource_attributes",
                    "length must be at least 1",
                ));
            }
            if value.contains("$(") {
                return Err(ConfigError::field(
                    field(),
                    format!(
                        "'{value}': Lua templates in resource attributes are not supported by kingress"
                    ),
                ));
            }
        }
        self.queue.validate()?;
        for (field, value) in [
            ("connect_timeout", self.connect_timeout),
            ("send_timeout", self.send_timeout),
            ("read_timeout", self.read_timeout),
        ] {
            if !(0..=2_147_483_646).contains(&value) {
                return Err(ConfigError::field(
                    format!("config.{field}"),
                    "value should be between 0 and 2147483646",
                ));
            }
        }
        if let Some(name) = &self.http_response_header_for_traceid {
            check_header_names(
                "http_response_header_for_traceid",
                std::slice::from_ref(name),
            )
            .map_err(|e| rename(e, "config.http_response_header_for_traceid"))?;
        }
        if self
            .sampling_rate
            .is_some_and(|r| !(0.0..=1.0).contains(&r))
        {
            return Err(ConfigError::field(
                "config.sampling_rate",
                "value should be between 0 and 1",
            ));
        }
        self.validate_propagation()
    }

    /// `propagation`'s rules (`b3-single` is no extractor: `b3` reads it)
    /// and the refusal of formats kingress does not implement.
    fn validate_propagation(&self) -> Result<(), ConfigError> {
        let p = &self.propagation;
        for (i, format) in p.extract.iter().flatten().enumerate() {
            let field = format!("config.propagation.extract.{}", i + 1);
            if *format == Format::B3Single {
                return Err(ConfigError::field(
                    field,
                    "expected one of: w3c, b3, jaeger, ot, datadog, aws, gcp, instana",
                ));
            }
            implemented(*format, &field)?;
        }
        for (i, inject) in p.inject.iter().flatten().enumerate() {
            if let Inject::Format(format) = inject {
                implemented(*format, &format!("config.propagation.inject.{}", i + 1))?;
            }
        }
        if let Some(clear) = &p.clear {
            check_header_names("propagation.clear", clear)?;
        }
        implemented(p.default_format, "config.propagation.default_format")?;
        if let HeaderType::Format(format) = self.header_type {
            implemented(format, "config.header_type")?;
        }
        Ok(())
    }

    /// The queue settings with the deprecated fields folded in as Kong's
    /// `Queue.get_plugin_params` does (a value other than the old default
    /// wins over `queue`).
    pub fn effective_queue(&self) -> QueueConfig {
        let mut queue = self.queue.clone();
        if let Some(count) = self.batch_span_count.filter(|c| *c != 200) {
            queue.max_batch_size = count;
        }
        if let Some(delay) = self.batch_flush_delay.filter(|d| *d != 3) {
            queue.max_coalescing_delay = delay as f64;
        }
        queue
    }

    /// The propagation with `header_type` folded in.
    pub fn effective_propagation(&self) -> Effective {
        self.propagation.effective(self.header_type)
    }

    /// `sampling_rate`, or [`DEFAULT_SAMPLING_RATE`].
    pub fn sampling_rate(&self) -> f64 {
        self.sampling_rate.unwrap_or(DEFAULT_SAMPLING_RATE)
    }
}

/// Refuses a format kingress does not read or write.
fn implemented(format: Format, field: &str) -> Result<(), ConfigError> {
    if IMPLEMENTED_FORMATS.contains(&format) {
        return Ok(());
    }
    let known: Vec<&str> = IMPLEMENTED_FORMATS.iter().map(|f| f.as_str()).collect();
    Err(ConfigError::field(
        field,
        format!(
            "the '{}' tracing header format is not supported by kingress (supported: {})",
            format.as_str(),
            known.join(", ")
        ),
    ))
}

/// Kong's `typedefs.url` check, plus kingress's: OTLP/HTTP over `http` or
/// `https`, no vault reference.
fn check_url(url: &str) -> Result<(), String> {
    if is_reference(url) {
        return Err("vault references are not supported by kingress".into());
    }
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("could not parse url. {e}"))?;
    let Some(scheme) = uri.scheme_str() else {
        return Err("missing scheme in url".into());
    };
    if uri.host().is_none_or(str::is_empty) {
        return Err("missing host in url".into());
    }
    if !["http", "https"].contains(&scheme) {
        return Err(format!(
            "'{url}': kingress exports OTLP over http and https only"
        ));
    }
    Ok(())
}

/// Kong's vault reference syntax (`{vault://env/token}`).
fn is_reference(value: &str) -> bool {
    value.starts_with("{vault://")
}

/// The same message under Kong's path for a map key or a single field.
fn rename(error: ConfigError, field: &str) -> ConfigError {
    match error {
        ConfigError::Field { message, .. } => ConfigError::field(field, message),
        other => other,
    }
}

// === impl HeaderSecret ===

impl<'de> Deserialize<'de> for HeaderSecret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| HeaderSecret(Sensitive::new(s)))
    }
}

impl Serialize for HeaderSecret {
    /// Masked: the Admin API and kong.yml never show a header's value.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(MASK)
    }
}
