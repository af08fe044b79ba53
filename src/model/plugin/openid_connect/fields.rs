//! Field groups of the configuration, each parsed and checked together.

use super::read::{Fields, field, http_url};
use super::values::{
    AuthMethod, ClaimHeader, ClaimRule, ConsumerBy, TokenParam, UpstreamTokenHeader,
};
use crate::model::plugin::ConfigError;
use http::HeaderName;

/// The methods used when `auth_methods` is absent (Kong's default names
/// all nine; kingress implements these three).
pub const DEFAULT_AUTH_METHODS: [AuthMethod; 3] = [
    AuthMethod::Bearer,
    AuthMethod::KongOauth2,
    AuthMethod::Introspection,
];

/// Kong methods kingress does not implement (refused when named).
pub(super) const UNIMPLEMENTED_METHODS: [&str; 3] = ["client_credentials", "password", "userinfo"];

/// Every method name of Kong's schema.
pub(super) const KONG_METHODS: [&str; 9] = [
    "authorization_code",
    "bearer",
    "client_credentials",
    "introspection",
    "kong_oauth2",
    "password",
    "refresh_token",
    "session",
    "userinfo",
];

/// Fields of Kong's schema that do not affect verification; accepted and
/// ignored so configurations written for Kong still load.
const IGNORED_FIELDS: [&str; 22] = [
    "cache_ttl",
    "cache_ttl_max",
    "cache_ttl_min",
    "cache_ttl_neg",
    "cache_ttl_resurrect",
    "cache_tokens",
    "cache_tokens_salt",
    "cache_user_info",
    "keepalive",
    "http_version",
    "expose_error_code",
    "run_on_preflight",
    "scopes",
    "redirect_uri",
    "response_mode",
    "response_type",
    "login_action",
    "login_methods",
    "login_redirect_uri",
    "login_redirect_mode",
    "login_tokens",
    "disable_session",
];

/// Prefixes of ignored field families (session cookies, logout).
const IGNORED_PREFIXES: [&str; 2] = ["session_", "logout_"];

/// Every field this module reads.
const KNOWN_FIELDS: [&str; 46] = [
    "issuer",
    "client_id",
    "client_secret",
    "client_auth",
    "client_jwk",
    "client_alg",
    "auth_methods",
    "bearer_token_param_type",
    "bearer_token_cookie_name",
    "issuers_allowed",
    "extra_jwks_uris",
    "jwks_endpoint",
    "introspection_endpoint",
    "rediscovery_lifetime",
    "leeway",
    "verify_signature",
    "verify_claims",
    "enable_hs_signatures",
    "scopes_claim",
    "scopes_required",
    "audience_claim",
    "audience_required",
    "groups_claim",
    "groups_required",
    "roles_claim",
    "roles_required",
    "consumer_claim",
    "consumer_by",
    "consumer_optional",
    "anonymous",
    "hide_credentials",
    "upstream_access_token_header",
    "upstream_headers_claims",
    "upstream_headers_names",
    "upstream_introspection_header",
    "unauthorized_error_message",
    "forbidden_error_message",
    "display_errors",
    "cache_introspection",
    "ssl_verify",
    "timeout",
    // Kong 3.14 spelling of consumer_claim (array of paths); one path only.
    "consumer_claims",
    // Accepted only with their default (the behaviour kingress has).
    "introspection_check_active",
    "introspection_hint",
    "using_pseudo_issuer",
    "by_username_ignore_case",
];

// === field groups ===

/// How a config error names element `index` (0-based) of the array `key`:
/// `key.<n>` from 1, which the Admin API answers per element.
pub(super) fn element(key: &str, index: usize) -> String {
    format!("{key}.{}", index + 1)
}

pub(super) fn invalid(value: &str) -> String {
    format!("'{value}' is not an accepted value")
}

pub(super) fn check_fields(f: &Fields<'_>) -> Result<(), ConfigError> {
    for (key, value) in f.0 {
        let known = KNOWN_FIELDS.contains(&key.as_str())
            || super::login::BROWSER_FIELDS.contains(&key.as_str())
            || IGNORED_FIELDS.contains(&key.as_str())
            || IGNORED_PREFIXES.iter().any(|p| key.starts_with(p));
        if !known && !value.is_null() {
            return Err(field(key, "unknown field or not supported by kingress"));
        }
    }
    // Fields kept for compatibility, accepted only with Kong's default.
    for (key, default) in [
        ("introspection_check_active", serde_json::json!(true)),
        ("introspection_hint", serde_json::json!("access_token")),
        ("using_pseudo_issuer", serde_json::json!(false)),
        ("by_username_ignore_case", serde_json::json!(false)),
    ] {
        if f.raw(key).is_some_and(|v| *v != default) {
            return Err(field(key, format!("only {default} is supported")));
        }
    }
    Ok(())
}

pub(super) fn auth_methods(f: &Fields<'_>) -> Result<Vec<AuthMethod>, ConfigError> {
    let Some(values) = f.strings("auth_methods")? else {
        return Ok(DEFAULT_AUTH_METHODS.to_vec());
    };
    if values.is_empty() {
        return Err(field("auth_methods", "must name at least one method"));
    }
    let mut methods = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let at = element("auth_methods", i);
        let m = match v.as_str() {
            "bearer" => AuthMethod::Bearer,
            "kong_oauth2" => AuthMethod::KongOauth2,
            "introspection" => AuthMethod::Introspection,
            "session" => AuthMethod::Session,
            "refresh_token" => AuthMethod::RefreshToken,
            "authorization_code" => AuthMethod::AuthorizationCode,
            other if UNIMPLEMENTED_METHODS.contains(&other) => {
                return Err(field(
                    &at,
                    format!(
                        "'{other}' is not implemented by kingress (authorization_code, bearer, introspection, kong_oauth2, refresh_token, session are)"
                    ),
                ));
            }
            other => return Err(field(&at, invalid(other))),
        };
        if !methods.contains(&m) {
            methods.push(m);
        }
    }
    // Kong searches in a fixed order whatever order the list has.
    methods.sort();
    Ok(methods)
}

pub(super) fn token_location(
    f: &Fields<'_>,
) -> Result<(Vec<TokenParam>, Option<String>), ConfigError> {
    let params = match f.strings("bearer_token_param_type")? {
        None => vec![TokenParam::Header, TokenParam::Query, TokenParam::Body],
        Some(values) => {
            let mut params = Vec::new();
            for (i, v) in values.iter().enumerate() {
                let p = match v.as_str() {
                    "header" => TokenParam::Header,
                    "query" => TokenParam::Query,
                    "body" => TokenParam::Body,
                    "cookie" => TokenParam::Cookie,
                    other => {
                        return Err(field(
                            &element("bearer_token_param_type", i),
                            invalid(other),
                        ));
                    }
                };
                if !params.contains(&p) {
                    params.push(p);
                }
            }
            if params.is_empty() {
                return Err(field(
                    "bearer_token_param_type",
                    "must name at least one place",
                ));
            }
            params
        }
    };
    let cookie = f.non_empty("bearer_token_cookie_name")?;
    if params.contains(&TokenParam::Cookie) && cookie.is_none() {
        return Err(field(
            "bearer_token_cookie_name",
            "required when bearer_token_param_type contains cookie",
        ));
    }
    Ok((params, cookie))
}

pub(super) fn url(f: &Fields<'_>, key: &str) -> Result<Option<String>, ConfigError> {
    let value = f.non_empty(key)?;
    if let Some(v) = &value {
        http_url(key, v)?;
    }
    Ok(value)
}

pub(super) fn urls(f: &Fields<'_>, key: &str) -> Result<Vec<String>, ConfigError> {
    let values = f.strings(key)?.unwrap_or_default();
    for v in &values {
        http_url(key, v)?;
    }
    Ok(values)
}

pub(super) fn claim_rule(
    f: &Fields<'_>,
    name: &str,
    default_claim: &str,
) -> Result<ClaimRule, ConfigError> {
    let claim_key = format!("{name}_claim");
    let claim = f
        .strings(&claim_key)?
        .unwrap_or_else(|| vec![default_claim.to_string()]);
    if claim.is_empty() || claim.iter().any(|k| k.is_empty()) {
        return Err(field(&claim_key, "must be a non-empty claim path"));
    }
    let required_key = format!("{name}_required");
    let required = f.strings(&required_key)?.unwrap_or_default();
    if required
        .iter()
        .any(|r| r.split_whitespace().next().is_none())
    {
        return Err(field(&required_key, "entries must not be empty"));
    }
    Ok(ClaimRule { claim, required })
}

pub(super) fn consumer_claim(f: &Fields<'_>) -> Result<Option<Vec<String>>, ConfigError> {
    if f.is_set("consumer_claim") && f.is_set("consumer_claims") {
        return Err(field(
            "consumer_claims",
            "set consumer_claim or consumer_claims, not both",
        ));
    }
    if let Some(v) = f.raw("consumer_claims") {
        // 3.14+: an array of paths; kingress supports exactly one path.
        let paths: Vec<Vec<String>> = serde_json::from_value(v.clone())
            .map_err(|_| field("consumer_claims", "expected an array of claim paths"))?;
        return match <[Vec<String>; 1]>::try_from(paths) {
            Ok([path]) if !path.is_empty() => Ok(Some(path)),
            _ => Err(field(
                "consumer_claims",
                "exactly one non-empty claim path is supported",
            )),
        };
    }
    match f.strings("consumer_claim")? {
        Some(path) if path.is_empty() || path.iter().any(|k| k.is_empty()) => {
            Err(field("consumer_claim", "must be a non-empty claim path"))
        }
        other => Ok(other),
    }
}

pub(super) fn consumer_by(f: &Fields<'_>) -> Result<Vec<ConsumerBy>, ConfigError> {
    let Some(values) = f.strings("consumer_by")? else {
        return Ok(vec![ConsumerBy::Username, ConsumerBy::CustomId]);
    };
    if values.is_empty() {
        return Err(field("consumer_by", "must name at least one field"));
    }
    values
        .iter()
        .enumerate()
        .map(|(i, v)| match v.as_str() {
            "username" => Ok(ConsumerBy::Username),
            "custom_id" => Ok(ConsumerBy::CustomId),
            "id" => Ok(ConsumerBy::Id),
            other => Err(field(&element("consumer_by", i), invalid(other))),
        })
        .collect()
}

pub(super) fn header_name(key: &str, value: &str) -> Result<HeaderName, ConfigError> {
    HeaderName::from_bytes(value.trim().as_bytes())
        .map_err(|_| field(key, format!("'{value}' is not a valid header name")))
}

pub(super) fn upstream_token_header(
    f: &Fields<'_>,
) -> Result<Option<UpstreamTokenHeader>, ConfigError> {
    const KEY: &str = "upstream_access_token_header";
    let value = match f.raw(KEY) {
        // Absent means Kong's default; explicit null turns it off.
        None if !f.0.contains_key(KEY) => "authorization:bearer".to_string(),
        None => return Ok(None),
        Some(_) => match f.string(KEY)? {
            Some(v) if v.trim().is_empty() => return Ok(None),
            Some(v) => v,
            None => return Ok(None),
        },
    };
    let (name, scheme) = match value.split_once(':') {
        Some((name, scheme)) => (name, Some(scheme.trim())),
        None => (value.as_str(), None),
    };
    let scheme = scheme.filter(|s| !s.is_empty()).map(|s| {
        if s.eq_ignore_ascii_case("bearer") {
            "Bearer".to_string()
        } else {
            s.to_string()
        }
    });
    if scheme
        .as_deref()
        .is_some_and(|s| s.contains(char::is_whitespace))
    {
        return Err(field(KEY, "the scheme must be one word"));
    }
    Ok(Some(UpstreamTokenHeader {
        name: header_name(KEY, name)?,
        scheme,
    }))
}

pub(super) fn claim_headers(f: &Fields<'_>) -> Result<Vec<ClaimHeader>, ConfigError> {
    let claims = f.strings("upstream_headers_claims")?.unwrap_or_default();
    let names = f.strings("upstream_headers_names")?.unwrap_or_default();
    if claims.len() != names.len() {
        return Err(field(
            "upstream_headers_names",
            "must have as many entries as upstream_headers_claims",
        ));
    }
    claims
        .into_iter()
        .zip(names)
        .map(|(claim, name)| {
            if claim.is_empty() {
                return Err(field(
                    "upstream_headers_claims",
                    "entries must not be empty",
                ));
            }
            Ok(ClaimHeader {
                claim,
                header: header_name("upstream_headers_names", &name)?,
            })
        })
        .collect()
}
