//! Field groups of the configuration, each parsed and checked together.

use super::read::{Fields, field, http_url};
use super::values::{
    AuthMethod, ClaimHeader, ClaimRule, ConsumerBy, TokenParam, UpstreamTokenHeader,
};
use crate::model::plugin::ConfigError;
use http::HeaderName;

/// The methods kingress runs. Adding a method is one line here. Kong's
/// default `auth_methods` (all nine, what `deck dump` writes) and an absent
/// `auth_methods` both mean "these"; an explicit list naming any other
/// method is refused, so a route never silently falls through to a flow
/// kingress does not have.
pub const IMPLEMENTED_METHODS: &[AuthMethod] = &[
    AuthMethod::Bearer,
    AuthMethod::KongOauth2,
    AuthMethod::Introspection,
    AuthMethod::Userinfo,
    AuthMethod::Password,
    AuthMethod::ClientCredentials,
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

pub(super) fn auth_methods(f: &Fields<'_>) -> Result<Vec<AuthMethod>, ConfigError> {
    let Some(values) = f.strings("auth_methods")? else {
        return Ok(IMPLEMENTED_METHODS.to_vec());
    };
    if values.is_empty() {
        return Err(field("auth_methods", "must name at least one method"));
    }
    let kong_default = AuthMethod::ALL
        .iter()
        .all(|m| values.iter().any(|v| v == m.as_str()));
    if kong_default {
        return Ok(IMPLEMENTED_METHODS.to_vec());
    }
    let mut methods = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let at = element("auth_methods", i);
        let m = AuthMethod::parse(v).ok_or_else(|| field(&at, invalid(v)))?;
        if !m.implemented() {
            let names: Vec<&str> = IMPLEMENTED_METHODS.iter().map(|m| m.as_str()).collect();
            return Err(field(
                &at,
                format!(
                    "'{v}' is not implemented by kingress ({} are)",
                    names.join(", ")
                ),
            ));
        }
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
