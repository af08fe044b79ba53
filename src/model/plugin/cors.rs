//! `cors`: Kong's schema (`kong/plugins/cors/schema.lua`), every field with
//! Kong's default; priority 2000 (above every authentication plugin, so a
//! preflight is answered before any of them asks for credentials).

use crate::model::plugin::ConfigError;
use crate::model::plugin::schema::{self, FormType, Schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

mod origins;

pub use origins::{Allowed, Origins, normalize};

/// The cors plugin's configuration.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorsConfig {
    /// Allowed origins: `*`, plain origins, or (PCRE-style) regexes.
    /// Unset or empty allows every origin.
    pub origins: Option<Vec<String>>,
    /// `Access-Control-Allow-Headers` of a preflight answer; unset echoes
    /// the request's `Access-Control-Request-Headers`.
    pub headers: Option<Vec<String>>,
    /// `Access-Control-Expose-Headers`.
    pub exposed_headers: Option<Vec<String>>,
    /// `Access-Control-Allow-Methods` of a preflight answer.
    pub methods: Vec<CorsMethod>,
    /// `Access-Control-Max-Age` (seconds) of a preflight answer.
    pub max_age: Option<Number>,
    /// Send `Access-Control-Allow-Credentials: true`.
    pub credentials: bool,
    /// Answer `Access-Control-Request-Private-Network: true` with
    /// `Access-Control-Allow-Private-Network: true`.
    pub private_network: bool,
    /// Proxy preflights to the upstream instead of answering them.
    pub preflight_continue: bool,
    /// Add the CORS headers to responses whose request had no `Origin`.
    pub allow_origin_absent: bool,
    /// `origins` compiled once, when the configuration is read.
    #[serde(skip)]
    pub compiled: Origins,
}

/// Kong's `one_of` list of `methods`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[allow(clippy::upper_case_acronyms)]
pub enum CorsMethod {
    /// `GET`
    GET,
    /// `HEAD`
    HEAD,
    /// `PUT`
    PUT,
    /// `PATCH`
    PATCH,
    /// `POST`
    POST,
    /// `DELETE`
    DELETE,
    /// `OPTIONS`
    OPTIONS,
    /// `TRACE`
    TRACE,
    /// `CONNECT`
    CONNECT,
}

impl CorsMethod {
    /// The method's name.
    pub fn as_str(self) -> &'static str {
        match self {
            CorsMethod::GET => "GET",
            CorsMethod::HEAD => "HEAD",
            CorsMethod::PUT => "PUT",
            CorsMethod::PATCH => "PATCH",
            CorsMethod::POST => "POST",
            CorsMethod::DELETE => "DELETE",
            CorsMethod::OPTIONS => "OPTIONS",
            CorsMethod::TRACE => "TRACE",
            CorsMethod::CONNECT => "CONNECT",
        }
    }
}

impl Default for CorsConfig {
    fn default() -> Self {
        use CorsMethod::*;
        Self {
            origins: None,
            headers: None,
            exposed_headers: None,
            methods: vec![GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS, TRACE, CONNECT],
            max_age: None,
            credentials: false,
            private_network: false,
            preflight_continue: false,
            allow_origin_absent: true,
            compiled: Origins::default(),
        }
    }
}

impl Schema for CorsConfig {
    const NAME: &'static str = "cors";
    const PRIORITY: u32 = 2000;
    const CONSUMER_SCOPED: bool = false;
    const NULL_TYPES: &'static [(&'static str, FormType)] = &[
        ("origins", FormType::Strings),
        ("headers", FormType::Strings),
        ("exposed_headers", FormType::Strings),
        ("max_age", FormType::Number),
    ];

    fn parse(config: &Value) -> Result<Self, ConfigError> {
        let mut parsed: Self = schema::read(config)?;
        let origins = parsed.origins.as_deref().unwrap_or_default();
        parsed.compiled = Origins::compile(origins).map_err(|(i, origin)| {
            ConfigError::field(
                format!("config.origins.{}", i + 1),
                format!("'{origin}' is not a valid regex"),
            )
        })?;
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
mod tests;
