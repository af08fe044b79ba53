//! Kong's pagination of Admin API lists: `?size=` (1..=1000, default 100)
//! and an opaque `?offset=` taken from the previous page, answered as
//! `{"data": […], "offset": "…", "next": "/services?offset=…"}` (`offset`
//! absent and `next` null on the last page), with Kong's 400 bodies for a
//! bad size or offset (`kong/api/endpoints.lua`, `kong/db/dao`).

use super::reply;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use serde_json::{Value, json};

/// Kong's default page size.
const DEFAULT_SIZE: usize = 100;
/// Kong's largest page size.
const MAX_SIZE: usize = 1000;
/// Kong's error codes (`kong/db/errors.lua`).
const INVALID_OFFSET: u8 = 7;
const INVALID_SIZE: u8 = 9;

/// The page a list request asks for. A bad `size` or `offset` is kept
/// and answered only by list endpoints, as Kong ignores them elsewhere.
#[derive(Clone, Debug)]
pub(super) struct Page {
    request: Result<Request, PageError>,
    /// The request path without query, the base of `next`.
    path: String,
}

#[derive(Clone, Debug)]
struct Request {
    size: usize,
    /// The decoded offset, as the list that made it wrote it.
    offset: Option<String>,
    /// Whether `size` was given (then `next` carries it, as in Kong).
    explicit_size: bool,
}

/// Why a page request is refused (400 with Kong's body).
#[derive(Clone, Debug, thiserror::Error)]
pub(super) enum PageError {
    /// `size` is not a number or out of range.
    #[error("{0}")]
    Size(&'static str),
    /// `offset` is not one this API handed out.
    #[error("'{offset}' is not a valid offset: {reason}")]
    Offset {
        /// The offset as sent.
        offset: String,
        /// Kong's reason.
        reason: &'static str,
    },
}

// === impl Page ===

impl Page {
    /// Reads `size` and `offset` from the query of a request for `path`.
    pub(super) fn new(path: &str, query: Option<&str>) -> Self {
        Self {
            request: parse(query.unwrap_or_default()),
            path: format!("/{}", path.trim_matches('/')),
        }
    }

    /// The largest number of items the page holds, and the decoded offset.
    pub(super) fn window(&self) -> Result<(usize, Option<&str>), PageError> {
        match &self.request {
            Ok(r) => Ok((r.size, r.offset.as_deref())),
            Err(e) => Err(e.clone()),
        }
    }

    /// Answers a whole list with the requested page of it; the offset is
    /// the position of the page's first item.
    pub(super) fn list(&self, data: Vec<Value>) -> Response<Full<Bytes>> {
        let (size, start) = match self.window() {
            Ok((size, None)) => (size, 0),
            Ok((size, Some(raw))) => match raw.parse::<usize>() {
                Ok(n) => (size, n),
                Err(_) => return self.bad_offset("invalid offset").respond(),
            },
            Err(e) => return e.respond(),
        };
        let end = start.saturating_add(size);
        let more = data.len() > end;
        let data: Vec<Value> = data.into_iter().skip(start).take(size).collect();
        self.answer(data, more.then(|| end.to_string()))
    }

    /// Answers one page already cut by the caller; `next` is the decoded
    /// offset of the following page, `None` on the last one.
    pub(super) fn answer(&self, data: Vec<Value>, next: Option<String>) -> Response<Full<Bytes>> {
        let Some(next) = next else {
            return reply::ok(&json!({ "data": data, "next": null }));
        };
        let offset = STANDARD.encode(next);
        let escaped: String = form_urlencoded::byte_serialize(offset.as_bytes()).collect();
        let size = match &self.request {
            Ok(r) if r.explicit_size => format!("&size={}", r.size),
            _ => String::new(),
        };
        reply::ok(&json!({
            "data": data,
            "offset": offset,
            "next": format!("{}?offset={escaped}{size}", self.path),
        }))
    }

    /// The error for an offset that decoded but names no position.
    pub(super) fn bad_offset(&self, reason: &'static str) -> PageError {
        let offset = match &self.request {
            Ok(r) => STANDARD.encode(r.offset.as_deref().unwrap_or_default()),
            Err(_) => String::new(),
        };
        PageError::Offset { offset, reason }
    }
}

fn parse(query: &str) -> Result<Request, PageError> {
    let mut size = None;
    let mut offset = None;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match &*key {
            "size" => size = Some(value.into_owned()),
            "offset" => offset = Some(value.into_owned()),
            _ => {}
        }
    }
    let explicit_size = size.is_some();
    let size = match size {
        None => DEFAULT_SIZE,
        Some(raw) => {
            let n: f64 = raw
                .trim()
                .parse()
                .map_err(|_| PageError::Size("size must be a number"))?;
            if n.fract() != 0.0 || n < 1.0 || n > MAX_SIZE as f64 {
                return Err(PageError::Size(
                    "size must be an integer between 1 and 1000",
                ));
            }
            n as usize
        }
    };
    let offset = match offset {
        None => None,
        Some(raw) => {
            let bad = || PageError::Offset {
                offset: raw.clone(),
                reason: "bad base64 encoding",
            };
            let bytes = STANDARD.decode(raw.as_bytes()).map_err(|_| bad())?;
            Some(String::from_utf8(bytes).map_err(|_| bad())?)
        }
    };
    Ok(Request {
        size,
        offset,
        explicit_size,
    })
}

// === impl PageError ===

impl PageError {
    /// Kong's 400 body: `{"code": 9, "name": "invalid size", "message": …}`.
    pub(super) fn respond(&self) -> Response<Full<Bytes>> {
        let (code, name) = match self {
            PageError::Size(_) => (INVALID_SIZE, "invalid size"),
            PageError::Offset { .. } => (INVALID_OFFSET, "invalid offset"),
        };
        reply::json(
            StatusCode::BAD_REQUEST,
            &json!({ "code": code, "name": name, "message": self.to_string() }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body(response: Response<Full<Bytes>>) -> (u16, Value) {
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    fn items(n: usize) -> Vec<Value> {
        (0..n).map(|i| json!(i)).collect()
    }

    #[tokio::test]
    async fn pages_follow_next_until_the_end() {
        let (_, first) = body(Page::new("/services", Some("size=2")).list(items(5))).await;
        assert_eq!(first["data"], json!([0, 1]));
        let offset = first["offset"].as_str().unwrap();
        let escaped: String = form_urlencoded::byte_serialize(offset.as_bytes()).collect();
        assert_eq!(first["next"], format!("/services?offset={escaped}&size=2"));
        let query = first["next"].as_str().unwrap().split_once('?').unwrap().1;
        let (_, second) = body(Page::new("/services", Some(query)).list(items(5))).await;
        assert_eq!(second["data"], json!([2, 3]));
        let query = second["next"].as_str().unwrap().split_once('?').unwrap().1;
        let (_, last) = body(Page::new("/services", Some(query)).list(items(5))).await;
        assert_eq!(last, json!({"data": [4], "next": null}));

        let (_, all) = body(Page::new("/services", None).list(items(100))).await;
        assert_eq!(all["data"].as_array().unwrap().len(), 100);
        assert!(all["next"].is_null() && all.get("offset").is_none());
        let (_, more) = body(Page::new("/services", None).list(items(101))).await;
        assert_eq!(more["data"].as_array().unwrap().len(), 100);
        assert_eq!(more["offset"], STANDARD.encode("100"));
    }

    #[tokio::test]
    async fn bad_size_and_offset_answer_kongs_400() {
        let cases = [
            ("size=abc", 9, "invalid size", "size must be a number"),
            (
                "size=0",
                9,
                "invalid size",
                "size must be an integer between 1 and 1000",
            ),
            (
                "size=1001",
                9,
                "invalid size",
                "size must be an integer between 1 and 1000",
            ),
            (
                "size=1.5",
                9,
                "invalid size",
                "size must be an integer between 1 and 1000",
            ),
            (
                "offset=hello",
                7,
                "invalid offset",
                "'hello' is not a valid offset: bad base64 encoding",
            ),
        ];
        for (query, code, name, message) in cases {
            let (status, v) = body(Page::new("/routes", Some(query)).list(items(3))).await;
            assert_eq!(status, 400, "{query}");
            assert_eq!(
                v,
                json!({"code": code, "name": name, "message": message}),
                "{query}"
            );
        }
        let (_, v) = body(Page::new("/routes", Some("size=1000")).list(items(3))).await;
        assert_eq!(v["data"], json!([0, 1, 2]));
    }
}
