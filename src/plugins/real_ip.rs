//! The client address as Kong sees it (`ngx.var.remote_addr`, what
//! `kong.client.get_forwarded_ip` returns): nginx's realip module with
//! Kong's `trusted_ips`, `real_ip_header` and `real_ip_recursive`. Computed
//! once per request by the proxy ([`super::Exchange::forwarded_ip`]); the
//! plugins that key on the client (ip-restriction, rate-limiting by ip)
//! read that one value.

use super::TrustedIps;
use http::{HeaderMap, HeaderName};
use std::net::{IpAddr, SocketAddr};

/// Which header carries the client address, and whether it is walked
/// through trusted hops (`--real-ip-header`, `--real-ip-recursive`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealIp {
    header: HeaderName,
    recursive: bool,
}

/// Why a `--real-ip-header` is refused.
#[derive(Debug, thiserror::Error)]
pub enum RealIpError {
    /// Not a header name.
    #[error("--real-ip-header: '{0}' is not a header name")]
    BadName(String),
    /// Kong's `proxy_protocol`: kingress's listeners do not speak it.
    #[error(
        "--real-ip-header: 'proxy_protocol' needs PROXY protocol listeners, which kingress does not have"
    )]
    ProxyProtocol,
}

impl Default for RealIp {
    /// Kong's defaults: `X-Real-IP`, not recursive.
    fn default() -> Self {
        Self {
            header: HeaderName::from_static("x-real-ip"),
            recursive: false,
        }
    }
}

// === impl RealIp ===

impl RealIp {
    /// `header` (any spelling) and whether addresses are walked recursively.
    pub fn new(header: &str, recursive: bool) -> Result<Self, RealIpError> {
        if header.eq_ignore_ascii_case("proxy_protocol") {
            return Err(RealIpError::ProxyProtocol);
        }
        let header = HeaderName::from_bytes(header.trim().as_bytes())
            .map_err(|_| RealIpError::BadName(header.to_string()))?;
        Ok(Self { header, recursive })
    }

    /// The client address of a request from `peer` (nginx's
    /// `ngx_http_get_forwarded_addr`): while the address in hand is
    /// trusted, the header's next address from the right replaces it; only
    /// one step unless recursive. An unparsable address stops the walk and
    /// the last good one stays.
    pub fn resolve(&self, peer: IpAddr, trusted: &TrustedIps, headers: &HeaderMap) -> IpAddr {
        let mut addr = peer.to_canonical();
        let hops = headers.get_all(&self.header).iter().rev().flat_map(|v| {
            v.as_bytes()
                .rsplit(|b| *b == b',' || *b == b' ')
                .filter(|token| !token.is_empty())
        });
        for hop in hops {
            if !trusted.contains(addr) {
                break;
            }
            let Some(ip) = parse_addr(hop) else {
                break;
            };
            addr = ip;
            if !self.recursive {
                break;
            }
        }
        addr
    }
}

/// nginx's `ngx_parse_addr_port`: an address, optionally with a port
/// (`10.0.0.1:80`, `[::1]:80`).
fn parse_addr(token: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(token).ok()?;
    text.parse::<IpAddr>()
        .or_else(|_| text.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &str, values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn trusted(list: &[&str]) -> TrustedIps {
        TrustedIps::parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let h = headers("x-real-ip", &["10.0.0.1"]);
        let r = RealIp::default();
        assert_eq!(
            r.resolve(ip("127.0.0.1"), &trusted(&[]), &h),
            ip("127.0.0.1")
        );
        assert_eq!(
            r.resolve(ip("127.0.0.1"), &trusted(&["10.0.0.0/8"]), &h),
            ip("127.0.0.1")
        );
        // A trusted one is believed.
        assert_eq!(
            r.resolve(ip("127.0.0.1"), &trusted(&["127.0.0.1"]), &h),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn x_forwarded_for_non_recursive_takes_the_last_hop() {
        let r = RealIp::new("X-Forwarded-For", false).unwrap();
        let h = headers("x-forwarded-for", &["127.0.0.4, 127.0.0.3"]);
        let all = trusted(&["0.0.0.0/0", "::/0"]);
        assert_eq!(r.resolve(ip("127.0.0.1"), &all, &h), ip("127.0.0.3"));
    }

    #[test]
    fn recursive_walks_through_trusted_hops_only() {
        // Kong's spec: real_ip_recursive with everything trusted ends at
        // the leftmost address ("127.0.0.4, 127.0.0.3" is 127.0.0.4).
        let r = RealIp::new("x-forwarded-for", true).unwrap();
        let all = trusted(&["0.0.0.0/0", "::/0"]);
        let h = headers("x-forwarded-for", &["127.0.0.4, 127.0.0.3"]);
        assert_eq!(r.resolve(ip("127.0.0.1"), &all, &h), ip("127.0.0.4"));
        let h = headers("x-forwarded-for", &["::3, ::4"]);
        assert_eq!(r.resolve(ip("127.0.0.1"), &all, &h), ip("::3"));
        // The first untrusted hop from the right is the client: a client
        // cannot push itself further left.
        let proxies = trusted(&["10.0.0.0/8", "127.0.0.1"]);
        let h = headers("x-forwarded-for", &["6.6.6.6, 192.0.2.1, 10.1.1.1"]);
        assert_eq!(r.resolve(ip("127.0.0.1"), &proxies, &h), ip("192.0.2.1"));
        // Several header lines are one list, the last line nearest.
        let h = headers("x-forwarded-for", &["192.0.2.9", "10.0.0.2,10.0.0.3"]);
        assert_eq!(r.resolve(ip("127.0.0.1"), &proxies, &h), ip("192.0.2.9"));
    }

    #[test]
    fn an_unparsable_hop_stops_the_walk() {
        let r = RealIp::new("x-forwarded-for", true).unwrap();
        let all = trusted(&["0.0.0.0/0"]);
        let h = headers("x-forwarded-for", &["192.0.2.1, junk, 10.0.0.3:8080"]);
        assert_eq!(r.resolve(ip("127.0.0.1"), &all, &h), ip("10.0.0.3"));
        let h = headers("x-real-ip", &["not-an-ip"]);
        assert_eq!(
            RealIp::default().resolve(ip("127.0.0.1"), &all, &h),
            ip("127.0.0.1")
        );
        let h = headers("x-real-ip", &["[2001:db8::1]:443"]);
        assert_eq!(
            RealIp::default().resolve(ip("127.0.0.1"), &all, &h),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn mapped_ipv4_peers_are_ipv4() {
        let h = HeaderMap::new();
        let r = RealIp::default();
        assert_eq!(
            r.resolve(ip("::ffff:192.0.2.1"), &trusted(&[]), &h),
            ip("192.0.2.1")
        );
    }

    #[test]
    fn proxy_protocol_and_bad_names_are_refused() {
        assert!(matches!(
            RealIp::new("proxy_protocol", false),
            Err(RealIpError::ProxyProtocol)
        ));
        assert!(matches!(
            RealIp::new("bad header", false),
            Err(RealIpError::BadName(_))
        ));
    }
}
