//! Kong's configuration defaults for the implemented plugins, used to print
//! a plugin's `config` whole (as Kong does) and to read form-encoded input
//! (`config.token_expiration=60` arrives as a string).
//!
//! The openid-connect defaults are kingress's effective ones where they
//! differ from Kong's (`auth_methods`, `ssl_verify`; see
//! `model::plugin::openid_connect`), so what is printed is what runs.

use serde_json::{Map, Value, json};

/// Fields whose default is `null` but whose type is an array of strings.
const NULL_ARRAYS: [&str; 11] = [
    "scopes",
    "client_id",
    "issuers_allowed",
    "extra_jwks_uris",
    "scopes_required",
    "audience_required",
    "groups_required",
    "roles_required",
    "consumer_claim",
    "upstream_headers_claims",
    "upstream_headers_names",
];

/// Kong's `oauth2` defaults (`provision_key` stays unset: kingress does not
/// generate one, see `model::plugin::oauth2`).
fn oauth2() -> Value {
    json!({
        "scopes": null,
        "mandatory_scope": false,
        "provision_key": null,
        "token_expiration": 7200,
        "enable_authorization_code": false,
        "enable_implicit_grant": false,
        "enable_client_credentials": false,
        "enable_password_grant": false,
        "hide_credentials": false,
        "accept_http_if_already_terminated": false,
        "anonymous": null,
        "global_credentials": false,
        "auth_header_name": "authorization",
        "refresh_token_ttl": 1_209_600,
        "reuse_refresh_token": false,
        "pkce": "lax",
        "realm": null,
        "persistent_refresh_token": false,
    })
}

/// The `openid-connect` defaults of the fields kingress reads (two
/// literals: one would exceed `json!`'s macro recursion limit).
fn openid_connect() -> Value {
    let mut first = json!({
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
    if let (Some(a), Value::Object(b)) = (first.as_object_mut(), second) {
        a.extend(b);
    }
    first
}

fn defaults(name: &str) -> Map<String, Value> {
    let value = match name {
        "oauth2" => oauth2(),
        "openid-connect" => openid_connect(),
        _ => Value::Null,
    };
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// `config` with every unset field at its default. Explicit `null`s are
/// kept where they mean something other than the default
/// (`upstream_access_token_header: null` turns the header off).
pub fn defaulted_config(name: &str, config: &Value) -> Value {
    let mut out = defaults(name);
    if let Some(given) = config.as_object() {
        for (key, value) in given {
            if value.is_null() && key != "upstream_access_token_header" {
                continue;
            }
            out.insert(key.clone(), value.clone());
        }
    }
    Value::Object(out)
}

/// Reads string values of form-encoded input by the field's type: booleans
/// from `true`/`false`, integers from digits, one string as a one-element
/// array. Values already of the right type are left alone.
pub fn coerce_config(name: &str, config: &mut Value) {
    let defaults = defaults(name);
    let Some(map) = config.as_object_mut() else {
        return;
    };
    for (key, value) in map.iter_mut() {
        let Value::String(s) = value else { continue };
        let array = NULL_ARRAYS.contains(&key.as_str());
        match defaults.get(key) {
            Some(Value::Bool(_)) => match s.as_str() {
                "true" => *value = Value::Bool(true),
                "false" => *value = Value::Bool(false),
                _ => {}
            },
            Some(Value::Number(_)) => {
                if let Ok(n) = s.trim().parse::<u64>() {
                    *value = Value::from(n);
                }
            }
            Some(Value::Array(_)) => *value = Value::Array(vec![Value::String(s.clone())]),
            Some(Value::Null) if array && name == "oauth2" => {
                *value = Value::Array(vec![Value::String(s.clone())])
            }
            _ => {}
        }
    }
}
