//! What the introspection request copies from the client's request
//! (`introspection_headers_client`, `introspection_post_args_client`,
//! `introspection_post_args_client_headers`), read before verification so
//! that nothing of the exchange is held across the provider call.

use crate::model::plugin::OidcConfig;
use crate::plugins::{Exchange, PluginError};
use http::header::CONTENT_TYPE;
use http::{HeaderName, HeaderValue};

/// Largest body read for `introspection_post_args_client`.
const BODY_LIMIT: usize = 1024 * 1024;

/// Headers and form arguments to add to the introspection request.
#[derive(Debug, Default)]
pub(super) struct ClientCopies {
    /// Extra request headers.
    pub(super) headers: Vec<(HeaderName, HeaderValue)>,
    /// Extra form arguments.
    pub(super) args: Vec<(String, String)>,
}

/// Reads the configured copies; nothing (and no body) unless configured.
/// An argument is taken from the query string, else from a form body.
pub(super) async fn collect(
    config: &OidcConfig,
    exchange: &mut Exchange<'_>,
) -> Result<ClientCopies, PluginError> {
    let request = &config.introspection;
    let mut out = ClientCopies::default();
    if !request.copies_from_client() {
        return Ok(out);
    }
    for name in &request.client_headers {
        for value in exchange.headers().get_all(name) {
            out.headers.push((name.clone(), value.clone()));
        }
    }
    for name in &request.client_header_args {
        if let Some(value) = exchange.headers().get(name).and_then(|v| v.to_str().ok()) {
            out.args
                .push((name.as_str().to_string(), value.to_string()));
        }
    }
    if request.client_args.is_empty() {
        return Ok(out);
    }
    let query: Vec<(String, String)> = exchange
        .request
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let is_form = exchange
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let body: Vec<(String, String)> = if is_form {
        let bytes = exchange.body(BODY_LIMIT).await?;
        form_urlencoded::parse(&bytes).into_owned().collect()
    } else {
        Vec::new()
    };
    for name in &request.client_args {
        let from = |args: &[(String, String)]| {
            args.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        };
        if let Some(value) = from(&query).or_else(|| from(&body)) {
            out.args.push((name.clone(), value));
        }
    }
    Ok(out)
}
