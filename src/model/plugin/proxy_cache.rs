//! `proxy-cache`: Kong's schema (`kong/plugins/proxy-cache/schema.lua`)
//! with Kong's defaults and messages; priority 100.
//!
//! Kong's only open-source strategy is `memory` (an nginx shared
//! dictionary); kingress keeps the entries in a bounded in-process cache,
//! one namespace per `memory.dictionary_name`. Any other strategy is
//! refused with Kong's `expected one of: memory`.

use crate::model::plugin::ConfigError;
use crate::model::plugin::schema::{self, FormType, Schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[cfg(test)]
mod tests;

/// The proxy-cache plugin's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProxyCacheConfig {
    /// Upstream statuses that are cached.
    pub response_code: Vec<i64>,
    /// Request methods that are cached.
    pub request_method: Vec<CacheMethod>,
    /// Response content types that are cached (`*` wildcards, parameters
    /// compared exactly).
    pub content_type: Vec<String>,
    /// Seconds an entry is fresh (without `cache_control`).
    pub cache_ttl: i64,
    /// Where entries live; required, and only `memory` exists.
    pub strategy: Option<Strategy>,
    /// Honour the request's and response's `Cache-Control` (RFC 7234).
    pub cache_control: bool,
    /// Lower-case the request line for the cache key.
    pub ignore_uri_case: bool,
    /// Seconds an entry is kept, fresh or not (default: its freshness).
    pub storage_ttl: Option<i64>,
    /// The memory strategy's settings.
    pub memory: Memory,
    /// Query arguments in the key (unset: all of them).
    pub vary_query_params: Option<Vec<String>>,
    /// Request headers in the key (unset: none).
    pub vary_headers: Option<Vec<String>>,
    /// Which diagnostic headers the client gets.
    pub response_headers: ResponseHeaders,
}

/// A cacheable request method (Kong's `one_of`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub enum CacheMethod {
    /// `HEAD`.
    #[serde(rename = "HEAD")]
    Head,
    /// `GET`.
    #[serde(rename = "GET")]
    Get,
    /// `POST`.
    #[serde(rename = "POST")]
    Post,
    /// `PATCH`.
    #[serde(rename = "PATCH")]
    Patch,
    /// `PUT`.
    #[serde(rename = "PUT")]
    Put,
}

/// Where entries are kept (`config.strategy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// In this process's memory.
    Memory,
}

/// `config.memory`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Memory {
    /// The namespace entries are kept in; instances naming the same one
    /// share entries (as Kong's shared dictionary is shared).
    pub dictionary_name: String,
}

/// `config.response_headers`: Kong's diagnostic header switches.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResponseHeaders {
    /// `Age` on hits.
    pub age: bool,
    /// `X-Cache-Status`.
    #[serde(rename = "X-Cache-Status")]
    pub x_cache_status: bool,
    /// `X-Cache-Key`.
    #[serde(rename = "X-Cache-Key")]
    pub x_cache_key: bool,
}

impl Default for ProxyCacheConfig {
    fn default() -> Self {
        Self {
            response_code: vec![200, 301, 404],
            request_method: vec![CacheMethod::Get, CacheMethod::Head],
            content_type: vec!["text/plain".into(), "application/json".into()],
            cache_ttl: 300,
            strategy: None,
            cache_control: false,
            ignore_uri_case: false,
            storage_ttl: None,
            memory: Memory::default(),
            vary_query_params: None,
            vary_headers: None,
            response_headers: ResponseHeaders::default(),
        }
    }
}

impl Default for Memory {
    fn default() -> Self {
        Self {
            dictionary_name: "kong_db_cache".into(),
        }
    }
}

impl Default for ResponseHeaders {
    fn default() -> Self {
        Self {
            age: true,
            x_cache_status: true,
            x_cache_key: true,
        }
    }
}

// === impl ProxyCacheConfig ===

impl ProxyCacheConfig {
    /// Kong's field rules that serde's types do not carry.
    fn validate(self) -> Result<Self, ConfigError> {
        if self.response_code.is_empty() {
            return Err(ConfigError::field(
                "config.response_code",
                "length must be at least 1",
            ));
        }
        if let Some(i) = self
            .response_code
            .iter()
            .position(|c| !(100..=900).contains(c))
        {
            return Err(ConfigError::field(
                format!("config.response_code.{}", i + 1),
                "value should be between 100 and 900",
            ));
        }
        if self.cache_ttl <= 0 {
            return Err(ConfigError::field(
                "config.cache_ttl",
                "value must be greater than 0",
            ));
        }
        // Kong takes a negative storage_ttl and then fails every store at
        // run time (the shared dictionary refuses the expiry); refusing it
        // up front says so instead of never caching.
        if self.storage_ttl.is_some_and(|t| t < 0) {
            return Err(ConfigError::field(
                "config.storage_ttl",
                "value must be at least 0",
            ));
        }
        if self.strategy.is_none() {
            return Err(ConfigError::field(
                "config.strategy",
                "required field missing",
            ));
        }
        if self.memory.dictionary_name.is_empty() {
            return Err(ConfigError::field(
                "config.memory.dictionary_name",
                "length must be at least 1",
            ));
        }
        Ok(self)
    }

    /// Whether `method` is one of `request_method`.
    pub fn caches_method(&self, method: &http::Method) -> bool {
        self.request_method.iter().any(|m| m.as_str() == method)
    }

    /// Whether `status` is one of `response_code`.
    pub fn caches_status(&self, status: u16) -> bool {
        self.response_code.contains(&i64::from(status))
    }
}

impl Schema for ProxyCacheConfig {
    const NAME: &'static str = "proxy-cache";
    const PRIORITY: u32 = 100;
    const CONSUMER_SCOPED: bool = true;
    const NULL_TYPES: &'static [(&'static str, FormType)] = &[
        ("storage_ttl", FormType::Number),
        ("vary_query_params", FormType::Strings),
        ("vary_headers", FormType::Strings),
    ];

    fn parse(config: &Value) -> Result<Self, ConfigError> {
        schema::read::<Self>(config)?.validate()
    }

    fn defaults() -> Map<String, Value> {
        schema::defaults_of::<Self>()
    }

    fn render(&self) -> Value {
        schema::render_of(self)
    }
}

// === impl CacheMethod ===

impl CacheMethod {
    /// Kong's spelling, also the HTTP method.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheMethod::Head => "HEAD",
            CacheMethod::Get => "GET",
            CacheMethod::Post => "POST",
            CacheMethod::Patch => "PATCH",
            CacheMethod::Put => "PUT",
        }
    }
}
