//! Kong's `transform_headers`: remove, rename, replace, add, append on the
//! client's headers, each value rendered against the headers as they were
//! sent. `Host` is never added; replacing it sets the upstream `Host`.
//!
//! Identity headers (`X-Consumer-*`, `X-Credential-*`, …) belong to the
//! authentication plugins: the proxy strips every client copy, and this
//! plugin never sets one either (a template could copy client data into
//! it). Removing one hides the authenticated value from the upstream, as
//! Kong's `clear_header` does.

use super::env::Snapshot;
use crate::model::plugin::RequestTransformerConfig;
use crate::plugins::consumer::is_identity;
use crate::plugins::{Exchange, PluginError};
use http::{HeaderName, HeaderValue, header::HOST};

/// Applies the header entries of `config`.
pub(super) fn apply(
    config: &RequestTransformerConfig,
    exchange: &mut Exchange<'_>,
    env: &Snapshot,
) -> Result<(), PluginError> {
    let ops = &config.ops;
    for op in &ops.remove.headers {
        let Some(name) = header_name(&op.name) else {
            continue;
        };
        if is_identity(name.as_str()) {
            exchange.clear_upstream_header(name);
        } else {
            exchange.request.headers_mut().remove(name);
        }
    }
    for op in &ops.rename.headers {
        let Some(new) = env.value(op)? else { continue };
        let new = new.to_ascii_lowercase();
        if op.name == new || is_identity(&op.name) || is_identity(&new) {
            continue;
        }
        let (Some(old), Some(new)) = (header_name(&op.name), header_name(&new)) else {
            return Err(invalid(&new));
        };
        let headers = exchange.request.headers_mut();
        let values: Vec<HeaderValue> = headers.get_all(&old).iter().cloned().collect();
        if values.is_empty() {
            continue;
        }
        headers.remove(&old);
        headers.remove(&new);
        for v in values {
            headers.append(new.clone(), v);
        }
    }
    for op in &ops.replace.headers {
        let Some(value) = env.value(op)? else {
            continue;
        };
        let Some(name) = settable(&op.name) else {
            continue;
        };
        let value = header_value(&value)?;
        if name == HOST {
            exchange.upstream_host = Some(value);
        } else if exchange.headers().contains_key(&name) {
            exchange.request.headers_mut().insert(name, value);
        }
    }
    for op in &ops.add.headers {
        let Some(value) = env.value(op)? else {
            continue;
        };
        let Some(name) = settable(&op.name).filter(|n| *n != HOST) else {
            continue;
        };
        if !exchange.headers().contains_key(&name) {
            let value = header_value(&value)?;
            exchange.request.headers_mut().insert(name, value);
        }
    }
    for op in &ops.append.headers {
        let Some(value) = env.value(op)? else {
            continue;
        };
        let Some(name) = settable(&op.name) else {
            continue;
        };
        let value = header_value(&value)?;
        if name == HOST {
            // Kong cleared `host` from its table first: appending sets it.
            exchange.upstream_host = Some(value);
        } else {
            exchange.request.headers_mut().append(name, value);
        }
    }
    Ok(())
}

fn header_name(name: &str) -> Option<HeaderName> {
    HeaderName::from_bytes(name.as_bytes()).ok()
}

/// A header this plugin may set: not an identity header.
fn settable(name: &str) -> Option<HeaderName> {
    if is_identity(name) {
        tracing::debug!(
            header = name,
            "request-transformer does not set identity headers"
        );
        return None;
    }
    header_name(name)
}

/// A rendered value as a header value; one with CR/LF (from a decoded
/// query argument, say) fails the request as Kong's `set_header` does.
fn header_value(value: &str) -> Result<HeaderValue, PluginError> {
    HeaderValue::from_str(value).map_err(|_| invalid(value))
}

fn invalid(what: &str) -> PluginError {
    // The value came from the client: log its length, not its text.
    PluginError::Internal(format!(
        "request-transformer: rendered header of {} bytes is not valid",
        what.len()
    ))
}
