//! Where the `password` and `client_credentials` methods find what the
//! client presents, per `password_param_type` and
//! `client_credentials_param_type` (Kong's default for both: header, query,
//! body, in that order):
//!
//! - `header`: `Authorization: Basic base64(name:secret)` (scheme
//!   case-insensitive; the secret may contain `:`, the name may not);
//! - `query`: exactly one `username` and one `password` (or `client_id` and
//!   `client_secret`) parameter; a repeated one counts as missing;
//! - `body`: the same pair in a form or JSON body of POST/PUT/PATCH.
//!
//! A pair with an empty name or secret is not a credential. `password` is
//! looked for first, so a Basic header on a route with both methods is a
//! password (as in Kong).

use super::super::token_location::{
    BODY_LIMIT, BodyKind, body_kind, remove_from_form, remove_from_json, remove_from_query,
    single_param,
};
use crate::model::Sensitive;
use crate::model::plugin::openid_connect::{AuthMethod, TokenParam};
use crate::plugins::{Exchange, PluginError};
use base64::Engine;
use http::header::AUTHORIZATION;

/// Credentials a request presented for one grant method.
#[derive(Debug)]
pub(in super::super) struct Presented {
    /// [`AuthMethod::Password`] or [`AuthMethod::ClientCredentials`].
    pub(in super::super) method: AuthMethod,
    /// The username, or the client id.
    pub(in super::super) name: String,
    /// The password, or the client secret.
    pub(in super::super) secret: Sensitive,
    /// Where they were found (for `hide_credentials`).
    pub(in super::super) place: Place,
}

/// Where presented credentials were found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in super::super) enum Place {
    /// `Authorization: Basic`.
    Header,
    /// The query string.
    Query,
    /// A form or JSON body.
    Body(BodyKind),
}

/// The parameter names of a method: (name, secret).
fn names(method: AuthMethod) -> (&'static str, &'static str) {
    match method {
        AuthMethod::Password => ("username", "password"),
        _ => ("client_id", "client_secret"),
    }
}

/// Looks for credentials of `method` in `places`, in order.
pub(in super::super) async fn find(
    method: AuthMethod,
    places: &[TokenParam],
    exchange: &mut Exchange<'_>,
) -> Result<Option<Presented>, PluginError> {
    let (name_param, secret_param) = names(method);
    for place in places {
        let found = match place {
            TokenParam::Header => basic(exchange).map(|pair| (pair, Place::Header)),
            TokenParam::Query => exchange.request.uri().query().and_then(|q| {
                let name = single_param(q.as_bytes(), name_param)?;
                let secret = single_param(q.as_bytes(), secret_param)?;
                Some(((name, secret), Place::Query))
            }),
            TokenParam::Body => from_body(exchange, name_param, secret_param).await?,
            // Not a place Kong reads grant credentials from.
            TokenParam::Cookie => None,
        };
        if let Some(((name, secret), place)) = found
            && !name.is_empty()
            && !secret.is_empty()
        {
            return Ok(Some(Presented {
                method,
                name,
                secret: Sensitive::new(secret),
                place,
            }));
        }
    }
    Ok(None)
}

/// `Authorization: Basic …` split at its first colon.
fn basic(exchange: &Exchange<'_>) -> Option<(String, String)> {
    parse_basic(exchange.headers().get(AUTHORIZATION)?.to_str().ok()?)
}

fn parse_basic(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (name, secret) = decoded.split_once(':')?;
    Some((name.to_string(), secret.to_string()))
}

async fn from_body(
    exchange: &mut Exchange<'_>,
    name_param: &str,
    secret_param: &str,
) -> Result<Option<((String, String), Place)>, PluginError> {
    let Some(kind) = body_kind(exchange) else {
        return Ok(None);
    };
    let body = exchange.body(BODY_LIMIT).await?;
    let pair = match kind {
        BodyKind::Form => single_param(&body, name_param).zip(single_param(&body, secret_param)),
        BodyKind::Json => serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                let get = |k: &str| v.get(k)?.as_str().map(str::to_string);
                get(name_param).zip(get(secret_param))
            }),
    };
    Ok(pair.map(|p| (p, Place::Body(kind))))
}

/// `hide_credentials`: removes the presented credentials from the request.
pub(in super::super) async fn hide(
    exchange: &mut Exchange<'_>,
    presented: &Presented,
) -> Result<(), PluginError> {
    let (name, secret) = names(presented.method);
    match presented.place {
        Place::Header => exchange.clear_upstream_header(AUTHORIZATION),
        Place::Query => remove_from_query(exchange, &[name, secret]),
        Place::Body(BodyKind::Form) => remove_from_form(exchange, &[name, secret]).await?,
        Place::Body(BodyKind::Json) => remove_from_json(exchange, &[name, secret]).await?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_names_per_method() {
        assert_eq!(names(AuthMethod::Password), ("username", "password"));
        assert_eq!(
            names(AuthMethod::ClientCredentials),
            ("client_id", "client_secret")
        );
    }

    #[test]
    fn basic_splits_at_the_first_colon() {
        let enc = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(
            parse_basic(&format!("basic {}", enc("id:se:cret"))),
            Some(("id".into(), "se:cret".into()))
        );
        assert_eq!(parse_basic(&format!("Bearer {}", enc("id:x"))), None);
        assert_eq!(parse_basic(&format!("Basic {}", enc("no-colon"))), None);
        assert_eq!(parse_basic("Basic !!not-base64"), None);
    }
}
