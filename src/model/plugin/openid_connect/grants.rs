//! The fields of the `password`, `client_credentials` and `userinfo`
//! methods: where the client's credentials are read, the scopes asked for,
//! the token and user info caches and their lifetimes and
//! `search_user_info` (the `userinfo_endpoint` override is read with the
//! other endpoint overrides).
//!
//! Lifetimes are Kong numbers (fractions allowed), kept in whole seconds
//! rounded up.

use super::super::ConfigError;
use super::fields::{element, invalid};
use super::read::{Fields, field};
use super::values::TokenParam;
use crate::model::Sensitive;

/// Kong's `cache_ttl` default, in seconds.
const DEFAULT_CACHE_TTL: u64 = 3600;

/// The grant and userinfo settings of an `openid-connect` config.
#[derive(Clone, Debug, PartialEq)]
pub struct GrantConfig {
    /// Where `password` credentials are read; always in the order header,
    /// query, body (Kong's list is a set).
    pub password_param_type: Vec<TokenParam>,
    /// Where `client_credentials` credentials are read (same order).
    pub client_credentials_param_type: Vec<TokenParam>,
    /// Scopes asked of the token endpoint (`scopes`, Kong's default
    /// `openid`), space-joined; `None` when the list is empty.
    pub scope: Option<String>,
    /// Cache token endpoint responses per presented credentials.
    pub cache_tokens: bool,
    /// Mixed into the token cache key.
    pub cache_tokens_salt: Option<Sensitive>,
    /// Whether the requested scope is part of the token cache key.
    pub token_cache_key_include_scope: bool,
    /// Lifetime of a cached object that states none, in seconds.
    pub cache_ttl: u64,
    /// Lower bound of cache lifetimes (never beyond a token's own expiry).
    pub cache_ttl_min: Option<u64>,
    /// Upper bound of cache lifetimes.
    pub cache_ttl_max: Option<u64>,
    /// Cache userinfo answers per token.
    pub cache_user_info: bool,
    /// Complete other methods' claims with the user info.
    pub search_user_info: bool,
}

impl Default for GrantConfig {
    fn default() -> Self {
        GrantConfig {
            password_param_type: ALL_PLACES.to_vec(),
            client_credentials_param_type: ALL_PLACES.to_vec(),
            scope: Some("openid".to_string()),
            cache_tokens: true,
            cache_tokens_salt: None,
            token_cache_key_include_scope: false,
            cache_ttl: DEFAULT_CACHE_TTL,
            cache_ttl_min: None,
            cache_ttl_max: None,
            cache_user_info: true,
            search_user_info: false,
        }
    }
}

/// Kong's default places, in the order they are searched.
const ALL_PLACES: [TokenParam; 3] = [TokenParam::Header, TokenParam::Query, TokenParam::Body];

// === impl GrantConfig ===

impl GrantConfig {
    /// Reads the fields (absent or null: Kong's defaults).
    pub(super) fn parse(f: &Fields<'_>) -> Result<Self, ConfigError> {
        let d = GrantConfig::default();
        let config = GrantConfig {
            password_param_type: places(f, "password_param_type")?,
            client_credentials_param_type: places(f, "client_credentials_param_type")?,
            scope: match f.strings("scopes")? {
                None => d.scope,
                Some(scopes) => Some(scopes.join(" ")).filter(|s| !s.trim().is_empty()),
            },
            cache_tokens: f.bool_or("cache_tokens", d.cache_tokens)?,
            cache_tokens_salt: f.string("cache_tokens_salt")?.map(Sensitive::new),
            token_cache_key_include_scope: f.bool_or(
                "token_cache_key_include_scope",
                d.token_cache_key_include_scope,
            )?,
            cache_ttl: seconds(f, "cache_ttl")?.unwrap_or(d.cache_ttl),
            cache_ttl_min: seconds(f, "cache_ttl_min")?,
            cache_ttl_max: seconds(f, "cache_ttl_max")?,
            cache_user_info: f.bool_or("cache_user_info", d.cache_user_info)?,
            search_user_info: f.bool_or("search_user_info", d.search_user_info)?,
        };
        if let (Some(min), Some(max)) = (config.cache_ttl_min, config.cache_ttl_max)
            && min > max
        {
            return Err(field(
                "cache_ttl_min",
                format!("must not exceed cache_ttl_max ({min} > {max})"),
            ));
        }
        Ok(config)
    }

    /// `ttl` bounded by `cache_ttl_min` and `cache_ttl_max`.
    pub fn bounded_ttl(&self, ttl: u64) -> u64 {
        ttl.max(self.cache_ttl_min.unwrap_or(0))
            .min(self.cache_ttl_max.unwrap_or(u64::MAX))
    }
}

/// A non-negative number of seconds, rounded up.
fn seconds(f: &Fields<'_>, key: &str) -> Result<Option<u64>, ConfigError> {
    match f.raw(key) {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(n) if n >= 0.0 && n < u64::MAX as f64 => Ok(Some(n.ceil() as u64)),
            _ => Err(field(key, "expected a non-negative number")),
        },
    }
}

/// A `*_param_type` set (header, query, body), searched in that order.
fn places(f: &Fields<'_>, key: &str) -> Result<Vec<TokenParam>, ConfigError> {
    let Some(values) = f.strings(key)? else {
        return Ok(ALL_PLACES.to_vec());
    };
    let mut given = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let p = match v.as_str() {
            "header" => TokenParam::Header,
            "query" => TokenParam::Query,
            "body" => TokenParam::Body,
            other => return Err(field(&element(key, i), invalid(other))),
        };
        given.push(p);
    }
    Ok(ALL_PLACES
        .into_iter()
        .filter(|p| given.contains(p))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parse(v: Value) -> Result<GrantConfig, ConfigError> {
        GrantConfig::parse(&Fields(v.as_object().unwrap()))
    }

    #[test]
    fn kong_defaults() {
        let c = parse(json!({})).unwrap();
        assert_eq!(c, GrantConfig::default());
        assert_eq!(c.password_param_type, ALL_PLACES);
        assert!(c.cache_tokens && c.cache_user_info && !c.search_user_info);
        assert_eq!(c.cache_ttl, 3600);
        // A deck dump writes every default explicitly (nulls, sorted lists).
        let dumped = parse(json!({
            "password_param_type": ["body", "header", "query"],
            "client_credentials_param_type": ["body", "header", "query"],
            "cache_tokens": true, "cache_tokens_salt": null, "cache_ttl": 3600,
            "cache_ttl_min": null, "cache_ttl_max": null, "cache_user_info": true,
            "search_user_info": false, "scopes": ["openid"],
            "token_cache_key_include_scope": false,
        }))
        .unwrap();
        assert_eq!(dumped, GrantConfig::default());
    }

    #[test]
    fn places_are_a_set_searched_header_query_body() {
        let c = parse(json!({ "client_credentials_param_type": ["body", "header"] })).unwrap();
        assert_eq!(
            c.client_credentials_param_type,
            [TokenParam::Header, TokenParam::Body]
        );
        let e = parse(json!({ "password_param_type": ["header", "cookie"] })).unwrap_err();
        assert_eq!(
            e.to_string(),
            "config.password_param_type.2: 'cookie' is not an accepted value"
        );
    }

    #[test]
    fn ttl_bounds() {
        let c = parse(json!({ "cache_ttl_min": 10, "cache_ttl_max": 60 })).unwrap();
        assert_eq!(c.bounded_ttl(5), 10);
        assert_eq!(c.bounded_ttl(30), 30);
        assert_eq!(c.bounded_ttl(3600), 60);
        let e = parse(json!({ "cache_ttl_min": 61, "cache_ttl_max": 60 })).unwrap_err();
        assert!(
            e.to_string().contains("must not exceed cache_ttl_max"),
            "{e}"
        );
        assert!(parse(json!({ "cache_ttl": -1 })).is_err());
        assert!(parse(json!({ "cache_ttl": "60" })).is_err());
        assert_eq!(parse(json!({ "cache_ttl": 0.5 })).unwrap().cache_ttl, 1);
    }

    #[test]
    fn scopes_are_space_joined() {
        let c = parse(json!({ "scopes": ["openid", "email"] })).unwrap();
        assert_eq!(c.scope.as_deref(), Some("openid email"));
        assert_eq!(parse(json!({ "scopes": [] })).unwrap().scope, None);
        assert_eq!(
            parse(json!({ "scopes": null })).unwrap().scope.as_deref(),
            Some("openid")
        );
    }

    #[test]
    fn the_salt_never_prints() {
        let c = parse(json!({ "cache_tokens_salt": "pepper-123" })).unwrap();
        assert!(!format!("{c:?}").contains("pepper-123"));
    }
}
