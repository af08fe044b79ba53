//! `POST /oauth2_tokens` and `PATCH /oauth2_tokens/{key}`: Kong's
//! `oauth2_tokens` schema (`kong/plugins/oauth2/daos.lua`): `credential`
//! and `expires_in` required, `token_type` only `bearer`, token values
//! generated when not given, `scope`, `authenticated_userid` and `service`
//! optional. Field errors read as every other Admin API write's.

use super::super::read::entities::service_id;
use super::super::read::{Node, token};
use super::super::reply;
use super::super::write::WriteError;
use crate::kong::FieldErrors;
use crate::model::{Sensitive, Table};
use crate::tokens::{IssuedToken, StoreError, TokenChange, unix_now};
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use serde_json::{Map, Value};

/// Fields a write may carry; anything else is an unknown field.
const FIELDS: [&str; 9] = [
    "credential",
    "service",
    "token_type",
    "expires_in",
    "access_token",
    "refresh_token",
    "authenticated_userid",
    "scope",
    "created_at",
];

/// Fields `PATCH` may change; the values and the credential stay.
const MUTABLE: [&str; 3] = ["expires_in", "authenticated_userid", "scope"];

/// Creates a token (201 with its values: the caller needs them).
pub(super) async fn create(
    node: &Node,
    fields: Map<String, Value>,
) -> Result<Response<Full<Bytes>>, WriteError> {
    let published = node.table.load();
    let table = &published.table;
    let mut errors = FieldErrors::new();
    unknown(&fields, &FIELDS, &mut errors);
    let credential_id = credential(table, fields.get("credential"), &mut errors);
    let service = service(table, fields.get("service"), &mut errors);
    let expires_in = integer(&fields, "expires_in", &mut errors);
    if expires_in.is_none() && errors.get("expires_in").is_none() {
        errors.field("expires_in", "required field missing");
    }
    if let Some(t) = string(&fields, "token_type", &mut errors)
        && t != "bearer"
    {
        errors.field("token_type", "expected one of: bearer");
    }
    let fresh = || {
        node.runtime
            .tokens
            .fresh_token(credential_id.as_deref().unwrap_or_default())
    };
    let access_token = string(&fields, "access_token", &mut errors).unwrap_or_else(fresh);
    let refresh_token = string(&fields, "refresh_token", &mut errors).unwrap_or_else(fresh);
    for (key, value) in [
        ("access_token", &access_token),
        ("refresh_token", &refresh_token),
    ] {
        if value.is_empty() {
            errors.field(key, "length must be at least 1");
        }
    }
    let scope = string(&fields, "scope", &mut errors);
    let authenticated_userid = string(&fields, "authenticated_userid", &mut errors);
    let created_at = integer(&fields, "created_at", &mut errors).unwrap_or_else(unix_now);
    errors.into_result()?;

    let store = &node.runtime.tokens;
    let taken = |e: StoreError| match e {
        StoreError::Unplaceable => {
            let mut errors = FieldErrors::new();
            errors.field("access_token", e.to_string());
            WriteError::from(errors)
        }
        e => WriteError::Unavailable(e.to_string()),
    };
    if store.find(&access_token).await.map_err(taken)?.is_some() {
        return Err(WriteError::unique("access_token", access_token));
    }
    if store
        .token_by_refresh(&refresh_token)
        .await
        .map_err(taken)?
        .is_some()
    {
        return Err(WriteError::unique("refresh_token", refresh_token));
    }
    let issued = IssuedToken {
        access_token: Sensitive::new(access_token.clone()),
        refresh_token: Some(Sensitive::new(refresh_token.clone())),
        credential_id: credential_id.unwrap_or_default(),
        service,
        scope,
        authenticated_userid,
        expires_in: expires_in.unwrap_or_default(),
        created_at,
        ttl: None,
    };
    store.insert_token(&issued).await.map_err(taken)?;
    let mut value = token(&issued.summary());
    value["access_token"] = access_token.into();
    value["refresh_token"] = refresh_token.into();
    Ok(reply::json(StatusCode::CREATED, &value))
}

/// Changes `expires_in`, `scope` or `authenticated_userid` of the token
/// `key` names (200 with the token, values masked; 404 when none).
pub(super) async fn update(
    node: &Node,
    key: &str,
    fields: Map<String, Value>,
) -> Result<Response<Full<Bytes>>, WriteError> {
    let mut errors = FieldErrors::new();
    unknown(&fields, &MUTABLE, &mut errors);
    let change = TokenChange {
        expires_in: integer(&fields, "expires_in", &mut errors),
        scope: fields
            .contains_key("scope")
            .then(|| string(&fields, "scope", &mut errors)),
        authenticated_userid: fields
            .contains_key("authenticated_userid")
            .then(|| string(&fields, "authenticated_userid", &mut errors)),
    };
    errors.into_result()?;
    match node.runtime.tokens.update(key, &change).await {
        Ok(Some(summary)) => Ok(reply::ok(&token(&summary))),
        Ok(None) => Err(WriteError::NotFound),
        Err(crate::tokens::StoreError::NeedsToken) => {
            let mut errors = FieldErrors::new();
            errors.field(
                "id",
                "a token in the Redis store is changed through its access token: \
                 PATCH /oauth2_tokens/{access_token}",
            );
            Err(WriteError::Fields(errors))
        }
        Err(e) => Err(WriteError::Unavailable(e.to_string())),
    }
}

fn unknown(fields: &Map<String, Value>, known: &[&str], errors: &mut FieldErrors) {
    for key in fields.keys().filter(|k| !known.contains(&k.as_str())) {
        errors.field(key, "unknown field");
    }
}

/// A reference `{"id": …}` (or a bare id string, as forms send it).
fn reference(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
        Value::Object(map) => map.get("id").and_then(Value::as_str),
        _ => None,
    }
}

fn credential(table: &Table, value: Option<&Value>, errors: &mut FieldErrors) -> Option<String> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        errors.field("credential", "required field missing");
        return None;
    };
    let Some(id) = reference(value) else {
        errors.field("credential", "expected a record");
        return None;
    };
    match table.credentials.oauth2_by_id(id) {
        Some(c) => Some(c.id.clone()),
        None => {
            errors.foreign_key(
                "credential",
                format!(
                    "the foreign key '{{id=\"{id}\"}}' does not reference an existing \
                     'oauth2_credentials' entity."
                ),
            );
            None
        }
    }
}

/// The bound service's name, from its id.
fn service(table: &Table, value: Option<&Value>, errors: &mut FieldErrors) -> Option<String> {
    let value = value.filter(|v| !v.is_null())?;
    let Some(id) = reference(value) else {
        errors.field("service", "expected a record");
        return None;
    };
    let found = table
        .services
        .values()
        .find(|s| service_id(&s.name) == id || s.name == id)
        .map(|s| s.name.clone());
    if found.is_none() {
        errors.foreign_key(
            "service",
            format!("the foreign key '{{id=\"{id}\"}}' does not reference an existing 'services' entity."),
        );
    }
    found
}

fn string(fields: &Map<String, Value>, key: &str, errors: &mut FieldErrors) -> Option<String> {
    match fields.get(key)? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        _ => {
            errors.field(key, "expected a string");
            None
        }
    }
}

/// A non-negative integer (digit strings count, as forms send them).
fn integer(fields: &Map<String, Value>, key: &str, errors: &mut FieldErrors) -> Option<u64> {
    let value = fields.get(key).filter(|v| !v.is_null())?;
    let n = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    if n.is_none() {
        errors.field(key, "expected an integer");
    }
    n
}
