//! The plugins' response phases around an answer: the header phase (with
//! the response headers plugins asked for) and the body phase, for upstream
//! responses and the proxy's own answers alike.

use crate::model::PluginInstance;
use crate::plugins::{self, BoxBody, Exchange, Runtime};
use crate::proxy::respond::{ProxyError, grpc_shape};
use http::{HeaderMap, Response};

/// The proxy's own answer; gRPC-shaped for a gRPC call.
pub(super) fn answer(error: ProxyError, grpc: bool) -> Response<BoxBody> {
    let response = error.into_response();
    if grpc { grpc_shape(response) } else { response }
}

/// A local answer (a plugin's own, a refusal, no service) after the header
/// and body phases of the plugins that ran.
pub(super) fn local(
    ran: &[&PluginInstance],
    exchange: &mut Exchange<'_>,
    runtime: &Runtime,
    error: ProxyError,
    grpc: bool,
) -> Response<BoxBody> {
    let mut response = answer(error, grpc);
    response_phase(ran, exchange, response.headers_mut());
    let (mut parts, body) = response.into_parts();
    let body = body_phase(ran, exchange, runtime, &mut parts, body);
    Response::from_parts(parts, body)
}

/// The plugins' body phase, in the order their access phase ran.
pub(super) fn body_phase(
    ran: &[&PluginInstance],
    exchange: &Exchange<'_>,
    runtime: &Runtime,
    parts: &mut http::response::Parts,
    mut body: BoxBody,
) -> BoxBody {
    for plugin in ran {
        body = plugins::body(plugin, exchange, runtime, parts, body);
    }
    body
}

/// The response headers every plugin that ran asked for, then the plugins'
/// response phase, in the order their access phase ran.
pub(super) fn response_phase(
    ran: &[&PluginInstance],
    exchange: &mut Exchange<'_>,
    headers: &mut HeaderMap,
) {
    // A plugin's header replaces the response's, all its values kept.
    // Cookies add to the response's own: a session cookie must not erase
    // the upstream's.
    std::mem::take(&mut exchange.response_headers)
        .apply(headers, |name| name == http::header::SET_COOKIE);
    for plugin in ran {
        plugins::response(plugin, exchange, headers);
    }
}
