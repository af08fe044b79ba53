//! Registered claims (`jwt_parser.lua`'s `verify_registered_claims` and
//! `check_maximum_expiration`): each failure is a member of the 401 body,
//! named by the claim, in Kong's words.

use crate::model::plugin::jwt::Claim;
use serde_json::{Map, Value};

/// Checks `exp` and `nbf` as configured against `now` (Unix seconds).
pub(super) fn verify(
    to_verify: &[Claim],
    claims: &Map<String, Value>,
    now: f64,
) -> Result<(), Map<String, Value>> {
    let mut errors = Map::new();
    for claim in to_verify {
        let (name, value) = match claim {
            Claim::Exp => ("exp", claims.get("exp")),
            Claim::Nbf => ("nbf", claims.get("nbf")),
        };
        let Some(at) = value.and_then(Value::as_f64) else {
            errors.insert(name.into(), "must be a number".into());
            continue;
        };
        let error = match claim {
            Claim::Exp if at <= now => Some("token expired"),
            Claim::Nbf if at > now => Some("token not valid yet"),
            _ => None,
        };
        if let Some(error) = error {
            errors.insert(name.into(), error.into());
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// `exp` may be at most `maximum` seconds from now (0 = no limit).
pub(super) fn maximum_expiration(
    maximum: f64,
    claims: &Map<String, Value>,
    now: f64,
) -> Result<(), Map<String, Value>> {
    if maximum <= 0.0 {
        return Ok(());
    }
    match claims.get("exp").and_then(Value::as_f64) {
        Some(exp) if exp - now <= maximum => Ok(()),
        _ => {
            let mut errors = Map::new();
            errors.insert("exp".into(), "exceeds maximum allowed expiration".into());
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn exp_and_nbf_in_kongs_words() {
        let both = [Claim::Nbf, Claim::Exp];
        let err = |c: Value| Value::Object(verify(&both, &claims(c), 1000.0).unwrap_err());
        assert_eq!(
            err(json!({})),
            json!({"nbf": "must be a number", "exp": "must be a number"})
        );
        assert_eq!(
            err(json!({"exp": "2000", "nbf": 10})),
            json!({"exp": "must be a number"})
        );
        assert_eq!(
            err(json!({"exp": 1000, "nbf": 10})),
            json!({"exp": "token expired"})
        );
        assert_eq!(
            err(json!({"exp": 2000, "nbf": 1001})),
            json!({"nbf": "token not valid yet"})
        );
        assert!(verify(&both, &claims(json!({"exp": 1001, "nbf": 1000})), 1000.0).is_ok());
        assert!(verify(&both, &claims(json!({"exp": 1000.5, "nbf": 999.5})), 1000.0).is_ok());
        // Nothing asked, nothing checked.
        assert!(verify(&[], &claims(json!({"exp": 1})), 1000.0).is_ok());
    }

    #[test]
    fn maximum_expiration_bounds_exp_from_now() {
        let c = |exp: f64| claims(json!({ "exp": exp }));
        assert!(maximum_expiration(300.0, &c(1300.0), 1000.0).is_ok());
        let over = maximum_expiration(300.0, &c(1301.0), 1000.0).unwrap_err();
        assert_eq!(
            Value::Object(over),
            json!({"exp": "exceeds maximum allowed expiration"})
        );
        assert!(maximum_expiration(300.0, &claims(json!({})), 1000.0).is_err());
        assert!(maximum_expiration(0.0, &claims(json!({})), 1000.0).is_ok());
    }
}
