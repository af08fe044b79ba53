//! Claim checks shared by `bearer` and `introspection`: time claims with
//! leeway, and Kong's authorization rules (`*_claim` / `*_required`).

use super::failure::Reason;
use super::kong_oauth2::Oauth2Identity;
use crate::model::plugin::OidcConfig;
use crate::model::plugin::openid_connect::ClaimRule;
use serde_json::{Map, Value};
use std::sync::{Arc, OnceLock};

#[cfg(test)]
mod tests;

/// The claims of a verified token, as the rules and the claim headers read
/// them (through `Deref`). A `kong_oauth2` token has none of its own: its
/// claims are made from its row (`client_id`, `scope`, `sub`) the first time
/// something reads them, since most configurations read none and making
/// and dropping the map was a tenth of what kong_oauth2 added to a request.
pub(super) enum Claims {
    /// The claims the method found (a shared handle).
    Given(Arc<Value>),
    /// A `kong_oauth2` token's row, and its claims once made.
    Row(Oauth2Identity, OnceLock<Arc<Value>>),
}

impl Claims {
    /// The claims of `row`, made when first read.
    pub(super) fn of_oauth2_row(row: Oauth2Identity) -> Self {
        Self::Row(row, OnceLock::new())
    }

    /// The `kong_oauth2` row the claims come from: its consumer is the
    /// credential's (no `consumer_claim`).
    pub(super) fn oauth2_row(&self) -> Option<&Oauth2Identity> {
        match self {
            Self::Row(row, _) => Some(row),
            Self::Given(_) => None,
        }
    }

    /// A shared handle on the claims (for a session's record).
    pub(super) fn shared(&self) -> Arc<Value> {
        Arc::clone(self.made())
    }

    fn made(&self) -> &Arc<Value> {
        match self {
            Self::Given(value) => value,
            Self::Row(row, made) => made.get_or_init(|| {
                let mut claims = Map::new();
                claims.insert("client_id".into(), Value::String(row.client_id.to_string()));
                if let Some(scope) = &row.scope {
                    claims.insert("scope".into(), Value::String(scope.to_string()));
                }
                if let Some(user) = &row.authenticated_userid {
                    claims.insert("sub".into(), Value::String(user.to_string()));
                }
                Arc::new(Value::Object(claims))
            }),
        }
    }
}

impl std::ops::Deref for Claims {
    type Target = Value;

    fn deref(&self) -> &Value {
        self.made()
    }
}

impl From<Arc<Value>> for Claims {
    fn from(value: Arc<Value>) -> Self {
        Self::Given(value)
    }
}

impl From<Value> for Claims {
    fn from(value: Value) -> Self {
        Self::Given(Arc::new(value))
    }
}

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
/// (`claims` are read only when a rule is configured.)
pub(super) fn authorize(config: &OidcConfig, claims: &Claims) -> Result<(), Reason> {
    for (name, rule) in config.claim_rules() {
        // An empty rule reads nothing (and makes no kong_oauth2 claims).
        if rule.required.is_empty() {
            continue;
        }
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
