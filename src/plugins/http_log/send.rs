//! Encodes and sends one batch to the log server as Kong's `send_entries`
//! does.

use crate::model::plugin::http_log::HttpLogConfig;
use crate::plugins::queue::{Deliver, Encode};
use base64::Engine;
use bytes::{BufMut, Bytes, BytesMut};
use futures::future::BoxFuture;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use std::time::Duration;

/// What a queue of one configuration sends with.
pub(super) struct Sender {
    client: reqwest::Client,
    method: Method,
    url: String,
    headers: HeaderMap,
}

impl Sender {
    /// The sender for `config`; `None` when the endpoint or the client
    /// cannot be built (the config was validated, so this is unexpected).
    pub(super) fn new(config: &HttpLogConfig) -> Option<Self> {
        let (uri, userinfo) = config.endpoint().ok()?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs_f64(config.timeout.max(1.0) / 1000.0))
            .pool_idle_timeout(Duration::from_secs_f64(config.keepalive.max(0.0) / 1000.0))
            .build()
            .map_err(|e| tracing::error!(error = %e, "http-log: cannot build an HTTP client"))
            .ok()?;
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_str(&config.content_type).ok()?,
        );
        if let Some(userinfo) = userinfo {
            let basic = base64::engine::general_purpose::STANDARD.encode(userinfo);
            let mut value = HeaderValue::from_str(&format!("Basic {basic}")).ok()?;
            value.set_sensitive(true);
            headers.insert(http::header::AUTHORIZATION, value);
        }
        for (name, value) in config.headers.iter().flatten() {
            let (Ok(name), Ok(mut value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) else {
                continue;
            };
            value.set_sensitive(true);
            // Kong's own headers win.
            headers.entry(name).or_insert(value);
        }
        Some(Self {
            client,
            method: Method::from_bytes(config.method.as_bytes()).ok()?,
            url: uri.to_string(),
            headers,
        })
    }

    /// `method host:port` for log lines (no user info, no path secrets).
    pub(super) fn describe(&self) -> String {
        let host = self
            .url
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| u.authority().map(|a| a.to_string()))
            .unwrap_or_default();
        format!("{} {host}", self.method)
    }
}

impl Deliver for Sender {
    fn deliver(&self, body: Bytes) -> BoxFuture<'static, Result<(), String>> {
        let request = self
            .client
            .request(self.method.clone(), &self.url)
            .headers(self.headers.clone())
            .body(body);
        let describe = self.describe();
        Box::pin(async move {
            let response = request
                .send()
                .await
                .map_err(|e| format!("failed request to {describe}: {}", e.without_url()))?;
            let status = response.status();
            if status.as_u16() < 300 {
                Ok(())
            } else {
                Err(format!(
                    "request to {describe} returned status code {}",
                    status.as_u16()
                ))
            }
        })
    }
}

/// The batch encoder of a queue: with `single` (Kong's `max_batch_size`
/// 1) a lone entry goes as it is, a JSON object; otherwise a JSON array.
pub(super) fn encode(single: bool) -> Encode<Bytes> {
    Box::new(move |batch: Vec<Bytes>| {
        if single && batch.len() == 1 {
            batch.into_iter().next().unwrap_or_default()
        } else {
            json_array(&batch)
        }
    })
}

/// `[e1,e2,…]` from entries that are JSON texts already.
fn json_array(entries: &[Bytes]) -> Bytes {
    let len = entries.iter().map(|e| e.len() + 1).sum::<usize>() + 1;
    let mut out = BytesMut::with_capacity(len);
    out.put_u8(b'[');
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_slice(entry);
    }
    out.put_u8(b']');
    out.freeze()
}
