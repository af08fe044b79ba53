//! Field groups of the configuration, each parsed and checked together.

use super::read::{Fields, field, http_url};
use super::values::{AuthMethod, ClaimRule, ConsumerBy, Endpoint, TokenParam};
use crate::model::plugin::ConfigError;
use http::HeaderName;

/// The methods kingress runs. Adding a method is one line here. Kong's
/// default `auth_methods` (all nine, what `deck dump` writes) and an absent
/// `auth_methods` both mean "these"; an explicit list naming any other
/// method is refused, so a route never silently falls through to a flow
/// kingress does not have.
pub const IMPLEMENTED_METHODS: &[AuthMethod] = &[
    AuthMethod::Session,
    AuthMethod::Bearer,
    AuthMethod::KongOauth2,
    AuthMethod::Introspection,
    AuthMethod::Userinfo,
    AuthMethod::RefreshToken,
    AuthMethod::Password,
    AuthMethod::ClientCredentials,
    AuthMethod::AuthorizationCode,
];

/// What an absent `auth_methods`, or Kong's default list, means: the
/// token methods that need no extra provider endpoint. The browser login,
/// the grants and `userinfo` are opt-in (named in `auth_methods`): with
/// Kong's default every request without a valid token is redirected to the
/// identity provider (302), which API clients do not expect (Kong's support
/// article on "302 instead of 401"), and any Basic header would be sent to
/// the token endpoint as a password.
pub const DEFAULT_METHODS: &[AuthMethod] = &[
    AuthMethod::Bearer,
    AuthMethod::KongOauth2,
    AuthMethod::Introspection,
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
        return Ok(DEFAULT_METHODS.to_vec());
    };
    if values.is_empty() {
        return Err(field("auth_methods", "must name at least one method"));
    }
    let kong_default = AuthMethod::ALL
        .iter()
        .all(|m| values.iter().any(|v| v == m.as_str()));
    if kong_default {
        return Ok(DEFAULT_METHODS.to_vec());
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

/// The `*_endpoint` overrides that are set.
pub(super) fn endpoints(f: &Fields<'_>) -> Result<Vec<(Endpoint, String)>, ConfigError> {
    let mut out = Vec::new();
    for endpoint in Endpoint::ALL {
        if let Some(u) = url(f, endpoint.field())? {
            out.push((endpoint, u));
        }
    }
    Ok(out)
}

/// A claim path field (array of keys); `None` when unset.
pub(super) fn claim_path(f: &Fields<'_>, key: &str) -> Result<Option<Vec<String>>, ConfigError> {
    match f.strings(key)? {
        Some(path) if path.is_empty() || path.iter().any(|k| k.is_empty()) => {
            Err(field(key, "must be a non-empty claim path"))
        }
        other => Ok(other),
    }
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

#[cfg(test)]
mod tests {
    use crate::model::plugin::openid_connect::{AuthMethod, DEFAULT_METHODS, Endpoint};
    use crate::model::plugin::{ConfigError, OidcConfig};
    use serde_json::{Value, json};

    fn parse(extra: Value) -> Result<OidcConfig, ConfigError> {
        let mut v = json!({ "issuer": "https://idp.test" });
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        OidcConfig::parse(&v)
    }

    #[test]
    fn kongs_default_method_list_means_the_default_methods() {
        let all: Vec<&str> = AuthMethod::ALL.iter().map(|m| m.as_str()).collect();
        let c = parse(json!({ "auth_methods": all })).unwrap();
        assert_eq!(c.auth_methods, DEFAULT_METHODS.to_vec());
        // One method fewer is an explicit choice, taken as given (every
        // Kong method is implemented).
        let fewer: Vec<&str> = all.iter().copied().filter(|m| *m != "session").collect();
        let c = parse(json!({ "auth_methods": fewer })).unwrap();
        assert_eq!(c.auth_methods.len(), AuthMethod::ALL.len() - 1);
        assert!(!c.enabled(AuthMethod::Session));
    }

    #[test]
    fn identity_fields() {
        let c = parse(json!({})).unwrap();
        assert_eq!(c.credential_claim, vec!["sub"]);
        assert_eq!(c.authenticated_groups_claim, None);
        assert!(!c.by_username_ignore_case && c.run_on_preflight);
        let c = parse(json!({
            "credential_claim": ["client", "id"],
            "authenticated_groups_claim": ["realm_access", "roles"],
            "by_username_ignore_case": true,
            "claims_forbidden": ["act"],
            "run_on_preflight": false,
            "bearer_token_header_name": "X-Token",
        }))
        .unwrap();
        assert_eq!(c.credential_claim, vec!["client", "id"]);
        assert_eq!(
            c.authenticated_groups_claim.unwrap(),
            vec!["realm_access", "roles"]
        );
        assert!(c.by_username_ignore_case && !c.run_on_preflight);
        assert_eq!(c.claims_forbidden, vec!["act"]);
        assert_eq!(c.bearer_token_header_name.unwrap(), "x-token");
        for bad in [
            json!({ "credential_claim": [] }),
            json!({ "authenticated_groups_claim": [""] }),
        ] {
            assert!(parse(bad).is_err());
        }
    }

    #[test]
    fn endpoint_overrides() {
        let c = parse(json!({
            "introspection_endpoint": "https://idp.test/introspect",
            "jwks_endpoint": "https://idp.test/keys",
        }))
        .unwrap();
        assert_eq!(
            c.endpoint_override(Endpoint::Introspection),
            Some("https://idp.test/introspect")
        );
        assert_eq!(
            c.endpoint_override(Endpoint::Jwks),
            Some("https://idp.test/keys")
        );
        assert_eq!(c.endpoint_override(Endpoint::Token), None);
        assert!(parse(json!({ "jwks_endpoint": "keys" })).is_err());
        let c = parse(json!({ "token_endpoint": "https://idp.test/token" })).unwrap();
        assert_eq!(
            c.endpoint_override(Endpoint::Token),
            Some("https://idp.test/token")
        );
    }
}
