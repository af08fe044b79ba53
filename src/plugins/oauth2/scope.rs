//! Kong's `retrieve_scope`: the requested scopes, checked against
//! `config.scopes`.

use super::respond::Failure;
use crate::model::plugin::Oauth2Config;
use crate::plugins::params::{Param, Params};

/// The granted scope (accepted names joined by one space, order kept,
/// duplicates kept), or the `invalid_scope` failure. Without `config.scopes`
/// any `scope` parameter is ignored.
pub(super) fn retrieve(params: &Params, config: &Oauth2Config) -> Result<Option<String>, Failure> {
    let requested = params.get("scope");
    match (&config.scopes, requested) {
        (Some(allowed), Some(requested)) => {
            let Param::One(requested) = requested else {
                return Err(Failure::bad("invalid_scope", "scope must be a string"));
            };
            let mut granted = Vec::new();
            for name in requested.split_whitespace() {
                if !allowed.iter().any(|a| a == name) {
                    return Err(Failure::bad(
                        "invalid_scope",
                        format!("\"{name}\" is an invalid scope"),
                    ));
                }
                granted.push(name);
            }
            Ok(Some(granted.join(" ")).filter(|s| !s.is_empty()))
        }
        (_, None) if config.mandatory_scope => {
            Err(Failure::bad("invalid_scope", "You must specify a scope"))
        }
        _ => Ok(None),
    }
}

/// Whether every scope of a token is still allowed (refresh grant); else
/// `invalid_scope` "Scope mismatch".
pub(super) fn still_allowed(scope: Option<&str>, config: &Oauth2Config) -> Result<(), Failure> {
    let allowed = config.scopes.as_deref().unwrap_or_default();
    let ok = scope
        .unwrap_or_default()
        .split_whitespace()
        .all(|s| allowed.iter().any(|a| a == s));
    if ok {
        Ok(())
    } else {
        Err(Failure::bad("invalid_scope", "Scope mismatch"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(extra: serde_json::Value) -> Oauth2Config {
        let mut v = json!({"enable_client_credentials": true});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        Oauth2Config::parse(&v).unwrap()
    }

    fn err(r: Result<Option<String>, Failure>) -> String {
        r.unwrap_err().description
    }

    #[test]
    fn kong_scope_rules() {
        let c = config(json!({"scopes": ["email", "profile"]}));
        let q = |s: &str| Params::from_query(Some(s));
        assert_eq!(
            retrieve(&q("scope=email%20profile%20email"), &c),
            Ok(Some("email profile email".into()))
        );
        assert_eq!(retrieve(&q("scope=%20"), &c), Ok(None));
        assert_eq!(retrieve(&q(""), &c), Ok(None));
        assert_eq!(
            err(retrieve(&q("scope=email%20x"), &c)),
            "\"x\" is an invalid scope"
        );
        assert_eq!(
            err(retrieve(&q("scope=a&scope=b"), &c)),
            "scope must be a string"
        );
        let m = config(json!({"scopes": ["email"], "mandatory_scope": true}));
        assert_eq!(err(retrieve(&q(""), &m)), "You must specify a scope");
        let none = config(json!({}));
        assert_eq!(retrieve(&q("scope=anything"), &none), Ok(None));
    }

    #[test]
    fn refresh_scope_check() {
        let c = config(json!({"scopes": ["email"]}));
        assert!(still_allowed(Some("email"), &c).is_ok());
        assert!(still_allowed(None, &c).is_ok());
        assert_eq!(
            still_allowed(Some("email profile"), &c)
                .unwrap_err()
                .description,
            "Scope mismatch"
        );
        assert!(still_allowed(Some("email"), &config(json!({}))).is_err());
    }
}
