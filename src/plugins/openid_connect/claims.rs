//! Claim checks shared by `bearer` and `introspection`: time claims with
//! leeway, and Kong's authorization rules (`*_claim` / `*_required`).

use super::failure::Reason;
use crate::model::plugin::OidcConfig;
use crate::model::plugin::openid_connect::ClaimRule;
use serde_json::Value;

#[cfg(test)]
mod tests;

/// The value at `path` (a list of object keys) inside `claims`.
pub(super) fn lookup<'a>(claims: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(claims, |v, key| v.get(key.as_str()))
}

/// The words a claim value stands for: a string is split on whitespace
/// (`"openid email"`), an array contributes each element, a scalar itself.
pub(super) fn words(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(_) | Value::Bool(_) => Some(v.to_string()),
                _ => None,
            })
            .collect(),
        Value::Number(_) | Value::Bool(_) => vec![value.to_string()],
        Value::Null | Value::Object(_) => Vec::new(),
    }
}

/// Kong's rule: `required` entries are OR-ed; the space-separated words of
/// one entry are AND-ed. No entries means no rule.
pub(super) fn satisfies(claims: &Value, rule: &ClaimRule) -> bool {
    if rule.required.is_empty() {
        return true;
    }
    let present = lookup(claims, &rule.claim).map(words).unwrap_or_default();
    rule.required.iter().any(|entry| {
        entry
            .split_whitespace()
            .all(|word| present.iter().any(|p| p == word))
    })
}

/// Checks the four authorization rules; the first that fails names the
/// 403 reason.
pub(super) fn authorize(config: &OidcConfig, claims: &Value) -> Result<(), Reason> {
    for (name, rule) in config.claim_rules() {
        if !satisfies(claims, rule) {
            return Err(match name {
                "scopes" => Reason::Scopes,
                "audience" => Reason::Audience,
                "groups" => Reason::Groups,
                _ => Reason::Roles,
            });
        }
    }
    Ok(())
}

/// A numeric date claim (RFC 7519 NumericDate, fractions allowed). A
/// present claim that is not a number is malformed.
pub(super) fn numeric_date(claims: &Value, name: &str) -> Result<Option<u64>, Reason> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(u) => Ok(Some(u)),
            None => match n.as_f64() {
                Some(f) if f.is_finite() && f >= 0.0 => Ok(Some(f as u64)),
                _ => Err(Reason::Malformed),
            },
        },
        Some(_) => Err(Reason::Malformed),
    }
}

/// Checks `exp`, `nbf` and `iat` at `now` with `leeway` seconds of skew and
/// returns `exp`. `require_exp` makes a missing `exp` a failure (JWT access
/// tokens); introspection results may omit it.
pub(super) fn check_times(
    claims: &Value,
    now: u64,
    leeway: u64,
    require_exp: bool,
) -> Result<Option<u64>, Reason> {
    let exp = numeric_date(claims, "exp")?;
    match exp {
        // RFC 7519 §4.1.4: valid only while now is before exp.
        Some(exp) if now >= exp.saturating_add(leeway) => return Err(Reason::Expired),
        None if require_exp => return Err(Reason::NoExpiry),
        _ => {}
    }
    if let Some(nbf) = numeric_date(claims, "nbf")?
        && nbf > now.saturating_add(leeway)
    {
        return Err(Reason::NotYetValid);
    }
    if let Some(iat) = numeric_date(claims, "iat")?
        && iat > now.saturating_add(leeway)
    {
        return Err(Reason::IssuedInFuture);
    }
    Ok(exp)
}

/// Checks `iss` against the allowed issuers (exact string match).
pub(super) fn check_issuer(claims: &Value, allowed: &[&str]) -> Result<(), Reason> {
    match claims.get("iss").and_then(Value::as_str) {
        Some(iss) if allowed.contains(&iss) => Ok(()),
        _ => Err(Reason::Issuer),
    }
}

/// A claim value as an upstream header value: strings as they are,
/// numbers and booleans printed, arrays joined with `, `, objects as JSON.
pub(super) fn header_value(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => Some(
            items
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", "),
        ),
        other => Some(other.to_string()),
    }
}
