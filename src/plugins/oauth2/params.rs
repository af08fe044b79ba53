//! Request parameters as Kong's oauth2 plugin reads them: the query string
//! merged with the body for `POST`/`PUT`/`PATCH` (form-urlencoded or JSON;
//! body values win). A repeated or non-string value is kept as such, because
//! several checks treat "present but not a string" differently from absent.

use crate::plugins::{Exchange, PluginError, empty_body};
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method};
use http_body_util::BodyExt;
use std::collections::HashMap;

/// One parameter value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Param {
    /// A single string.
    One(String),
    /// A repeated parameter (or a JSON array of strings).
    Many(Vec<String>),
    /// A JSON value that is neither (number, boolean, object, null…).
    Other,
}

/// Parameters by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(HashMap<String, Param>);

/// Body encodings whose parameters are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `application/json` (or `+json`).
    Json,
}

// === impl Params ===

impl Params {
    /// Reads the query and, for methods with parameters in the body, the
    /// body (buffered, at most `limit` bytes, and kept for the upstream).
    pub async fn read(exchange: &mut Exchange<'_>, limit: usize) -> Result<Self, PluginError> {
        let mut params = Self::from_query(exchange.request.uri().query());
        if has_body_params(exchange.request.method())
            && let Some(kind) = body_kind(exchange.headers())
        {
            let body = read_body(exchange, limit).await?;
            params.merge(Self::from_body(kind, &body));
        }
        Ok(params)
    }

    /// Parameters of a query string.
    pub fn from_query(query: Option<&str>) -> Self {
        Self::from_form(query.unwrap_or_default().as_bytes())
    }

    /// Parameters of a body.
    pub fn from_body(kind: BodyKind, body: &[u8]) -> Self {
        match kind {
            BodyKind::Form => Self::from_form(body),
            BodyKind::Json => Self::from_json(body),
        }
    }

    fn from_form(raw: &[u8]) -> Self {
        let mut map: HashMap<String, Param> = HashMap::new();
        for (k, v) in form_urlencoded::parse(raw) {
            let v = v.into_owned();
            match map.remove(k.as_ref()) {
                None => map.insert(k.into_owned(), Param::One(v)),
                Some(Param::One(first)) => map.insert(k.into_owned(), Param::Many(vec![first, v])),
                Some(Param::Many(mut all)) => {
                    all.push(v);
                    map.insert(k.into_owned(), Param::Many(all))
                }
                Some(Param::Other) => map.insert(k.into_owned(), Param::Other),
            };
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
    pub fn merge(&mut self, other: Self) {
        self.0.extend(other.0);
    }

    /// The parameter as sent.
    pub fn get(&self, name: &str) -> Option<&Param> {
        self.0.get(name)
    }

    /// The parameter when it is a single string.
    pub fn string(&self, name: &str) -> Option<&str> {
        match self.0.get(name) {
            Some(Param::One(s)) => Some(s),
            _ => None,
        }
    }

    /// Whether the parameter is present in any form.
    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

/// Reads the whole request body (at most `limit` bytes) and puts it back
/// so it is still forwarded upstream.
///
/// Same effect as `Exchange::body`, written as a plain frame loop: the
/// boxed-error conversion inside `Limited::collect` makes the calling future
/// fail rustc's `Send` check, and the proxy needs `Send` futures.
pub async fn read_body(exchange: &mut Exchange<'_>, limit: usize) -> Result<Bytes, PluginError> {
    let mut body = std::mem::replace(exchange.request.body_mut(), empty_body());
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| PluginError::Body(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(PluginError::Body(format!(
                    "length limit exceeded: request body larger than {limit} bytes"
                )));
            }
            buf.extend_from_slice(&data);
        }
    }
    let bytes = buf.freeze();
    // The body is now sent with a length; a chunked framing header would
    // contradict it.
    exchange
        .request
        .headers_mut()
        .remove(http::header::TRANSFER_ENCODING);
    exchange.set_body(bytes.clone());
    Ok(bytes)
}

/// Whether Kong reads parameters from the body for `method`.
pub fn has_body_params(method: &Method) -> bool {
    *method == Method::POST || *method == Method::PUT || *method == Method::PATCH
}

/// The body encoding named by `Content-Type`, if it is one that is read.
pub fn body_kind(headers: &HeaderMap) -> Option<BodyKind> {
    let ct = headers
        .get(http::header::CONTENT_TYPE)?
        .to_str()
        .ok()?
        .to_ascii_lowercase();
    let essence = ct.split(';').next().unwrap_or_default().trim();
    if essence == "application/x-www-form-urlencoded" {
        Some(BodyKind::Form)
    } else if essence == "application/json" || essence.ends_with("+json") {
        Some(BodyKind::Json)
    } else {
        None
    }
}

/// `raw` (a query string or form body) without the pairs named `name`;
/// every other pair keeps its exact bytes.
pub fn without_param(raw: &str, name: &str) -> String {
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
        p.merge(Params::from_body(BodyKind::Form, b"a=x%20y&d=%2B"));
        assert_eq!(p.string("a"), Some("x y"));
        assert_eq!(p.string("d"), Some("+"));
    }

    #[test]
    fn json_bodies() {
        let p = Params::from_body(
            BodyKind::Json,
            br#"{"s":"v","n":1,"arr":["a","b"],"mixed":["a",1]}"#,
        );
        assert_eq!(p.string("s"), Some("v"));
        assert_eq!(p.get("n"), Some(&Param::Other));
        assert_eq!(
            p.get("arr"),
            Some(&Param::Many(vec!["a".into(), "b".into()]))
        );
        assert_eq!(p.get("mixed"), Some(&Param::Other));
        assert_eq!(Params::from_body(BodyKind::Json, b"[1]"), Params::default());
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
            "multipart/form-data; boundary=x".parse().unwrap(),
        );
        assert_eq!(body_kind(&h), None);
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
