//! Finding the token (Kong's `retrieve_tokens`): every value of the
//! `uri_param_names` query parameters, the first cookie of each of
//! `cookie_names`, and `Bearer <token>` in the first value of each of
//! `header_names`. Empty values do not count; the same token found twice
//! is one token; two different ones are refused.

use crate::model::plugin::JwtConfig;
use http::Request;
use regex::bytes::Regex;
use std::sync::LazyLock;

/// What the request carries.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Found {
    /// No token anywhere.
    None,
    /// Exactly one distinct token.
    One(String),
    /// Several distinct tokens.
    Many,
    /// A query parameter without a value (`?jwt`): Kong reads it as the
    /// boolean `true`, which is no token string.
    Unrecognizable,
}

/// One thing found.
#[derive(PartialEq, Eq)]
enum Item {
    Text(String),
    Bare,
}

/// Kong's pattern, unanchored as `ngx.re.gmatch` searches: the first
/// `Bearer`/`bearer` followed by whitespace, and the rest of the value.
static BEARER: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?-u)\s*[Bb]earer\s+(.+)").ok());

/// The token(s) of `request` where `config` says to look.
pub(super) fn find<B>(config: &JwtConfig, request: &Request<B>) -> Found {
    let mut found: Vec<Item> = Vec::new();
    let mut add = |item: Item| {
        if !found.contains(&item) {
            found.push(item);
        }
    };
    if let Some(query) = request.uri().query() {
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let Some((name, value)) = form_urlencoded::parse(pair.as_bytes()).next() else {
                continue;
            };
            if !config.uri_param_names.iter().any(|n| *n == name) {
                continue;
            }
            if !pair.contains('=') {
                add(Item::Bare);
            } else if !value.is_empty() {
                add(Item::Text(value.into_owned()));
            }
        }
    }
    let headers = request.headers();
    for name in &config.cookie_names {
        if let Some(value) = cookie(headers, name).filter(|v| !v.is_empty()) {
            add(Item::Text(value.to_string()));
        }
    }
    for name in &config.header_names {
        // `get` takes the first value of a repeated header, as Kong does;
        // a name that is no valid header name finds nothing.
        let Some(value) = headers.get(name.as_str()) else {
            continue;
        };
        let token = BEARER
            .as_ref()
            .and_then(|re| re.captures(value.as_bytes()))
            .and_then(|c| c.get(1))
            .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned());
        if let Some(token) = token.filter(|t| !t.is_empty()) {
            add(Item::Text(token));
        }
    }
    let mut found = found.into_iter();
    match (found.next(), found.next()) {
        (None, _) => Found::None,
        (Some(_), Some(_)) => Found::Many,
        (Some(Item::Text(token)), None) => Found::One(token),
        (Some(Item::Bare), None) => Found::Unrecognizable,
    }
}

/// The first cookie called `name` (case-insensitively, as nginx's
/// `$cookie_` variables match) in any `Cookie` header, as sent.
fn cookie<'h>(headers: &'h http::HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(extra: serde_json::Value) -> JwtConfig {
        use crate::model::plugin::Schema;
        JwtConfig::parse(&extra).unwrap()
    }

    fn request(uri: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut b = Request::builder().uri(uri);
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn query_cookie_and_header_in_kong_terms() {
        let c = config(
            json!({"cookie_names": ["silly", "crumble"], "uri_param_names": ["token", "jwt"]}),
        );
        let one = |r: &Request<()>| find(&c, r);
        assert_eq!(
            one(&request("/?jwt=a.b.c", &[])),
            Found::One("a.b.c".into())
        );
        assert_eq!(
            one(&request("/?token=a%2Eb", &[])),
            Found::One("a.b".into())
        );
        assert_eq!(one(&request("/?jwt=", &[])), Found::None);
        assert_eq!(one(&request("/?jwt", &[])), Found::Unrecognizable);
        assert_eq!(one(&request("/?other=x", &[])), Found::None);
        assert_eq!(one(&request("/?jwt=x&jwt=x", &[])), Found::One("x".into()));
        assert_eq!(one(&request("/?jwt=x&jwt=y", &[])), Found::Many);
        assert_eq!(one(&request("/?jwt=x&token=y", &[])), Found::Many);
        let cookie = [("cookie", "a=1; CRUMBLE=tok; path=/")];
        assert_eq!(one(&request("/", &cookie)), Found::One("tok".into()));
        let both = [("cookie", "silly=tok"), ("authorization", "Bearer tok")];
        assert_eq!(one(&request("/?jwt=tok", &both)), Found::One("tok".into()));
        let differ = [("authorization", "Bearer other")];
        assert_eq!(one(&request("/?jwt=tok", &differ)), Found::Many);
    }

    #[test]
    fn bearer_is_searched_like_kongs_regex() {
        let c = config(json!({}));
        let auth = |v: &str| find(&c, &request("/", &[("authorization", v)]));
        assert_eq!(auth("Bearer abc"), Found::One("abc".into()));
        assert_eq!(auth("bearer   abc def"), Found::One("abc def".into()));
        // Unanchored: Kong finds the word anywhere.
        assert_eq!(auth("Token Bearer abc"), Found::One("abc".into()));
        assert_eq!(auth("BEARER abc"), Found::None);
        assert_eq!(auth("Bearerabc"), Found::None);
        assert_eq!(auth("Basic abc"), Found::None);
        assert_eq!(auth("abc"), Found::None);
    }

    #[test]
    fn first_value_of_a_repeated_header() {
        let c = config(json!({"header_names": ["CustomAuthorization"]}));
        let r = request(
            "/",
            &[
                ("customauthorization", "Bearer first"),
                ("customauthorization", "Bearer second"),
            ],
        );
        assert_eq!(find(&c, &r), Found::One("first".into()));
        let plain = request("/", &[("authorization", "Bearer x")]);
        assert_eq!(find(&c, &plain), Found::None);
    }
}
