//! Header rules of a reverse proxy: hop-by-hop headers stay on their hop,
//! the upstream learns who really asked (`X-Forwarded-*`, `X-Real-IP`), and
//! the upstream `Host` follows `preserve_host` / `host_header` / target.
//!
//! The `X-Forwarded-*` values follow Kong: a client's own values are kept
//! only when the peer is a trusted IP; `X-Forwarded-For` is always appended
//! to (nginx's `$proxy_add_x_forwarded_for`).

use crate::model::{Scheme, Target};
use http::header::Entry;
use http::header::{CONNECTION, COOKIE, UPGRADE};
use http::{HeaderMap, HeaderName, HeaderValue};
use std::net::IpAddr;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
const X_FORWARDED_PATH: HeaderName = HeaderName::from_static("x-forwarded-path");
const X_FORWARDED_PREFIX: HeaderName = HeaderName::from_static("x-forwarded-prefix");
const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");

/// What the proxy knows about the client side of a request.
#[derive(Clone, Copy, Debug)]
pub(super) struct Forwarded<'a> {
    /// The TCP peer.
    pub peer: IpAddr,
    /// The client as the real-IP rule resolved it (Kong's `$remote_addr`):
    /// the peer unless a trusted peer named another.
    pub client: IpAddr,
    /// Whether the peer is in `--trusted-ips`.
    pub trusted: bool,
    /// `http` or `https`, as the client connected.
    pub proto: &'static str,
    /// Request host without port, lower-case; may be empty.
    pub host: &'a str,
    /// The local port the client connected to.
    pub port: u16,
    /// The canonical request path (what the route matched), before
    /// strip-path.
    pub path: &'a str,
}

/// Whether the request asks for a protocol upgrade (e.g. WebSocket).
pub(super) fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(UPGRADE)
        && connection_tokens(headers).any(|t| t.eq_ignore_ascii_case("upgrade"))
}

/// Removes hop-by-hop headers: `Connection` and every header it names,
/// `Keep-Alive`, `TE`, `Trailer`, `Transfer-Encoding`, `Proxy-*` and
/// `Upgrade`. With `upgrade` the `Upgrade` header is kept and `Connection`
/// becomes exactly `upgrade`, so the handshake reaches the other side.
pub(super) fn remove_hop_by_hop(headers: &mut HeaderMap, upgrade: bool) {
    // Most requests carry none of them: one pass over the few names present
    // is cheaper than a hashed removal of each possible one.
    if !headers.keys().any(is_hop_by_hop) {
        if upgrade {
            headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        }
        return;
    }
    // Names `Connection` lists, then the hop-by-hop names present: each
    // removal hashes, so only what is there is removed (an upstream's
    // `Connection: keep-alive` response has one).
    let listed = connection_tokens(headers)
        // Removed below anyway (or no header): skipping them spares
        // parsing (and allocating) a name for most responses.
        .filter(|t| !t.eq_ignore_ascii_case("keep-alive") && !t.eq_ignore_ascii_case("close"))
        .filter_map(|t| HeaderName::from_bytes(t.as_bytes()).ok());
    let present = headers.keys().filter(|n| is_hop_by_hop(n)).cloned();
    let doomed: Vec<HeaderName> = listed.chain(present).collect();
    for name in doomed {
        if !(upgrade && name == UPGRADE) {
            headers.remove(name);
        }
    }
    if upgrade {
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    }
}

/// The headers that never cross a hop by themselves (tokens listed in
/// `Connection` only exist when `Connection` does), and every `Proxy-*`.
const HOP_BY_HOP_NAMES: [&str; 6] = [
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];
const HOP_BY_HOP_PREFIX: &str = "proxy-";

/// Whether `name` is a hop-by-hop header ([`HOP_BY_HOP_NAMES`], `Proxy-*`).
/// Asked of every field of every request: the first letter turns away most
/// names (`host`, `accept`, `authorization`…) before any comparison.
#[inline]
pub(super) fn is_hop_by_hop(name: &HeaderName) -> bool {
    let text = name.as_str();
    match text.as_bytes().first() {
        Some(b'c' | b'k' | b't' | b'u') => HOP_BY_HOP_NAMES.contains(&text),
        Some(b'p') => text.starts_with(HOP_BY_HOP_PREFIX),
        _ => false,
    }
}

/// [`is_hop_by_hop`] for a name as it was written, in any case.
pub(super) fn is_hop_by_hop_spelled(name: &[u8]) -> bool {
    let prefix = HOP_BY_HOP_PREFIX.as_bytes();
    HOP_BY_HOP_NAMES
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h.as_bytes()))
        || name
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

fn connection_tokens(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// How many fields [`set_forwarded`] may add.
pub(super) const FORWARDING_FIELDS: usize = 6;

/// Sets `X-Forwarded-For/-Proto/-Host/-Port/-Path`, `X-Real-IP`, and drops
/// an untrusted `X-Forwarded-Prefix`. As Kong: `X-Real-IP` is the resolved
/// client, and so is `X-Forwarded-For` when the request had none; a
/// request's own `X-Forwarded-For` gets the peer appended.
pub(super) fn set_forwarded(headers: &mut HeaderMap, f: &Forwarded<'_>) {
    let peer = ip_value(f.peer);
    let client = if f.client == f.peer.to_canonical() {
        peer.clone()
    } else {
        ip_value(f.client)
    };
    // Each map operation hashes the name: the entry API finds and replaces
    // in one, and an untrusted client's fields are overwritten without a
    // look first (nine operations per request became seven).
    match headers.entry(X_FORWARDED_FOR) {
        Entry::Occupied(mut chain) => {
            let mut joined = String::new();
            for value in chain.iter() {
                if let Ok(value) = value.to_str() {
                    joined.push_str(value);
                    joined.push_str(", ");
                }
            }
            joined.push_str(peer.to_str().unwrap_or_default());
            match HeaderValue::try_from(joined) {
                Ok(value) => drop(chain.insert(value)),
                Err(_) => drop(chain.remove_entry_mult()),
            }
        }
        Entry::Vacant(none) => drop(none.insert(client.clone())),
    }
    let host = (!f.host.is_empty())
        .then(|| HeaderValue::from_str(f.host).ok())
        .flatten();
    let fields = [
        (X_FORWARDED_PROTO, Some(HeaderValue::from_static(f.proto))),
        (X_FORWARDED_HOST, host),
        (X_FORWARDED_PORT, Some(HeaderValue::from(f.port))),
        (X_FORWARDED_PATH, HeaderValue::from_str(f.path).ok()),
    ];
    for (name, value) in fields {
        if f.trusted {
            // A trusted peer's own value stands.
            if let (Entry::Vacant(none), Some(value)) = (headers.entry(name), value) {
                none.insert(value);
            }
        } else {
            match value {
                Some(value) => drop(headers.insert(name, value)),
                None => drop(headers.remove(name)),
            }
        }
    }
    if !f.trusted {
        headers.remove(&X_FORWARDED_PREFIX);
    }
    headers.insert(X_REAL_IP, client);
}

/// The peer address as a header value (an IPv4-mapped IPv6 address as
/// IPv4). IPv4, by far the common case, is written digit by digit: the
/// formatting machinery cost about 1% of a proxied request.
fn ip_value(ip: IpAddr) -> HeaderValue {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let mut text = [0u8; 15];
            let mut n = 0;
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    text[n] = b'.';
                    n += 1;
                }
                if octet >= 100 {
                    text[n] = b'0' + octet / 100;
                    n += 1;
                }
                if octet >= 10 {
                    text[n] = b'0' + octet / 10 % 10;
                    n += 1;
                }
                text[n] = b'0' + octet % 10;
                n += 1;
            }
            HeaderValue::from_bytes(&text[..n]).unwrap_or(HeaderValue::from_static(""))
        }
        v6 => HeaderValue::try_from(v6.to_string()).unwrap_or(HeaderValue::from_static("")),
    }
}

/// A message's `Content-Length`, when it is one number.
pub(super) fn content_length(headers: &HeaderMap) -> Option<u64> {
    let value = headers.get(http::header::CONTENT_LENGTH)?;
    value.to_str().ok()?.parse().ok()
}

/// The value of a header the client sent, as a string.
pub(super) fn get<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// HTTP/2 clients may split `Cookie` into several fields; an HTTP/1.1
/// upstream expects one, joined with `; ` (RFC 9113 §8.2.3).
pub(super) fn join_cookies(headers: &mut HeaderMap) {
    if headers.get_all(COOKIE).iter().nth(1).is_none() {
        return;
    }
    let joined = headers
        .get_all(COOKIE)
        .iter()
        .map(|v| v.as_bytes())
        .collect::<Vec<_>>()
        .join(&b"; "[..]);
    if let Ok(value) = HeaderValue::from_bytes(&joined) {
        headers.insert(COOKIE, value);
    }
}

/// The `Host` for a target, as Kong sends it when the route does not
/// preserve the client's: `host`, plus `:port` unless it is the scheme's
/// default port.
pub(super) fn target_host(target: &Target, scheme: Scheme) -> Option<HeaderValue> {
    let default_port = scheme.default_port();
    let host = if target.host.contains(':') {
        format!("[{}]", target.host)
    } else {
        target.host.clone()
    };
    let value = if target.port == default_port {
        host
    } else {
        format!("{host}:{}", target.port)
    };
    HeaderValue::from_str(&value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn hop_by_hop_names_whatever_their_first_letter() {
        for name in
            HOP_BY_HOP_NAMES
                .iter()
                .chain(&["proxy-authorization", "proxy-connection", "proxy-x"])
        {
            assert!(is_hop_by_hop(&HeaderName::from_static(name)), "{name}");
        }
        for name in [
            "host",
            "accept",
            "cookie",
            "content-length",
            "tea",
            "trailers",
            "upgrade-insecure-requests",
            "user-agent",
            "keep-alive-x",
            "proxy",
            "x-proxy-id",
            "p",
        ] {
            assert!(!is_hop_by_hop(&HeaderName::from_static(name)), "{name}");
        }
    }

    #[test]
    fn hop_by_hop_headers_are_removed() {
        let mut h = map(&[
            ("connection", "keep-alive, x-secret-hop"),
            ("x-secret-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("trailer", "x"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "h2c"),
            ("proxy-authorization", "Basic x"),
            ("proxy-connection", "keep-alive"),
            ("x-kept", "yes"),
        ]);
        remove_hop_by_hop(&mut h, false);
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(h["x-kept"], "yes");
    }

    #[test]
    fn upgrade_keeps_the_handshake() {
        let mut h = map(&[
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "websocket"),
        ]);
        assert!(is_upgrade(&h));
        remove_hop_by_hop(&mut h, true);
        assert_eq!(h["connection"], "upgrade");
        assert_eq!(h["upgrade"], "websocket");
        assert!(!is_upgrade(&map(&[("upgrade", "websocket")])));
    }

    fn forwarded(trusted: bool) -> Forwarded<'static> {
        Forwarded {
            peer: "::ffff:10.0.0.9".parse().unwrap(),
            client: "10.0.0.9".parse().unwrap(),
            trusted,
            proto: "https",
            host: "a.example",
            port: 8443,
            path: "/orig/path",
        }
    }

    #[test]
    fn untrusted_peers_cannot_spoof_forwarded_headers() {
        let mut h = map(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-proto", "http"),
            ("x-forwarded-host", "evil"),
            ("x-forwarded-prefix", "/evil"),
            ("x-real-ip", "1.1.1.1"),
        ]);
        set_forwarded(&mut h, &forwarded(false));
        assert_eq!(h["x-forwarded-for"], "1.1.1.1, 10.0.0.9");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "a.example");
        assert_eq!(h["x-forwarded-port"], "8443");
        assert_eq!(h["x-forwarded-path"], "/orig/path");
        assert_eq!(h["x-real-ip"], "10.0.0.9");
        assert!(!h.contains_key("x-forwarded-prefix"));
    }

    #[test]
    fn trusted_peers_keep_their_values() {
        let mut h = map(&[
            ("x-forwarded-proto", "http"),
            ("x-real-ip", "1.1.1.1"),
            ("x-forwarded-prefix", "/p"),
        ]);
        // The real-IP rule believed the trusted peer's X-Real-IP.
        let f = Forwarded {
            client: "1.1.1.1".parse().unwrap(),
            ..forwarded(true)
        };
        set_forwarded(&mut h, &f);
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-real-ip"], "1.1.1.1");
        assert_eq!(h["x-forwarded-prefix"], "/p");
        // Kong: with no X-Forwarded-For, the chain starts at `$remote_addr`.
        assert_eq!(h["x-forwarded-for"], "1.1.1.1");
        // With one, the peer that connected is appended.
        let mut h = map(&[("x-forwarded-for", "1.1.1.1")]);
        set_forwarded(&mut h, &f);
        assert_eq!(h["x-forwarded-for"], "1.1.1.1, 10.0.0.9");
        // A trusted peer's unparsable X-Real-IP was not believed: the
        // upstream gets the resolved client, not the client's text.
        let mut h = map(&[("x-real-ip", "junk")]);
        set_forwarded(&mut h, &forwarded(true));
        assert_eq!(h["x-real-ip"], "10.0.0.9");
    }

    #[test]
    fn peer_addresses_are_written_as_nginx_does() {
        for ip in [
            "0.0.0.0",
            "10.0.0.1",
            "127.0.0.1",
            "192.168.100.7",
            "255.255.255.255",
            "::1",
            "2001:db8::42",
        ] {
            assert_eq!(ip_value(ip.parse().unwrap()), ip);
        }
        assert_eq!(ip_value("::ffff:1.20.255.9".parse().unwrap()), "1.20.255.9");
    }

    #[test]
    fn cookies_are_joined() {
        let mut h = map(&[("cookie", "a=1"), ("cookie", "b=2")]);
        join_cookies(&mut h);
        assert_eq!(h.get_all("cookie").iter().count(), 1);
        assert_eq!(h["cookie"], "a=1; b=2");
    }

    #[test]
    fn target_host_omits_default_ports() {
        let t = |host: &str, port| Target::new(host, port);
        assert_eq!(
            target_host(&t("10.0.0.1", 80), Scheme::Http).unwrap(),
            "10.0.0.1"
        );
        assert_eq!(
            target_host(&t("10.0.0.1", 8080), Scheme::Http).unwrap(),
            "10.0.0.1:8080"
        );
        assert_eq!(target_host(&t("svc", 443), Scheme::Https).unwrap(), "svc");
        assert_eq!(
            target_host(&t("::1", 80), Scheme::Https).unwrap(),
            "[::1]:80"
        );
    }
}
