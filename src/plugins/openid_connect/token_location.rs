//! Where the access token is read (`bearer_token_param_type`) and how
//! `hide_credentials` removes it again.
//!
//! - `header`: `Authorization: Bearer <token>` (scheme case-insensitive;
//!   other schemes such as Basic are not a bearer token), then the
//!   `access-token` and `x-access-token` headers (raw value, an optional
//!   `Bearer ` prefix is stripped);
//! - `query`: exactly one `access_token` parameter (a repeated one counts
//!   as missing, as in Kong's oauth2 plugin);
//! - `body`: `access_token` in a form or JSON body of POST/PUT/PATCH;
//! - `cookie`: the cookie named `bearer_token_cookie_name`.
//!
//! With `bearer_token_header_name`, `header` means that header only (raw
//! value, an optional `Bearer ` prefix is stripped).

use super::cookie;
use crate::model::plugin::OidcConfig;
use crate::model::plugin::openid_connect::TokenParam;
use crate::plugins::{Exchange, PluginError};
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderName, Method, Uri};

/// Largest body read when looking for `access_token` in it.
pub(super) const BODY_LIMIT: usize = 1024 * 1024;
const PARAM: &str = "access_token";
const ACCESS_TOKEN: HeaderName = HeaderName::from_static("access-token");
const X_ACCESS_TOKEN: HeaderName = HeaderName::from_static("x-access-token");

/// A token and where it was found.
pub(super) struct Found {
    /// The token.
    pub(super) token: String,
    /// Where it came from.
    pub(super) place: Place,
}

/// Where a token came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Place {
    /// A request header.
    Header(HeaderName),
    /// The query string, under this parameter name.
    Query(String),
    /// A form body, under this parameter name.
    FormBody(String),
    /// A JSON body, under this member name.
    JsonBody(String),
    /// A cookie.
    Cookie(String),
}

/// Looks for the token in the configured places, in order.
pub(super) async fn find(
    config: &OidcConfig,
    exchange: &mut Exchange<'_>,
) -> Result<Option<Found>, PluginError> {
    for param in &config.bearer_token_param_type {
        let found = match param {
            TokenParam::Header => match &config.bearer_token_header_name {
                Some(name) => from_named_header(exchange, name),
                None => from_headers(exchange),
            },
            TokenParam::Query => exchange
                .request
                .uri()
                .query()
                .and_then(|q| single_param(q.as_bytes(), PARAM))
                .map(|token| Found {
                    token,
                    place: Place::Query(PARAM.to_string()),
                }),
            TokenParam::Body => from_body(exchange, PARAM).await?,
            TokenParam::Cookie => config
                .bearer_token_cookie_name
                .as_deref()
                .and_then(|name| from_cookie(exchange, name)),
        };
        if let Some(found) = found.filter(|f| !f.token.is_empty()) {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// `bearer_token_header_name`: only this header, raw or `Bearer <token>`.
fn from_named_header(exchange: &Exchange<'_>, name: &HeaderName) -> Option<Found> {
    let value = exchange.headers().get(name)?.to_str().ok()?.trim();
    let token = match value.split_once(char::is_whitespace) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => value,
    };
    Some(Found {
        token: token.to_string(),
        place: Place::Header(name.clone()),
    })
}

fn from_headers(exchange: &Exchange<'_>) -> Option<Found> {
    let headers = exchange.headers();
    if let Some(token) = headers
        .get(AUTHORIZATION)
        .and_then(|v| bearer_token(v.as_bytes()))
    {
        return Some(Found {
            token: token.to_string(),
            place: Place::Header(AUTHORIZATION),
        });
    }
    for name in [ACCESS_TOKEN, X_ACCESS_TOKEN] {
        if let Some(value) = headers.get(&name).and_then(|v| v.to_str().ok()) {
            let value = value.trim();
            let token = match value.split_once(char::is_whitespace) {
                Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
                _ => value,
            };
            return Some(Found {
                token: token.to_string(),
                place: Place::Header(name),
            });
        }
    }
    None
}

/// The token of an `Authorization: Bearer <token>` value: the scheme in
/// any case, blanks around and between, and nothing more; a token of
/// visible ASCII only (what `HeaderValue::to_str` admits). Searched as
/// bytes with memchr and one branch-free pass: every bearer request reads
/// an 800-byte token here, and decoding it as characters (splitting on
/// Unicode whitespace) was a third of a cached bearer check.
fn bearer_token(value: &[u8]) -> Option<&str> {
    let value = value.trim_ascii();
    let at = memchr::memchr2(b' ', b'\t', value)?;
    if !value[..at].eq_ignore_ascii_case(b"bearer") {
        return None;
    }
    let token = value[at..].trim_ascii_start();
    // Blanks are not visible: one pass also refuses a blank inside.
    if !visible_ascii(token) {
        return None;
    }
    std::str::from_utf8(token).ok()
}

/// Whether every byte is visible ASCII (what `HeaderValue::to_str` admits
/// besides blanks, so no blank either), without branches so that it
/// vectorizes.
fn visible_ascii(bytes: &[u8]) -> bool {
    !bytes
        .iter()
        .fold(false, |bad, &b| bad | (b.wrapping_sub(0x21) > 0x7e - 0x21))
}

/// Looks for a grant parameter (`refresh_token`…) named `name` in
/// `places`, in order: a header (`_` read as `-`, as nginx does), the
/// query, a form or JSON body.
pub(super) async fn find_param(
    exchange: &mut Exchange<'_>,
    name: &str,
    places: &[TokenParam],
) -> Result<Option<Found>, PluginError> {
    for place in places {
        let found = match place {
            TokenParam::Header => {
                let header = HeaderName::from_bytes(name.replace('_', "-").as_bytes()).ok();
                header.and_then(|h| {
                    let value = exchange
                        .headers()
                        .get(&h)?
                        .to_str()
                        .ok()?
                        .trim()
                        .to_string();
                    Some(Found {
                        token: value,
                        place: Place::Header(h),
                    })
                })
            }
            TokenParam::Query => exchange
                .request
                .uri()
                .query()
                .and_then(|q| single_param(q.as_bytes(), name))
                .map(|token| Found {
                    token,
                    place: Place::Query(name.to_string()),
                }),
            TokenParam::Body => from_body(exchange, name).await?,
            TokenParam::Cookie => None,
        };
        if let Some(found) = found.filter(|f| !f.token.is_empty()) {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// The one `name` parameter in a urlencoded string; repeated means none.
pub(super) fn single_param(encoded: &[u8], name: &str) -> Option<String> {
    let mut values = form_urlencoded::parse(encoded)
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned());
    match (values.next(), values.next()) {
        (Some(v), None) => Some(v),
        _ => None,
    }
}

/// A body that may carry credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BodyKind {
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `application/json` or `*+json`.
    Json,
}

/// The kind of a POST/PUT/PATCH body that may carry credentials.
pub(super) fn body_kind(exchange: &Exchange<'_>) -> Option<BodyKind> {
    if ![Method::POST, Method::PUT, Method::PATCH].contains(exchange.request.method()) {
        return None;
    }
    let ct = exchange.headers().get(CONTENT_TYPE)?.to_str().ok()?;
    let mime = ct.split(';').next()?.trim().to_ascii_lowercase();
    match mime.as_str() {
        "application/x-www-form-urlencoded" => Some(BodyKind::Form),
        m if m == "application/json" || m.ends_with("+json") => Some(BodyKind::Json),
        _ => None,
    }
}

async fn from_body(exchange: &mut Exchange<'_>, name: &str) -> Result<Option<Found>, PluginError> {
    let Some(kind) = body_kind(exchange) else {
        return Ok(None);
    };
    let body = exchange.body(BODY_LIMIT).await?;
    Ok(match kind {
        BodyKind::Form => single_param(&body, name).map(|token| Found {
            token,
            place: Place::FormBody(name.to_string()),
        }),
        BodyKind::Json => serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get(name)?.as_str().map(str::to_string))
            .map(|token| Found {
                token,
                place: Place::JsonBody(name.to_string()),
            }),
    })
}

fn from_cookie(exchange: &Exchange<'_>, name: &str) -> Option<Found> {
    cookie::pairs(exchange.headers()).find_map(|(k, v)| {
        (k == name).then(|| Found {
            token: v.to_string(),
            place: Place::Cookie(name.to_string()),
        })
    })
}

/// `hide_credentials`: removes the token (access or refresh token) from
/// where it was found, under the name it was found by, keeping everything
/// else byte for byte.
pub(super) async fn hide(exchange: &mut Exchange<'_>, place: &Place) -> Result<(), PluginError> {
    match place {
        Place::Header(name) => exchange.clear_upstream_header(name.clone()),
        Place::Query(name) => remove_from_query(exchange, &[name.as_str()]),
        Place::FormBody(name) => remove_from_form(exchange, &[name.as_str()]).await?,
        Place::JsonBody(name) => remove_from_json(exchange, &[name.as_str()]).await?,
        Place::Cookie(name) => cookie::remove(exchange.request.headers_mut(), |k| k == name),
    }
    Ok(())
}

/// Removes the `names` parameters from the query string.
pub(super) fn remove_from_query(exchange: &mut Exchange<'_>, names: &[&str]) {
    let uri = exchange.request.uri().clone();
    *exchange.request.uri_mut() = without_query_param(&uri, names);
}

/// Removes the `names` parameters from a form body.
pub(super) async fn remove_from_form(
    exchange: &mut Exchange<'_>,
    names: &[&str],
) -> Result<(), PluginError> {
    let body = exchange.body(BODY_LIMIT).await?;
    exchange.set_body(Bytes::from(without_param(&body, names)));
    Ok(())
}

/// Removes the `names` members from a JSON object body.
pub(super) async fn remove_from_json(
    exchange: &mut Exchange<'_>,
    names: &[&str],
) -> Result<(), PluginError> {
    let body = exchange.body(BODY_LIMIT).await?;
    if let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&body)
        && let Some(obj) = v.as_object_mut()
    {
        for name in names {
            obj.remove(*name);
        }
        exchange.set_body(Bytes::from(v.to_string()));
    }
    Ok(())
}

/// The urlencoded `input` without its `names` pairs.
fn without_param(input: &[u8], names: &[&str]) -> Vec<u8> {
    let kept: Vec<&[u8]> = input
        .split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let key = pair.split(|b| *b == b'=').next().unwrap_or_default();
            form_urlencoded::parse(key)
                .next()
                .is_none_or(|(k, _)| !names.contains(&k.as_ref()))
        })
        .collect();
    kept.join(&b'&')
}

fn without_query_param(uri: &Uri, names: &[&str]) -> Uri {
    let Some(query) = uri.query() else {
        return uri.clone();
    };
    let kept = String::from_utf8(without_param(query.as_bytes(), names)).unwrap_or_default();
    let path_and_query = if kept.is_empty() {
        uri.path().to_string()
    } else {
        format!("{}?{kept}", uri.path())
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = path_and_query.parse().ok();
    Uri::from_parts(parts).unwrap_or_else(|_| uri.clone())
}

#[cfg(test)]
mod tests {
    proptest::proptest! {
        /// The byte search finds what the character-based definition does
        /// (`to_str`, trimmed, split at the first blank, one token).
        #[test]
        fn bearer_token_as_the_character_definition(
            value in "[ \t]{0,2}(bearer|Bearer|BEARER|basic|bearerx|)[ \t]{0,3}[a-zA-Z0-9._~+/=\u{80}-\u{ff} \t-]{0,30}[ \t]{0,2}",
        ) {
            let expected = http::HeaderValue::from_str(&value).ok().and_then(|v| {
                let v = v.to_str().ok()?.trim_ascii();
                let at = v.find([' ', '\t'])?;
                let token = v[at..].trim_ascii_start();
                (v[..at].eq_ignore_ascii_case("bearer") && !token.contains([' ', '\t']))
                    .then(|| token.to_string())
            });
            proptest::prop_assert_eq!(super::bearer_token(value.as_bytes()).map(str::to_string), expected);
        }
    }

    use super::*;

    #[test]
    fn removes_only_access_token_pairs() {
        let p = &[PARAM];
        assert_eq!(without_param(b"a=1&access_token=x&b=%20", p), b"a=1&b=%20");
        assert_eq!(without_param(b"access%5Ftoken=x", p), b"");
        assert_eq!(without_param(b"access_tokens=x", p), b"access_tokens=x");
        let uri: Uri = "/p?x=1&access_token=t".parse().unwrap();
        assert_eq!(without_query_param(&uri, p), "/p?x=1");
        let uri: Uri = "/p?access_token=t".parse().unwrap();
        assert_eq!(without_query_param(&uri, p), "/p");
        let both = &["username", "password"];
        assert_eq!(without_param(b"username=u&a=1&password=p", both), b"a=1");
    }

    #[test]
    fn repeated_query_token_counts_as_missing() {
        assert_eq!(single_param(b"access_token=a", PARAM), Some("a".into()));
        assert_eq!(single_param(b"access_token=a&access_token=b", PARAM), None);
        assert_eq!(single_param(b"other=a", PARAM), None);
    }
}
