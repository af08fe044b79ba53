//! The HTTP client towards identity providers: two lazily built reqwest
//! clients (certificate-verifying and, for `ssl_verify: false`, not), a
//! per-request timeout from the plugin config, no redirects, and bounded
//! response bodies.

use crate::model::Sensitive;
use crate::model::plugin::OidcConfig;
use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use serde_json::Value;
use std::sync::OnceLock;
use std::time::Duration;

/// Identity-provider responses larger than this are refused.
const MAX_BODY: usize = 1024 * 1024;

/// Why a call to the identity provider failed. Logged, never shown.
#[derive(Debug, thiserror::Error)]
pub(super) enum FetchError {
    /// The HTTP client could not be built (TLS setup).
    #[error("http client: {0}")]
    Client(String),
    /// Connect, TLS, timeout or read failure.
    #[error("request failed: {0}")]
    Transport(#[from] reqwest::Error),
    /// A non-2xx status.
    #[error("status {0}")]
    Status(u16),
    /// Body over [`MAX_BODY`].
    #[error("response too large")]
    TooLarge,
    /// Not a JSON object.
    #[error("invalid JSON response: {0}")]
    Json(String),
}

/// A JSON object fetched from the identity provider, with its freshness.
pub(super) struct Fetched {
    /// The parsed body (always an object).
    pub(super) body: Value,
    /// `Cache-Control: max-age`, if the response had one.
    pub(super) max_age: Option<Duration>,
}

/// The two reqwest clients, built on first use.
#[derive(Default)]
pub(super) struct Clients {
    verifying: OnceLock<Result<reqwest::Client, String>>,
    insecure: OnceLock<Result<reqwest::Client, String>>,
}

// === impl Clients ===

impl Clients {
    fn client(&self, ssl_verify: bool) -> Result<&reqwest::Client, FetchError> {
        let cell = if ssl_verify {
            &self.verifying
        } else {
            &self.insecure
        };
        cell.get_or_init(|| {
            reqwest::Client::builder()
                .use_rustls_tls()
                .danger_accept_invalid_certs(!ssl_verify)
                .redirect(reqwest::redirect::Policy::none())
                .pool_idle_timeout(Duration::from_secs(60))
                .user_agent(concat!("kingress/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| FetchError::Client(e.clone()))
    }

    /// GETs a JSON document (discovery, JWKS) with extra headers.
    pub(super) async fn get_json(
        &self,
        config: &OidcConfig,
        url: &str,
        headers: &[(http::HeaderName, http::HeaderValue)],
    ) -> Result<Fetched, FetchError> {
        let mut request = self
            .client(config.ssl_verify)?
            .get(url)
            .header(ACCEPT, "application/json")
            .timeout(Duration::from_millis(config.timeout_ms));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send().await?;
        read_json(response).await
    }

    /// GETs a JSON object with `Authorization: Bearer <token>` (userinfo).
    pub(super) async fn get_json_bearer(
        &self,
        config: &OidcConfig,
        url: &str,
        token: &str,
    ) -> Result<Fetched, FetchError> {
        let response = self
            .client(config.ssl_verify)?
            .get(url)
            .header(ACCEPT, "application/json")
            .bearer_auth(token)
            .timeout(Duration::from_millis(config.timeout_ms))
            .send()
            .await?;
        read_json(response).await
    }

    /// POSTs a form (introspection, token requests) with extra request
    /// headers, optionally with HTTP Basic.
    pub(super) async fn post_form<K: AsRef<str>>(
        &self,
        config: &OidcConfig,
        url: &str,
        form: Vec<(K, String)>,
        headers: &[(http::HeaderName, http::HeaderValue)],
        basic: Option<(String, Sensitive)>,
    ) -> Result<Fetched, FetchError> {
        let request = self.form_request(config, url, form, headers, basic)?;
        read_json(request.send().await?).await
    }

    /// POSTs a form whose answer carries nothing but its status (RFC 7009
    /// revocation: 200 with any or no body).
    pub(super) async fn post_form_status<K: AsRef<str>>(
        &self,
        config: &OidcConfig,
        url: &str,
        form: Vec<(K, String)>,
        basic: Option<(String, Sensitive)>,
    ) -> Result<(), FetchError> {
        let response = self
            .form_request(config, url, form, &[], basic)?
            .send()
            .await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(FetchError::Status(response.status().as_u16()))
        }
    }

    fn form_request<K: AsRef<str>>(
        &self,
        config: &OidcConfig,
        url: &str,
        form: Vec<(K, String)>,
        headers: &[(http::HeaderName, http::HeaderValue)],
        basic: Option<(String, Sensitive)>,
    ) -> Result<reqwest::RequestBuilder, FetchError> {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter().map(|(k, v)| (k.as_ref(), v.as_str())))
            .finish();
        let mut request = self
            .client(config.ssl_verify)?
            .post(url)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .timeout(Duration::from_millis(config.timeout_ms))
            .body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        if let Some((id, secret)) = basic {
            request = request.header(reqwest::header::AUTHORIZATION, basic_header(&id, &secret));
        }
        Ok(request)
    }
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clients").finish_non_exhaustive()
    }
}

/// RFC 6749 §2.3.1: id and secret are form-encoded before base64.
fn basic_header(id: &str, secret: &Sensitive) -> String {
    use base64::Engine;
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", enc(id), enc(secret.expose()));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

async fn read_json(mut response: reqwest::Response) -> Result<Fetched, FetchError> {
    if !response.status().is_success() {
        return Err(FetchError::Status(response.status().as_u16()));
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY as u64)
    {
        return Err(FetchError::TooLarge);
    }
    let max_age = response
        .headers()
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(max_age);
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if bytes.len() + chunk.len() > MAX_BODY {
            return Err(FetchError::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    let body: Value =
        serde_json::from_slice(&bytes).map_err(|e| FetchError::Json(e.to_string()))?;
    if !body.is_object() {
        return Err(FetchError::Json("not an object".into()));
    }
    Ok(Fetched { body, max_age })
}

/// `max-age=N` from a Cache-Control value; `no-store`/`no-cache` count
/// as zero.
fn max_age(value: &str) -> Option<Duration> {
    value.split(',').map(str::trim).find_map(|d| {
        if d.eq_ignore_ascii_case("no-store") || d.eq_ignore_ascii_case("no-cache") {
            return Some(Duration::ZERO);
        }
        let (k, v) = d.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("max-age") {
            v.trim()
                .trim_matches('"')
                .parse()
                .ok()
                .map(Duration::from_secs)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_max_age() {
        assert_eq!(
            max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=abc"), None);
    }

    #[test]
    fn basic_credentials_are_form_encoded() {
        let h = basic_header("my client", &Sensitive::new("a:b+c"));
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(h.strip_prefix("Basic ").unwrap())
            .unwrap();
        assert_eq!(String::from_utf8(raw).unwrap(), "my+client:a%3Ab%2Bc");
    }
}
