//! Kong's `grpc-web` plugin (`kong/plugins/grpc-web/handler.lua`): browsers
//! speak gRPC-Web over HTTP/1.1 or HTTP/2, the upstream speaks gRPC.
//!
//! - `OPTIONS` is answered with Kong's CORS preflight;
//! - a call (`application/grpc-web[+proto]`, or the `-text` forms whose
//!   body is base64) goes upstream as `application/grpc`, the text form
//!   decoded as it streams;
//! - the response streams back under the client's content type, the text
//!   form base64-encoded frame by frame, and the upstream's trailers become
//!   gRPC-Web's trailer frame (flag `0x80`) in Kong's spelling
//!   (`grpc-status:0\r\ngrpc-message:\r\n`);
//! - every answer carries `Access-Control-Allow-Origin`.
//!
//! JSON transcoding (`proto`) is refused by the configuration.

mod frames;

use super::{Access, BoxBody, Exchange, LocalBody, LocalResponse, Phases, PluginError, Runtime};
use crate::model::PluginInstance;
use crate::model::plugin::GrpcWebConfig;
use bytes::Bytes;
use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    CONTENT_LENGTH, CONTENT_TYPE,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use std::sync::Arc;

/// What access decided about this request, for the response phases.
#[derive(Clone, Debug)]
struct Call {
    /// The client's content type, which the response takes.
    mimetype: HeaderValue,
    /// The `-text` forms: base64 both ways.
    text: bool,
    /// Kong converts the body of `POST` calls only (the request itself is
    /// gone from the exchange by the body phase).
    post: bool,
}

/// Kong's `deco` table: the content types it serves without a `.proto`
/// file, and whether they are the base64 form.
fn framing(mimetype: &str) -> Option<bool> {
    match mimetype {
        "application/grpc-web" | "application/grpc-web+proto" => Some(false),
        "application/grpc-web-text" | "application/grpc-web-text+proto" => Some(true),
        _ => None,
    }
}

impl Phases for GrpcWebConfig {
    const SHAPES_ANSWER: bool = true;

    async fn access(
        config: &Arc<Self>,
        _instance: &PluginInstance,
        exchange: &mut Exchange<'_>,
        _runtime: &Runtime,
    ) -> Result<Access, PluginError> {
        let origin = HeaderValue::from_str(&config.allow_origin_header)
            .map_err(|e| PluginError::Internal(format!("allow_origin_header: {e}")))?;
        exchange
            .response_headers
            .insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        if exchange.request.method() == Method::OPTIONS {
            return Ok(Access::Respond(preflight(origin)));
        }
        let mimetype = exchange.request.headers().get(CONTENT_TYPE).cloned();
        let text = match mimetype.as_ref().and_then(|m| framing(m.to_str().ok()?)) {
            Some(text) => text,
            // Kong: any other type (its JSON ones included) needs a .proto.
            None => {
                return Ok(Access::Respond(LocalResponse {
                    status: StatusCode::BAD_REQUEST,
                    headers: HeaderMap::new(),
                    body: LocalBody::Raw(Bytes::from_static(
                        b"transcoding requests require a .proto file defining the service",
                    )),
                }));
            }
        };
        exchange.pass_stripped_path = config.pass_stripped_path == Some(true);
        let headers = exchange.request.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        if text {
            headers.remove(CONTENT_LENGTH);
            let body = std::mem::replace(exchange.request.body_mut(), super::empty_body());
            *exchange.request.body_mut() = frames::decode_base64(body);
        }
        if let Some(mimetype) = mimetype {
            let post = exchange.request.method() == Method::POST;
            exchange.context.insert(Call {
                mimetype,
                text,
                post,
            });
        }
        Ok(Access::Continue)
    }

    fn response(_config: &Arc<Self>, exchange: &Exchange<'_>, headers: &mut HeaderMap) {
        if let Some(call) = exchange.context.get::<Call>() {
            headers.insert(CONTENT_TYPE, call.mimetype.clone());
        }
    }

    fn body(
        _config: &Arc<Self>,
        exchange: &Exchange<'_>,
        _runtime: &Runtime,
        parts: &mut http::response::Parts,
        body: BoxBody,
    ) -> BoxBody {
        let Some(call) = exchange.context.get::<Call>().filter(|c| c.post) else {
            return body;
        };
        parts.headers.remove(CONTENT_LENGTH);
        // A Trailers-Only answer (an error before any message) has its
        // status in the headers; they become the trailer frame.
        let status = frames::Status::from_headers(&parts.headers);
        frames::encode(body, call.text, status)
    }
}

/// Kong's `CORS_HEADERS` answer to `OPTIONS`.
fn preflight(origin: HeaderValue) -> LocalResponse {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/grpc-web-text+proto"),
    );
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type,x-grpc-web,x-user-agent"),
    );
    LocalResponse {
        status: StatusCode::OK,
        headers,
        body: LocalBody::Raw(Bytes::from_static(b"OK")),
    }
}
