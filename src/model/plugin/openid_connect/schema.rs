//! `openid-connect` in the registry: Kong's name, priority, defaults and
//! how the Admin API prints a parsed config.
//!
//! The defaults are kingress's effective ones where they differ from Kong's
//! (`auth_methods`, `ssl_verify`; see the module docs), so what is printed is
//! what runs.

use super::OidcConfig;
use crate::model::plugin::ConfigError;
use crate::model::plugin::schema::{MASK, Schema, mask};
use serde_json::{Map, Value, json};

impl Schema for OidcConfig {
    const NAME: &'static str = "openid-connect";
    const PRIORITY: u32 = 1050;
    // `upstream_access_token_header: null` turns the header off.
    const KEEP_NULL: &'static [&'static str] = &["upstream_access_token_header"];

    fn parse(config: &Value) -> Result<Self, ConfigError> {
        OidcConfig::parse(config)
    }

    /// The defaults of the fields kingress reads (two literals: one would
    /// exceed `json!`'s macro recursion limit).
    fn defaults() -> Map<String, Value> {
        let first = json!({
            "issuer": null,
            "client_id": null,
            "client_secret": null,
            "client_auth": null,
            "client_jwk": null,
            "client_alg": null,
            "auth_methods": ["bearer", "kong_oauth2", "introspection"],
            "bearer_token_param_type": ["header", "query", "body"],
            "bearer_token_cookie_name": null,
            "issuers_allowed": null,
            "extra_jwks_uris": null,
            "introspection_endpoint": null,
            "rediscovery_lifetime": 30,
            "leeway": 0,
            "verify_signature": true,
            "verify_claims": true,
            "enable_hs_signatures": false,
            "scopes_claim": ["scope"],
            "scopes_required": null,
            "audience_claim": ["aud"],
            "audience_required": null,
            "groups_claim": ["groups"],
            "groups_required": null,
            "roles_claim": ["roles"],
            "roles_required": null,
        });
        let second = json!({
            "consumer_claim": null,
            "authenticated_groups_claim": null,
            "consumer_by": ["username", "custom_id"],
            "consumer_optional": false,
            "anonymous": null,
            "hide_credentials": false,
            "upstream_access_token_header": "authorization:bearer",
            "upstream_headers_claims": null,
            "upstream_headers_names": null,
            "upstream_introspection_header": null,
            "unauthorized_error_message": "Unauthorized",
            "forbidden_error_message": "Forbidden",
            "display_errors": false,
            "cache_introspection": true,
            "ssl_verify": true,
            "timeout": 10000,
            "introspection_check_active": true,
            "introspection_hint": "access_token",
            "using_pseudo_issuer": false,
            "by_username_ignore_case": false,
        });
        let mut map = match first {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        if let Value::Object(more) = second {
            map.extend(more);
        }
        map
    }

    fn render(&self) -> Value {
        json!({
            "issuer": without_userinfo(&self.issuer),
            "client_id": self.client_id,
            "client_secret": mask(&self.client_secret),
            "issuers_allowed": self.issuers_allowed,
            "leeway": self.leeway,
            "verify_signature": self.verify_signature,
            "verify_claims": self.verify_claims,
        })
    }
}

/// A URL with any `user:password@` part masked.
fn without_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{MASK}@{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_masked() {
        assert_eq!(
            without_userinfo("https://u:p@idp.example/realms/x"),
            "https://[redacted]@idp.example/realms/x"
        );
        assert_eq!(
            without_userinfo("https://idp.example/a@b"),
            "https://idp.example/a@b"
        );
    }
}
