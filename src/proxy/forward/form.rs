//! The form of an upstream request per protocol: HTTP/1.1 takes the origin
//! form and `Host`, HTTP/2 the absolute form whose authority becomes
//! `:authority`; and the request's head kept to send it again.

use super::super::respond::ProxyError;
use crate::model::Scheme;
use crate::proxy::body::Reclaimable;
use http::header::HOST;
use http::uri::Authority;
use http::{HeaderMap, HeaderValue, Method, Request, Uri, Version};

/// The absolute URI of an HTTP/2 request: scheme, the `Host` value as
/// authority (the target's host:port when none is fixed), the path.
pub(super) fn absolute(
    scheme: Scheme,
    host: Option<&HeaderValue>,
    uri: &Uri,
) -> Result<Uri, ProxyError> {
    let authority = host
        .and_then(|h| Authority::try_from(h.as_bytes()).ok())
        .ok_or_else(|| ProxyError::BadGateway("no valid upstream authority".into()))?;
    let mut parts = uri.clone().into_parts();
    parts.scheme = Some(if scheme.is_tls() {
        http::uri::Scheme::HTTPS
    } else {
        http::uri::Scheme::HTTP
    });
    parts.authority = Some(authority);
    Uri::from_parts(parts).map_err(|e| ProxyError::BadGateway(format!("invalid upstream uri: {e}")))
}

/// An HTTP/1.1-shaped request (origin form, `Host`) in HTTP/2 form for an
/// HTTPS upstream that chose HTTP/2: the `Host` becomes `:authority`.
pub(super) fn into_h2(
    scheme: Scheme,
    mut request: Request<Reclaimable>,
) -> Result<Request<Reclaimable>, ProxyError> {
    let host = request.headers_mut().remove(HOST);
    let uri = absolute(scheme, host.as_ref(), request.uri())?;
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_2;
    Ok(request)
}

/// The host of a `Host` value, without port or IPv6 brackets: the name TLS
/// sends and verifies.
pub(super) fn bare_host(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// A request's head, kept to send the request again.
pub(super) struct Head {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
}

impl Head {
    pub(super) fn with_body(self, body: Reclaimable) -> Request<Reclaimable> {
        let mut request = Request::new(body);
        *request.method_mut() = self.method;
        *request.uri_mut() = self.uri;
        *request.version_mut() = Version::HTTP_2;
        *request.headers_mut() = self.headers;
        request
    }
}

pub(super) fn copy_head(request: &Request<Reclaimable>) -> Head {
    Head {
        method: request.method().clone(),
        uri: request.uri().clone(),
        headers: request.headers().clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_host_drops_port_and_brackets() {
        assert_eq!(bare_host("kong.example"), "kong.example");
        assert_eq!(bare_host("kong.example:8443"), "kong.example");
        assert_eq!(bare_host("10.0.0.1:443"), "10.0.0.1");
        assert_eq!(bare_host("[::1]:443"), "::1");
        assert_eq!(bare_host("[::1]"), "::1");
    }
}
