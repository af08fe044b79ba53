//! Kong's `request-termination` plugin
//! (`kong/plugins/request-termination/handler.lua`): every request (or,
//! with `trigger`, every request carrying that header or query argument)
//! is answered with `status_code` and `body` (as it is, with
//! `content_type`), or `{"message": …}` (`message`, else Kong's default
//! message for the status, else no body), or with `echo` a JSON copy of the
//! request.

use super::{Access, Exchange, LocalBody, LocalResponse, Phases, PluginError, Runtime};
use crate::model::PluginInstance;
use crate::model::plugin::RequestTerminationConfig;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::json;
use std::sync::Arc;

mod echo;

pub use echo::query_args;

/// Kong's `DEFAULT_RESPONSE`.
fn default_message(status: StatusCode) -> Option<&'static str> {
    Some(match status.as_u16() {
        401 => "Unauthorized",
        404 => "Not found",
        405 => "Method not allowed",
        500 => "An unexpected error occurred",
        502 => "Bad Gateway",
        503 => "Service unavailable",
        _ => return None,
    })
}

impl Phases for RequestTerminationConfig {
    async fn access(
        config: &Arc<Self>,
        _instance: &PluginInstance,
        exchange: &mut Exchange<'_>,
        _runtime: &Runtime,
    ) -> Result<Access, PluginError> {
        if let Some(trigger) = &config.trigger {
            let in_headers = exchange.headers().contains_key(trigger.as_str());
            let in_query = || {
                query_args(exchange.request.uri().query().unwrap_or_default())
                    .any(|(name, _)| name == *trigger)
            };
            if !in_headers && !in_query() {
                return Ok(Access::Continue);
            }
        }
        // Checked when the configuration was read.
        let status = u16::try_from(config.status_code)
            .ok()
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let message = config.message.as_deref().or(default_message(status));
        let mut headers = HeaderMap::new();
        let body = if config.echo {
            LocalBody::Json(echo::echo(exchange, message).await)
        } else if let Some(body) = &config.body {
            if let Some(value) = config
                .content_type
                .as_deref()
                .and_then(|c| HeaderValue::from_str(c).ok())
            {
                headers.insert(CONTENT_TYPE, value);
            }
            LocalBody::Raw(bytes::Bytes::from(body.clone()))
        } else {
            LocalBody::Json(message.map_or(serde_json::Value::Null, |m| json!({ "message": m })))
        };
        Ok(Access::Respond(LocalResponse {
            status,
            headers,
            body,
        }))
    }
}
