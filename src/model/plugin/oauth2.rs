//! `oauth2` plugin configuration: every field of Kong's schema with Kong's
//! defaults, checked the way Kong checks them.
//!
//! Parsing is pure (the same JSON always gives the same config), so one
//! thing differs from Kong: Kong generates a random `provision_key` when it
//! is omitted. A random key would change on every translate and a key derived
//! from the configuration would be guessable, so kingress instead requires
//! `provision_key` whenever a flow that checks it is enabled (password grant,
//! authorization code, implicit grant). With only `enable_client_credentials`
//! it may be omitted; then no request can present a matching key, so
//! client-credentials tokens bound to an `authenticated_userid` are refused.

use super::ConfigError;
use crate::model::Sensitive;
use http::HeaderName;
use serde_json::{Map, Value};

/// Parsed `oauth2` configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Oauth2Config {
    /// Allowed scope names; `None` ignores any `scope` parameter.
    pub scopes: Option<Vec<String>>,
    /// A `scope` parameter is required (needs `scopes`).
    pub mandatory_scope: bool,
    /// Shared secret of the operator's web app; `None` when omitted (see the
    /// module docs).
    pub provision_key: Option<Sensitive>,
    /// Access-token lifetime in seconds; 0 = never expires, no refresh tokens.
    pub token_expiration: u64,
    /// `response_type=code` at `/oauth2/authorize`.
    pub enable_authorization_code: bool,
    /// `response_type=token` at `/oauth2/authorize`.
    pub enable_implicit_grant: bool,
    /// `grant_type=client_credentials`.
    pub enable_client_credentials: bool,
    /// `grant_type=password`.
    pub enable_password_grant: bool,
    /// Strip the access token from proxied requests.
    pub hide_credentials: bool,
    /// Believe `X-Forwarded-Proto: https` from trusted peers.
    pub accept_http_if_already_terminated: bool,
    /// Consumer id or username used when authentication fails.
    pub anonymous: Option<String>,
    /// Tokens are not bound to a service.
    pub global_credentials: bool,
    /// Header carrying the bearer token and the Basic client credentials
    /// (lower-case, a valid header name).
    pub auth_header_name: HeaderName,
    /// Lifetime of a token row (and so of its refresh token) in seconds;
    /// 0 = kept until deleted.
    pub refresh_token_ttl: u64,
    /// Refreshing keeps the refresh token instead of rotating it.
    pub reuse_refresh_token: bool,
    /// PKCE policy.
    pub pkce: Pkce,
    /// `realm` of `WWW-Authenticate` on verification failures.
    pub realm: Option<String>,
}

/// PKCE policy (`config.pkce`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pkce {
    /// Only codes that carry a challenge are checked.
    None,
    /// Public clients must use PKCE (Kong's default).
    Lax,
    /// Every client must use PKCE.
    Strict,
}

/// Kong's `typedefs.ttl` upper bound for `refresh_token_ttl`.
const MAX_TTL: u64 = 100_000_000;

/// The fields that enable a flow; at least one must be true.
const ENABLE_FLAGS: &str = "enable_authorization_code, enable_implicit_grant, \
                            enable_client_credentials, enable_password_grant";

// === impl Oauth2Config ===

impl Oauth2Config {
    /// Parses and validates `config` (the KongPlugin's `config` object).
    /// Unknown fields, wrong types and out-of-range values are refused with
    /// the offending field named as `config.<field>`.
    pub fn parse(config: &Value) -> Result<Self, ConfigError> {
        let empty = Map::new();
        let map = match config {
            Value::Null => &empty,
            Value::Object(map) => map,
            _ => return Err(ConfigError::field("config", "expected an object")),
        };
        let mut cfg = Self::defaults();
        let mut provision_key = None;
        for (name, value) in map {
            if value.is_null() {
                continue; // null means "use the default", as in Kong.
            }
            let f = |msg: &str| ConfigError::field(format!("config.{name}"), msg);
            match name.as_str() {
                "scopes" => {
                    cfg.scopes =
                        Some(strings(value).ok_or_else(|| f("expected an array of strings"))?)
                }
                "mandatory_scope" => {
                    cfg.mandatory_scope = boolean(value).ok_or_else(|| f("expected a boolean"))?
                }
                "provision_key" => provision_key = Some(non_empty(value).map_err(f)?),
                "token_expiration" => {
                    cfg.token_expiration =
                        whole(value).ok_or_else(|| f("expected a non-negative integer"))?
                }
                "enable_authorization_code" => {
                    cfg.enable_authorization_code =
                        boolean(value).ok_or_else(|| f("expected a boolean"))?
                }
                "enable_implicit_grant" => {
                    cfg.enable_implicit_grant =
                        boolean(value).ok_or_else(|| f("expected a boolean"))?
                }
                "enable_client_credentials" => {
                    cfg.enable_client_credentials =
                        boolean(value).ok_or_else(|| f("expected a boolean"))?
                }
                "enable_password_grant" => {
                    cfg.enable_password_grant =
                        boolean(value).ok_or_else(|| f("expected a boolean"))?
                }
                "hide_credentials" => {
                    cfg.hide_credentials = boolean(value).ok_or_else(|| f("expected a boolean"))?
                }
                "accept_http_if_already_terminated" => {
                    cfg.accept_http_if_already_terminated =
                        boolean(value).ok_or_else(|| f("expected a boolean"))?
                }
                "anonymous" => cfg.anonymous = Some(non_empty(value).map_err(f)?),
                "global_credentials" => {
                    cfg.global_credentials =
                        boolean(value).ok_or_else(|| f("expected a boolean"))?
                }
                "auth_header_name" => cfg.auth_header_name = header_name(value).map_err(f)?,
                "refresh_token_ttl" => {
                    cfg.refresh_token_ttl = whole(value)
                        .filter(|v| *v <= MAX_TTL)
                        .ok_or_else(|| f("value should be between 0 and 100000000"))?
                }
                "reuse_refresh_token" => {
                    cfg.reuse_refresh_token =
                        boolean(value).ok_or_else(|| f("expected a boolean"))?
                }
                "pkce" => {
                    cfg.pkce = pkce(value).ok_or_else(|| f("expected one of: none, lax, strict"))?
                }
                "realm" => cfg.realm = Some(realm(value).map_err(f)?),
                // Undocumented Enterprise field with no documented behaviour:
                // accepted (type-checked) so Kong configurations load.
                "persistent_refresh_token" => {
                    boolean(value).ok_or_else(|| f("expected a boolean"))?;
                }
                _ => return Err(f("unknown field")),
            }
        }
        cfg.provision_key = provision_key.map(Sensitive::new);
        cfg.validate()?;
        Ok(cfg)
    }

    /// Kong's defaults (no flow enabled, so not valid on its own).
    fn defaults() -> Self {
        Self {
            scopes: None,
            mandatory_scope: false,
            provision_key: None,
            token_expiration: 7200,
            enable_authorization_code: false,
            enable_implicit_grant: false,
            enable_client_credentials: false,
            enable_password_grant: false,
            hide_credentials: false,
            accept_http_if_already_terminated: false,
            anonymous: None,
            global_credentials: false,
            auth_header_name: http::header::AUTHORIZATION,
            refresh_token_ttl: 1_209_600,
            reuse_refresh_token: false,
            pkce: Pkce::Lax,
            realm: None,
        }
    }

    /// Checks across fields.
    fn validate(&self) -> Result<(), ConfigError> {
        if !(self.enable_authorization_code
            || self.enable_implicit_grant
            || self.enable_client_credentials
            || self.enable_password_grant)
        {
            return Err(ConfigError::field(
                "config",
                format!("at least one of these fields must be true: {ENABLE_FLAGS}"),
            ));
        }
        if self.mandatory_scope && self.scopes.is_none() {
            return Err(ConfigError::field(
                "config.scopes",
                "required field missing",
            ));
        }
        let needs_key = self.enable_password_grant
            || self.enable_authorization_code
            || self.enable_implicit_grant;
        if needs_key && self.provision_key.is_none() {
            return Err(ConfigError::field(
                "config.provision_key",
                "required when enable_password_grant, enable_authorization_code or \
                 enable_implicit_grant is true (kingress does not generate one, so that \
                 the key is stable across reloads and replicas)",
            ));
        }
        Ok(())
    }

    /// Whether `presented` equals the provision key (constant time). Always
    /// false when no key is configured.
    pub fn provision_key_matches(&self, presented: Option<&str>) -> bool {
        match (&self.provision_key, presented) {
            (Some(key), Some(p)) => key.matches(p),
            _ => false,
        }
    }
}

// === impl Pkce ===

impl Pkce {
    /// Kong's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Pkce::None => "none",
            Pkce::Lax => "lax",
            Pkce::Strict => "strict",
        }
    }
}

fn boolean(v: &Value) -> Option<bool> {
    v.as_bool()
}

/// A non-negative whole number (JSON integers, or floats without a fraction
/// as YAML sometimes produces).
fn whole(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f <= u64::MAX as f64)
            .map(|f| f as u64)
    })
}

fn strings(v: &Value) -> Option<Vec<String>> {
    v.as_array()?
        .iter()
        .map(|s| s.as_str().map(str::to_string))
        .collect()
}

fn non_empty(v: &Value) -> Result<String, &'static str> {
    match v.as_str() {
        Some("") => Err("length must be at least 1"),
        Some(s) => Ok(s.to_string()),
        None => Err("expected a string"),
    }
}

fn header_name(v: &Value) -> Result<HeaderName, &'static str> {
    let s = non_empty(v)?;
    HeaderName::from_bytes(s.to_ascii_lowercase().as_bytes()).map_err(|_| "not a valid header name")
}

fn pkce(v: &Value) -> Option<Pkce> {
    match v.as_str()? {
        "none" => Some(Pkce::None),
        "lax" => Some(Pkce::Lax),
        "strict" => Some(Pkce::Strict),
        _ => None,
    }
}

/// The realm is quoted inside `WWW-Authenticate`, so quotes, backslashes
/// and control characters would break the header.
fn realm(v: &Value) -> Result<String, &'static str> {
    let s = non_empty(v)?;
    if s.chars().any(|c| c == '"' || c == '\\' || c.is_control()) {
        return Err("must not contain quotes, backslashes or control characters");
    }
    Ok(s)
}

mod schema;

#[cfg(test)]
mod tests;
