//! One request on a shared HTTP/2 connection, sent by the request's own
//! task: the head, the body as the client sends it (see `pump`), then the
//! response head. Only a body still streaming when the response arrives
//! gets a task of its own; a unary gRPC call needs none.

use super::Sender;
use super::body::Body;
use super::pump::{Pump, Stopped};
use crate::plugins::BoxError;
use crate::proxy::body::Reclaimable;
use crate::proxy::headers::{is_hop_by_hop, remove_hop_by_hop};
use http::header::{CONTENT_LENGTH, TE};
use http::{HeaderMap, HeaderValue, Method, Request, Response};
use http_body::Body as _;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;

/// How an exchange failed.
pub(in crate::proxy::forward) enum Failure {
    /// The connection could take no new stream (closed, or the upstream
    /// sent `GOAWAY`); the body comes back untouched.
    Unsent(h2::Error, Reclaimable),
    /// The stream failed, or the client's body did.
    Failed(BoxError),
}

/// Sends `request` on `sender`'s connection; the response head, or why
/// there is none.
pub(super) async fn exchange(
    sender: &Sender,
    request: Request<Reclaimable>,
) -> Result<Response<Body>, Failure> {
    let (mut parts, body) = request.into_parts();
    h2_head(&mut parts.headers, &parts.method, &body);
    let end = body.is_end_stream();
    let mut send = sender.send.clone();
    if let Err(e) = poll_fn(|cx| send.poll_ready(cx)).await {
        return Err(Failure::Unsent(e, body));
    }
    let (mut response, stream) = match send.send_request(Request::from_parts(parts, ()), end) {
        Ok(sent) => sent,
        Err(e) => return Err(Failure::Unsent(e, body)),
    };
    let mut pump = (!end).then(|| Pump::new(body, stream));
    let response = poll_fn(|cx| {
        if let Some(p) = &mut pump {
            match p.poll_send(cx) {
                Poll::Ready(Ok(())) => pump = None,
                Poll::Ready(Err(Stopped::Body(e))) => return Poll::Ready(Err(Failure::Failed(e))),
                // The upstream reset the stream: its response says why.
                Poll::Ready(Err(Stopped::Stream(_))) => pump = None,
                Poll::Pending => {}
            }
        }
        Pin::new(&mut response)
            .poll(cx)
            .map_err(|e| Failure::Failed(Box::new(e)))
    })
    .await?;
    if let Some(pump) = pump {
        pump.spawn();
    }
    let (parts, stream) = response.into_parts();
    let length = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok());
    Ok(Response::from_parts(parts, Body::new(stream, length)))
}

/// The head as HTTP/2 takes it: no connection-specific fields (the h2
/// crate refuses them; a plugin may have set one after the hop-by-hop
/// rules ran), `TE` only as `trailers`, and the body's length when it is
/// known and not declared.
fn h2_head(headers: &mut HeaderMap, method: &Method, body: &Reclaimable) {
    // One pass over the names; removal (which hashes) only when needed.
    if headers
        .iter()
        .any(|(name, value)| is_hop_by_hop(name) && !(name == TE && value == "trailers"))
    {
        let trailers = headers.get_all(TE).iter().any(|te| te == "trailers");
        remove_hop_by_hop(headers, false);
        if trailers {
            headers.insert(TE, HeaderValue::from_static("trailers"));
        }
    }
    // hyper's rule: a length for any body but an empty one of a method
    // whose requests carry none.
    if let Some(len) = body.size_hint().exact()
        && (len != 0
            || !matches!(
                *method,
                Method::GET | Method::HEAD | Method::DELETE | Method::CONNECT
            ))
        && !headers.contains_key(CONTENT_LENGTH)
    {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    }
}
