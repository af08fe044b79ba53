//! What the proxy knows about gRPC requests: which requests are gRPC
//! calls (Kong's test), what a gRPC route accepts, and the client's
//! deadline (`grpc-timeout`).

use super::respond::{ProxyError, grpc_trailers};
use crate::model::Route;
use crate::plugins::{BoxBody, BoxError};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, Version};
use http_body::{Body, Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// gRPC `UNAVAILABLE`: the upstream went away mid-call.
const UNAVAILABLE: u8 = 14;
/// gRPC `DEADLINE_EXCEEDED`.
const DEADLINE_EXCEEDED: u8 = 4;

/// Kong's test for a gRPC request (`kong.response`'s `is_grpc_request`):
/// a `Content-Type` starting with `application/grpc` (gRPC-Web's
/// `application/grpc-web…` included) over HTTP/2.
pub(super) fn is_call(headers: &HeaderMap, version: Version) -> bool {
    version == Version::HTTP_2 && has_grpc_type(headers)
}

fn has_grpc_type(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

/// Kong's checks of a request matched by a route whose protocols are
/// `grpc`/`grpcs` (runloop `access` phase): a non-gRPC request is refused
/// (415), a gRPC one over HTTP/1 is asked to upgrade (426), and a
/// plain-text call to a `grpcs`-only route fails with gRPC status 1.
pub(super) fn check_route(
    route: &Route,
    headers: &HeaderMap,
    version: Version,
    https: bool,
) -> Result<(), ProxyError> {
    let has = |p: &str| route.protocols.iter().any(|q| q.eq_ignore_ascii_case(p));
    let (grpc, grpcs) = (has("grpc"), has("grpcs"));
    if !grpc && !grpcs {
        return Ok(());
    }
    if !has_grpc_type(headers) {
        return Err(ProxyError::NotGrpc);
    }
    if version != Version::HTTP_2 {
        return Err(ProxyError::Http2Required);
    }
    if !grpc && !https {
        return Err(ProxyError::GrpcsRequired);
    }
    Ok(())
}

/// Whether a response is a gRPC one (its body ends with gRPC trailers).
pub(super) fn is_response(headers: &HeaderMap) -> bool {
    has_grpc_type(headers)
}

/// An upstream gRPC response body that always ends as a gRPC call must:
/// with trailers. When the upstream connection breaks mid-stream the
/// client gets `UNAVAILABLE` (a retryable status) instead of a reset
/// stream, and when the client's deadline (`grpc-timeout`, counted from
/// when the request was sent) passes, `DEADLINE_EXCEEDED`.
pub(super) struct Guarded {
    inner: BoxBody,
    deadline: Option<Pin<Box<Sleep>>>,
    ended: bool,
}

impl Guarded {
    /// Guards `inner`; `deadline` is when the call must have ended.
    pub(super) fn new(inner: BoxBody, deadline: Option<Instant>) -> Self {
        Self {
            inner,
            deadline: deadline.map(|at| Box::pin(tokio::time::sleep_until(at))),
            ended: false,
        }
    }

    fn end(&mut self, code: u8, message: &str) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.ended = true;
        self.deadline = None;
        Poll::Ready(Some(Ok(Frame::trailers(grpc_trailers(code, message)))))
    }
}

impl Body for Guarded {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        if let Some(deadline) = &mut this.deadline
            && deadline.as_mut().poll(cx).is_ready()
        {
            return this.end(DEADLINE_EXCEEDED, "Deadline Exceeded");
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Err(error))) => {
                tracing::debug!(%error, "upstream gRPC stream broke");
                this.end(UNAVAILABLE, "upstream connection lost")
            }
            Poll::Ready(Some(Ok(frame))) => {
                if frame.is_trailers() {
                    this.ended = true;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(None) => {
                this.ended = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// A Trailers-Only answer (its status in the headers, no body) must
    /// stay one HEADERS frame with END_STREAM: gRPC C-core clients read a
    /// separate empty end of stream as a stream without trailers.
    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// The client's deadline from `grpc-timeout` (gRPC over HTTP/2: at most 8
/// digits and a unit, `H` `M` `S` `m` `u` `n`); `None` when absent or
/// malformed (a malformed one is the upstream's to refuse).
pub(super) fn deadline(headers: &HeaderMap) -> Option<Duration> {
    /// Parsed once, not per lookup.
    static GRPC_TIMEOUT: http::HeaderName = http::HeaderName::from_static("grpc-timeout");
    let value = headers.get(&GRPC_TIMEOUT)?.to_str().ok()?;
    let split = value.len().checked_sub(1)?;
    let (digits, unit) = value.split_at(split);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn grpc_timeout_units() {
        let d = |v| deadline(&headers(&[("grpc-timeout", v)]));
        assert_eq!(d("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(d("3M"), Some(Duration::from_secs(180)));
        assert_eq!(d("5S"), Some(Duration::from_secs(5)));
        assert_eq!(d("250m"), Some(Duration::from_millis(250)));
        assert_eq!(d("99999999u"), Some(Duration::from_micros(99_999_999)));
        assert_eq!(d("7n"), Some(Duration::from_nanos(7)));
        for bad in ["", "S", "123456789S", "1x", "-1S", "1.5S"] {
            assert_eq!(d(bad), None, "{bad}");
        }
        assert_eq!(deadline(&HeaderMap::new()), None);
    }

    /// spec/02-integration/05-proxy/19-grpc_proxy_spec.lua: the runloop's
    /// checks on grpc/grpcs routes.
    #[test]
    fn grpc_routes_take_only_grpc_calls_over_http2() {
        let mut route = crate::router::fixtures::route("r");
        route.protocols = vec!["grpc".into(), "grpcs".into()];
        let grpc = headers(&[("content-type", "application/grpc+proto")]);
        let json = headers(&[("content-type", "application/json")]);
        assert!(check_route(&route, &grpc, Version::HTTP_2, false).is_ok());
        assert!(matches!(
            check_route(&route, &json, Version::HTTP_2, false),
            Err(ProxyError::NotGrpc)
        ));
        assert!(matches!(
            check_route(&route, &grpc, Version::HTTP_11, false),
            Err(ProxyError::Http2Required)
        ));
        route.protocols = vec!["grpcs".into()];
        assert!(matches!(
            check_route(&route, &grpc, Version::HTTP_2, false),
            Err(ProxyError::GrpcsRequired)
        ));
        assert!(check_route(&route, &grpc, Version::HTTP_2, true).is_ok());
        route.protocols = vec!["http".into()];
        assert!(check_route(&route, &json, Version::HTTP_11, false).is_ok());
        assert!(is_call(&grpc, Version::HTTP_2) && !is_call(&grpc, Version::HTTP_11));
        assert!(!is_call(&json, Version::HTTP_2));
    }
}
