//! Why an upstream exchange failed, as the proxy answers it: a plugin's
//! refusal of the streamed body, the client's broken body (400), the
//! upstream's fault (502), a timeout (504); and whether an HTTP/2 stream
//! may be sent again.

use super::Endpoint;
use crate::plugins::{BodyRefused, PluginError};
use crate::proxy::body::ClientBodyError;
use crate::proxy::respond::ProxyError;
use std::error::Error;

/// The error of a failed exchange: a plugin's refusal of the streamed body,
/// the client's broken body (400), or the upstream's fault (502).
pub(super) fn exchange_error(error: &(dyn Error + 'static)) -> ProxyError {
    if let Some(refused) = chain(error).find_map(|e| e.downcast_ref::<BodyRefused>()) {
        ProxyError::Plugin(PluginError::Plain {
            status: refused.status,
            message: refused.message.into(),
        })
    } else if chain(error).any(|e| e.is::<ClientBodyError>()) {
        ProxyError::BadRequest(describe(error))
    } else {
        ProxyError::BadGateway(describe(error))
    }
}

pub(super) fn headers_timeout(to: &Endpoint<'_>) -> ProxyError {
    ProxyError::GatewayTimeout(format!(
        "no response headers within {} ms",
        to.read_timeout.as_millis()
    ))
}

/// Whether HTTP/2 says the upstream never processed the stream: refused
/// (`REFUSED_STREAM`) or beyond the last stream of a `GOAWAY`.
pub(super) fn unprocessed(error: &(dyn Error + 'static)) -> bool {
    chain(error)
        .find_map(|e| e.downcast_ref::<h2::Error>())
        .is_some_and(|h2| {
            h2.reason() == Some(h2::Reason::REFUSED_STREAM) || (h2.is_go_away() && h2.is_remote())
        })
}

/// The error and its causes, outermost first.
fn chain<'a>(error: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(error), |&e| e.source())
}

/// The error and its causes on one line (hyper's top-level message alone is
/// rarely useful).
fn describe(error: &(dyn Error + 'static)) -> String {
    let mut text = String::new();
    for e in chain(error) {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&e.to_string());
    }
    text
}
