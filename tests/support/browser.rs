//! A scripted browser for login flows: a real reqwest client (redirects
//! not followed, so every hop can be checked) and a cookie jar that
//! honours `Set-Cookie` the way a browser does for one host (name/value,
//! `Max-Age=0` deletes, attributes kept for inspection).

use reqwest::StatusCode;
use reqwest::header::{COOKIE, HeaderMap, LOCATION, SET_COOKIE};
use std::collections::BTreeMap;

/// A cookie the jar holds.
#[derive(Clone, Debug)]
pub struct Cookie {
    /// Its value.
    pub value: String,
    /// The whole `Set-Cookie` line it came from.
    pub line: String,
}

/// What one request answered.
#[derive(Debug)]
pub struct Page {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body text.
    pub body: String,
}

/// A client with a cookie jar.
pub struct Browser {
    client: reqwest::Client,
    /// The cookies, by name.
    pub jar: BTreeMap<String, Cookie>,
}

// === impl Page ===

impl Page {
    /// The `Location` header.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).map(|v| v.to_str().unwrap())
    }

    /// The body as JSON (`Null` when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The `Set-Cookie` lines.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }
}

// === impl Browser ===

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    /// An empty jar.
    pub fn new() -> Self {
        Browser {
            client: super::client::builder().http1_only().build().unwrap(),
            jar: BTreeMap::new(),
        }
    }

    /// The `Cookie` header the jar sends.
    pub fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, c)| format!("{k}={}", c.value))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn remember(&mut self, headers: &HeaderMap) {
        for line in headers.get_all(SET_COOKIE) {
            let line = line.to_str().unwrap().to_string();
            let first = line.split(';').next().unwrap();
            let (name, value) = first.split_once('=').unwrap();
            let deleted = line
                .split(';')
                .any(|a| a.trim().eq_ignore_ascii_case("Max-Age=0"));
            if deleted {
                self.jar.remove(name.trim());
            } else {
                self.jar.insert(
                    name.trim().to_string(),
                    Cookie {
                        value: value.trim().to_string(),
                        line: line.clone(),
                    },
                );
            }
        }
    }

    /// Sends `request` with the jar's cookies and keeps what it sets.
    pub async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let request = if self.jar.is_empty() {
            request
        } else {
            request.header(COOKIE, self.cookie_header())
        };
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        self.remember(&headers);
        let body = response.text().await.unwrap();
        Page {
            status,
            headers,
            body,
        }
    }

    /// A GET.
    pub async fn get(&mut self, url: &str) -> Page {
        let request = self.client.get(url);
        self.send(request).await
    }

    /// A urlencoded POST.
    pub async fn post_form(&mut self, url: &str, fields: &[(String, String)]) -> Page {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let request = self
            .client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    /// A request built by the caller (method, headers, body).
    pub fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.client.request(method, url)
    }

    /// The whole login: GET `url` (expects the 302 to the provider), let
    /// the provider sign in, and deliver its answer to the callback
    /// (following a `form_post` page). Returns the callback's response.
    pub async fn login(&mut self, url: &str) -> Page {
        let first = self.get(url).await;
        assert_eq!(first.status, StatusCode::FOUND, "{first:?}");
        let authorize = first.location().unwrap().to_string();
        self.finish_login(&authorize).await
    }

    /// From the authorization URL on: the provider's answer delivered to
    /// the callback.
    pub async fn finish_login(&mut self, authorize: &str) -> Page {
        let idp = self.get(authorize).await;
        match idp.status {
            StatusCode::FOUND => {
                let callback = idp.location().unwrap().to_string();
                self.get(&callback).await
            }
            StatusCode::OK => {
                let (action, fields) = super::idp::form_post_fields(&idp.body);
                let fields: Vec<(String, String)> = fields.into_iter().collect();
                self.post_form(&action, &fields).await
            }
            other => panic!("provider answered {other}: {}", idp.body),
        }
    }
}
