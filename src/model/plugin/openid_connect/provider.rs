//! How the identity provider is called and its answers kept: cache
//! lifetimes (`cache_ttl`, `cache_ttl_min`, `cache_ttl_max`) and the
//! discovery request's extra headers (`discovery_headers_*`).

use super::fields::header_name;
use super::read::{Fields, field};
use crate::model::plugin::ConfigError;
use http::{HeaderName, HeaderValue};
use std::time::Duration;

/// Provider-call settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderCalls {
    /// `cache_ttl`: how long a discovery document or JWKS is kept when the
    /// provider gives no `max-age`.
    pub cache_ttl: Duration,
    /// `cache_ttl_min`: no cached answer lives shorter (a provider's
    /// `max-age`, an introspection result's `exp`).
    pub cache_ttl_min: Option<Duration>,
    /// `cache_ttl_max`: no cached answer lives longer.
    pub cache_ttl_max: Option<Duration>,
    /// `discovery_headers_names`/`_values`.
    pub discovery_headers: Vec<(HeaderName, HeaderValue)>,
}

impl Default for ProviderCalls {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(3600),
            cache_ttl_min: None,
            cache_ttl_max: None,
            discovery_headers: Vec::new(),
        }
    }
}

// === impl ProviderCalls ===

impl ProviderCalls {
    /// `ttl` within `cache_ttl_min` and `cache_ttl_max`.
    pub fn bounded(&self, ttl: Duration) -> Duration {
        let ttl = self.cache_ttl_min.map_or(ttl, |min| ttl.max(min));
        self.cache_ttl_max.map_or(ttl, |max| ttl.min(max))
    }
}

/// Reads the provider-call fields.
pub(super) fn calls(f: &Fields<'_>) -> Result<ProviderCalls, ConfigError> {
    let seconds = |key: &str| -> Result<Option<Duration>, ConfigError> {
        Ok(f.is_set(key)
            .then(|| f.uint_or(key, 0))
            .transpose()?
            .map(Duration::from_secs))
    };
    let cache_ttl = seconds("cache_ttl")?.unwrap_or(Duration::from_secs(3600));
    let cache_ttl_min = seconds("cache_ttl_min")?;
    let cache_ttl_max = seconds("cache_ttl_max")?;
    if let (Some(min), Some(max)) = (cache_ttl_min, cache_ttl_max)
        && min > max
    {
        return Err(field(
            "cache_ttl_min",
            "must not be greater than cache_ttl_max",
        ));
    }
    let names = f.strings("discovery_headers_names")?.unwrap_or_default();
    let values = f.strings("discovery_headers_values")?.unwrap_or_default();
    if names.len() != values.len() {
        return Err(field(
            "discovery_headers_values",
            "must have as many entries as discovery_headers_names",
        ));
    }
    let mut discovery_headers = Vec::new();
    for (name, value) in names.into_iter().zip(values) {
        let value = HeaderValue::from_str(&value).map_err(|_| {
            field(
                "discovery_headers_values",
                "values must be valid header values",
            )
        })?;
        discovery_headers.push((header_name("discovery_headers_names", &name)?, value));
    }
    Ok(ProviderCalls {
        cache_ttl,
        cache_ttl_min,
        cache_ttl_max,
        discovery_headers,
    })
}

#[cfg(test)]
mod tests {
    use crate::model::plugin::{ConfigError, OidcConfig};
    use serde_json::{Value, json};
    use std::time::Duration;

    fn parse(extra: Value) -> Result<OidcConfig, ConfigError> {
        let mut v = json!({ "issuer": "https://idp.test" });
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        OidcConfig::parse(&v)
    }

    #[test]
    fn lifetimes_and_headers() {
        let c = parse(json!({})).unwrap();
        assert_eq!(c.provider.cache_ttl, Duration::from_secs(3600));
        assert_eq!(
            c.provider.bounded(Duration::from_secs(5)),
            Duration::from_secs(5)
        );
        let c = parse(json!({
            "cache_ttl": 60, "cache_ttl_min": 30, "cache_ttl_max": 120,
            "discovery_headers_names": ["x-api-key"], "discovery_headers_values": ["k"],
        }))
        .unwrap();
        assert_eq!(c.provider.cache_ttl, Duration::from_secs(60));
        assert_eq!(
            c.provider.bounded(Duration::from_secs(5)),
            Duration::from_secs(30)
        );
        assert_eq!(
            c.provider.bounded(Duration::from_secs(500)),
            Duration::from_secs(120)
        );
        assert_eq!(c.provider.discovery_headers[0].0, "x-api-key");
        for bad in [
            json!({ "cache_ttl_min": 10, "cache_ttl_max": 5 }),
            json!({ "cache_ttl": -1 }),
            json!({ "discovery_headers_names": ["a"] }),
            json!({ "discovery_headers_names": ["bad name"], "discovery_headers_values": ["v"] }),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
    }
}
