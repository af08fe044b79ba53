//! Why an upstream exchange failed, as the proxy answers it: a plugin's
//! refusal of the streamed body, the client's broken body (400), the
//! upstream's fault (502), a timeout (504); and whether an HTTP/2 stream
//! may be sent again.

use super::Endpoint;
use crate::plugins::{BodyRefused, PluginError};
use crate::proxy::body::ClientBodyError;
use crate::proxy::respond::ProxyError;

/// The error of a failed exchange: a plugin's refusal of the streamed body,
/// the client's broken body (400), or the upstream's fault (502).
pub(super) fn exchange_error(error: &hyper::Error) -> ProxyError {
    if let Some(refused) = refused_body(error) {
        ProxyError::Plugin(PluginError::Plain {
            status: refused.status,
            message: refused.message.into(),
        })
    } else if client_fault(error) {
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
pub(super) fn unprocessed(error: &hyper::Error) -> bool {
    use std::error::Error as _;
    let mut current = error.source();
    while let Some(e) = current {
        if let Some(h2) = e.downcast_ref::<h2::Error>() {
            return h2.reason() == Some(h2::Reason::REFUSED_STREAM)
                || (h2.is_go_away() && h2.is_remote());
        }
        current = e.source();
    }
    false
}

/// A plugin's refusal of the request body while it streamed, if that is
/// why the exchange failed.
fn refused_body(error: &hyper::Error) -> Option<BodyRefused> {
    use std::error::Error as _;
    let mut current = error.source();
    while let Some(e) = current {
        if let Some(refused) = e.downcast_ref::<BodyRefused>() {
            return Some(*refused);
        }
        current = e.source();
    }
    None
}

/// Whether the exchange failed because the client's request body did
/// (then it is the client's error, 400, not the upstream's).
fn client_fault(error: &hyper::Error) -> bool {
    use std::error::Error as _;
    let mut current = error.source();
    while let Some(e) = current {
        if e.is::<ClientBodyError>() {
            return true;
        }
        current = e.source();
    }
    false
}

/// The error and its causes on one line (hyper's top-level message alone is
/// rarely useful).
fn describe(error: &hyper::Error) -> String {
    use std::error::Error as _;
    let mut text = error.to_string();
    let mut current = error.source();
    while let Some(e) = current {
        text.push_str(": ");
        text.push_str(&e.to_string());
        current = e.source();
    }
    text
}
