//! Which host a request names, and which requests name none validly.
//!
//! The URI's authority (absolute-form HTTP/1.1, HTTP/2 `:authority`) wins
//! over a `Host` header (RFC 9112 §3.2.2, RFC 9113 §8.3.1). Refused with
//! 400, as nginx does: an HTTP/1.1 request without `Host`, more than one
//! `Host`, and a `Host` or authority that is not `host[:port]` (a DNS name,
//! IPv4 address or bracketed IPv6 address, and a port of at most 65535).
//! HTTP/1.0 and HTTP/2 requests may name no host at all.

use http::header::HOST;
use http::request::Parts;
use http::{HeaderValue, Version};
use std::borrow::Cow;
use std::net::Ipv6Addr;

/// Why a request's authority is refused; each is answered 400.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(super) enum AuthorityError {
    /// HTTP/1.1 without a `Host` header.
    #[error("HTTP/1.1 request without a Host header")]
    MissingHost,
    /// Two or more `Host` headers.
    #[error("more than one Host header")]
    DuplicateHost,
    /// Not `host[:port]`.
    #[error("invalid host in the Host header or request target")]
    Invalid,
}

/// The authority the request names, as the client wrote it (for
/// `preserve_host`), or `None` when it names none.
pub(super) fn client_authority(request: &Parts) -> Result<Option<&str>, AuthorityError> {
    let mut hosts = request.headers.get_all(HOST).iter();
    let header = hosts.next();
    if hosts.next().is_some() {
        return Err(AuthorityError::DuplicateHost);
    }
    let header = header.map(valid_header).transpose()?;
    if header.is_none() && request.version == Version::HTTP_11 {
        return Err(AuthorityError::MissingHost);
    }
    match request.uri.authority() {
        Some(authority) => {
            validate(authority.as_str())?;
            Ok(Some(authority.as_str()))
        }
        None => Ok(header),
    }
}

fn valid_header(value: &HeaderValue) -> Result<&str, AuthorityError> {
    let text = value.to_str().map_err(|_| AuthorityError::Invalid)?;
    validate(text)?;
    Ok(text)
}

/// Accepts `host[:port]`: a bracketed IPv6 address, or a name of letters,
/// digits, `-`, `_` and `.` without an empty label inside (a trailing dot
/// is the DNS root); the port, when present, is at most 65535 (an empty
/// port is allowed, RFC 3986 §3.2.3).
fn validate(authority: &str) -> Result<(), AuthorityError> {
    let invalid = Err(AuthorityError::Invalid);
    let (host, port) = match authority.strip_prefix('[') {
        Some(rest) => {
            let Some((address, after)) = rest.split_once(']') else {
                return invalid;
            };
            if address.parse::<Ipv6Addr>().is_err() {
                return invalid;
            }
            match after {
                "" => (authority, None),
                _ => match after.strip_prefix(':') {
                    Some(port) => (authority, Some(port)),
                    None => return invalid,
                },
            }
        }
        None => {
            let (host, port) = match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            };
            let name = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
            if host.is_empty() || !host.bytes().all(name) || host.contains("..") {
                return invalid;
            }
            (host, port)
        }
    };
    let port_ok = port.is_none_or(|p| {
        p.is_empty()
            || (p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok())
    });
    if host.is_empty() || !port_ok {
        return invalid;
    }
    Ok(())
}

/// The host part of an authority, lower-case, without port or trailing dot;
/// an IPv6 address keeps its brackets (the router compares strings).
/// Borrowed unless it had upper case: most clients send it lower-case.
pub(super) fn host_only(authority: &str) -> Cow<'_, str> {
    let host = if let Some(rest) = authority.strip_prefix('[') {
        match rest.find(']') {
            Some(end) => &authority[..end + 2],
            None => authority,
        }
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    let host = host.trim_end_matches('.');
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Request;

    fn parts(version: Version, uri: &str, hosts: &[&str]) -> Parts {
        let mut builder = Request::get(uri).version(version);
        for host in hosts {
            builder = builder.header(HOST, *host);
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn authority(
        version: Version,
        uri: &str,
        hosts: &[&str],
    ) -> Result<Option<String>, AuthorityError> {
        client_authority(&parts(version, uri, hosts)).map(|a| a.map(str::to_string))
    }

    #[test]
    fn the_uri_authority_wins_over_host() {
        let v11 = Version::HTTP_11;
        assert_eq!(authority(v11, "/", &["a.test"]), Ok(Some("a.test".into())));
        assert_eq!(
            authority(v11, "http://secure.test/", &["other.test"]),
            Ok(Some("secure.test".into()))
        );
        assert_eq!(
            authority(Version::HTTP_2, "http://b.test:8000/", &["c.test"]),
            Ok(Some("b.test:8000".into()))
        );
        assert_eq!(
            authority(Version::HTTP_2, "/", &["c.test"]),
            Ok(Some("c.test".into()))
        );
    }

    #[test]
    fn hostless_requests_only_below_http_1_1_and_on_http_2() {
        assert_eq!(authority(Version::HTTP_10, "/", &[]), Ok(None));
        assert_eq!(authority(Version::HTTP_2, "/", &[]), Ok(None));
        assert_eq!(
            authority(Version::HTTP_11, "/", &[]),
            Err(AuthorityError::MissingHost)
        );
        assert_eq!(
            authority(Version::HTTP_11, "http://a.test/", &[]),
            Err(AuthorityError::MissingHost)
        );
    }

    #[test]
    fn one_host_header_at_most() {
        for version in [Version::HTTP_10, Version::HTTP_11, Version::HTTP_2] {
            assert_eq!(
                authority(version, "/", &["a.test", "a.test"]),
                Err(AuthorityError::DuplicateHost)
            );
        }
    }

    #[test]
    fn host_syntax() {
        for good in [
            "a.test",
            "A.Test:8000",
            "a.test.",
            "a.test:",
            "127.0.0.1:65535",
            "[::1]",
            "[::1]:80",
            "x_y-z.test",
            "localhost",
        ] {
            assert_eq!(validate(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            ":80",
            "a/../x",
            "a b",
            "user@a.test",
            "a.test:65536",
            "a.test:8x",
            "a.test:123456",
            "a.test:-1",
            "a..test",
            "a.test,b.test",
            "a%2Etest",
            "a\\b",
            "[::1",
            "[::1]x",
            "[zz]",
            "[::1]:8x",
            "a:b:c",
            "é.test",
        ] {
            assert_eq!(validate(bad), Err(AuthorityError::Invalid), "{bad}");
        }
    }

    #[test]
    fn hosts_lose_ports_and_case() {
        assert_eq!(host_only("Example.COM:8000"), "example.com");
        assert_eq!(host_only("example.com."), "example.com");
        assert_eq!(host_only("[::1]:8000"), "[::1]");
        assert_eq!(host_only("a.example"), "a.example");
        assert!(matches!(
            host_only("a.example:80"),
            Cow::Borrowed("a.example")
        ));
        assert!(matches!(host_only("A.example"), Cow::Owned(_)));
    }
}
