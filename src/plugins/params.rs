//! Request parameters as Kong's plugins read them (oauth2's endpoints and
//! token, key-auth's `key_in_body`): the query string
//! merged with the body for `POST`/`PUT`/`PATCH` (form-urlencoded, JSON or
//! `multipart/form-data`; body values win). A repeated or non-string value
//! is kept as such, because several checks treat "present but not a string"
//! differently from absent. A body that does not parse adds nothing, as
//! Kong's `kong.request.get_body()` failing does.

mod multipart;

use crate::plugins::{Exchange, PluginError};
use bytes::Bytes;
use http::{HeaderMap, Method};
use std::collections::HashMap;

/// One parameter value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Param {
    /// A single string.
    One(String),
    /// A repeated parameter (or a JSON array of strings).
    Many(Vec<String>),
    /// A JSON value that is neither (number, boolean, object, null…).
    Other,
}

/// Parameters by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Params(HashMap<String, Param>);

/// Body encodings whose parameters are read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BodyKind {
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `application/json` (or `+json`).
    Json,
    /// `multipart/form-data` with this boundary.
    Multipart(String),
}

// === impl Params ===

impl Params {
    /// Reads the query and, for methods with parameters in the body, the
    /// body (buffered, at most `limit` bytes, and kept for the upstream).
    pub(crate) async fn read(
        exchange: &mut Exchange<'_>,
        limit: usize,
    ) -> Result<Self, PluginError> {
        let mut params = Self::from_query(exchange.request.uri().query());
        if let Some(kind) = body_read(exchange.request.method(), exchange.headers()) {
            let body = exchange.body(limit).await?;
            params.merge(Self::from_body(&kind, body).await);
        }
        Ok(params)
    }

    /// Parameters of a query string.
    pub(crate) fn from_query(query: Option<&str>) -> Self {
        Self::from_form(query.unwrap_or_default().as_bytes())
    }

    /// Parameters of a body.
    pub(crate) async fn from_body(kind: &BodyKind, body: Bytes) -> Self {
        match kind {
            BodyKind::Form => Self::from_form(&body),
            BodyKind::Json => Self::from_json(&body),
            // Boxed: multer's future is kilobytes and would size every
            // future that may read parameters, oauth2's token lookup among
            // them (see `plugins::access`).
            BodyKind::Multipart(boundary) => Box::pin(multipart::fields(body, boundary))
                .await
                .map(Self::from_pairs)
                .unwrap_or_default(),
        }
    }

    fn from_form(raw: &[u8]) -> Self {
        Self::from_pairs(form_urlencoded::parse(raw).map(|(k, v)| (k.into_owned(), v.into_owned())))
    }

    /// Name/value pairs in order; a repeated name collects its values.
    fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut map: HashMap<String, Param> = HashMap::new();
        for (k, v) in pairs {
            let param = match map.remove(&k) {
                None => Param::One(v),
                Some(Param::One(first)) => Param::Many(vec![first, v]),
                Some(Param::Many(mut all)) => {
                    all.push(v);
                    Param::Many(all)
                }
                Some(Param::Other) => Param::Other,
            };
            map.insert(k, param);
        }
        Self(map)
    }

    fn from_json(raw: &[u8]) -> Self {
        let Ok(serde_json::Value::Object(obj)) = serde_json::from_slice(raw) else {
            return Self::default();
        };
        let map = obj
            .into_iter()
            .map(|(k, v)| {
                let p = match v {
                    serde_json::Value::String(s) => Param::One(s),
                    serde_json::Value::Array(items) => items
                        .into_iter()
                        .map(|i| match i {
                            serde_json::Value::String(s) => Some(s),
                            _ => None,
                        })
                        .collect::<Option<Vec<_>>>()
                        .map_or(Param::Other, Param::Many),
                    _ => Param::Other,
                };
                (k, p)
            })
            .collect();
        Self(map)
    }

    /// Adds `other`, replacing values of the same name.
    pub(crate) fn merge(&mut self, other: Self) {
        self.0.extend(other.0);
    }

    /// The parameter as sent.
    pub(crate) fn get(&self, name: &str) -> Option<&Param> {
        self.0.get(name)
    }

    /// The parameter when it is a single string.
    pub(crate) fn string(&self, name: &str) -> Option<&str> {
        match self.0.get(name) {
            Some(Param::One(s)) => Some(s),
            _ => None,
        }
    }

    /// Whether the parameter is present in any form.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

/// Whether Kong reads parameters from the body for `method`.
pub(crate) fn has_body_params(method: &Method) -> bool {
    *method == Method::POST || *method == Method::PUT || *method == Method::PATCH
}

/// The encoding of the body whose parameters a `method` request with
/// `headers` carries, if Kong reads them at all.
pub(super) fn body_read(method: &Method, headers: &HeaderMap) -> Option<BodyKind> {
    if has_body_params(method) {
        body_kind(headers)
    } else {
        None
    }
}

/// The body encoding named by `Content-Type`, if it is one that is read
/// (multipart only with a boundary, without which it cannot be split).
pub(crate) fn body_kind(headers: &HeaderMap) -> Option<BodyKind> {
    let ct = headers.get(http::header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence == "application/x-www-form-urlencoded" {
        Some(BodyKind::Form)
    } else if essence == "application/json" || essence.ends_with("+json") {
        Some(BodyKind::Json)
    } else if essence == "multipart/form-data" {
        multipart::boundary(ct).map(BodyKind::Multipart)
    } else {
        None
    }
}

/// `raw` (a query string or form body) without the pairs named `name`;
/// every other pair keeps its exact bytes.
pub(crate) fn without_param(raw: &str, name: &str) -> String {
    raw.split('&')
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or_default();
            let decoded: String = form_urlencoded::parse(key.as_bytes())
                .next()
                .map(|(k, _)| k.into_owned())
                .unwrap_or_default();
            decoded != name
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_wins_and_repeats_are_kept() {
        let mut p = Params::from_query(Some("a=1&b=2&b=3&c"));
        assert_eq!(p.string("a"), Some("1"));
        assert_eq!(p.get("b"), Some(&Param::Many(vec!["2".into(), "3".into()])));
        assert_eq!(p.string("b"), None);
        assert_eq!(p.string("c"), Some(""));
        p.merge(Params::from_form(b"a=x%20y&d=%2B"));
        assert_eq!(p.string("a"), Some("x y"));
        assert_eq!(p.string("d"), Some("+"));
    }

    #[test]
    fn json_bodies() {
        let p = Params::from_json(br#"{"s":"v","n":1,"arr":["a","b"],"mixed":["a",1]}"#);
        assert_eq!(p.string("s"), Some("v"));
        assert_eq!(p.get("n"), Some(&Param::Other));
        assert_eq!(
            p.get("arr"),
            Some(&Param::Many(vec!["a".into(), "b".into()]))
        );
        assert_eq!(p.get("mixed"), Some(&Param::Other));
        assert_eq!(Params::from_json(b"[1]"), Params::default());
    }

    #[test]
    fn content_types() {
        let mut h = HeaderMap::new();
        assert_eq!(body_kind(&h), None);
        h.insert(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .unwrap(),
        );
        assert_eq!(body_kind(&h), Some(BodyKind::Form));
        h.insert(
            http::header::CONTENT_TYPE,
            "Application/JSON".parse().unwrap(),
        );
        assert_eq!(body_kind(&h), Some(BodyKind::Json));
        h.insert(
            http::header::CONTENT_TYPE,
            "Multipart/Form-Data; boundary=\"Ab C\"".parse().unwrap(),
        );
        assert_eq!(body_kind(&h), Some(BodyKind::Multipart("Ab C".into())));
        h.insert(
            http::header::CONTENT_TYPE,
            "multipart/form-data".parse().unwrap(),
        );
        assert_eq!(body_kind(&h), None);
        h.insert(http::header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert_eq!(body_kind(&h), None);
    }

    #[tokio::test]
    async fn multipart_bodies_as_kong_reads_them() {
        let body = "--b\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\n\
                    client_credentials\r\n\
                    --b\r\nContent-Disposition: form-data; name=\"scope\"\r\n\r\na\r\n\
                    --b\r\nContent-Disposition: form-data; name=\"scope\"\r\n\r\nb\r\n\
                    --b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\n\
                    Content-Type: text/plain\r\n\r\nline 1\r\nline 2\r\n--b--\r\n";
        let kind = BodyKind::Multipart("b".into());
        let p = Params::from_body(&kind, Bytes::from(body)).await;
        assert_eq!(p.string("grant_type"), Some("client_credentials"));
        assert_eq!(
            p.get("scope"),
            Some(&Param::Many(vec!["a".into(), "b".into()]))
        );
        assert_eq!(p.string("f"), Some("line 1\r\nline 2"));
        // Not multipart after all, or cut short: nothing, as in Kong.
        let broken = Params::from_body(&kind, Bytes::from_static(b"--b\r\nbroken")).await;
        assert_eq!(broken, Params::default());
        let other = Params::from_body(&kind, Bytes::from_static(b"a=1")).await;
        assert_eq!(other, Params::default());
    }

    #[test]
    fn removing_a_param_keeps_the_rest_byte_for_byte() {
        assert_eq!(
            without_param("a=%41&access_token=x&b=c+d", "access_token"),
            "a=%41&b=c+d"
        );
        assert_eq!(
            without_param("access%5Ftoken=x&access_token=y", "access_token"),
            ""
        );
        assert_eq!(without_param("q=1", "access_token"), "q=1");
    }
}
