//! Kong's `typedefs.ip_or_cidr` entries, parsed once into address ranges.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::IpAddr;

/// A list of IPs and CIDR ranges, merged into the fewest ranges per family
/// so that a lookup is a short scan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ranges {
    v4: Vec<Ipv4Net>,
    v6: Vec<Ipv6Net>,
}

// === impl Ranges ===

impl Ranges {
    /// Parses `entries`; the error is the index of the first bad entry and
    /// Kong's message about it.
    pub fn parse(entries: &[String]) -> Result<Self, (usize, String)> {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            match parse_one(entry) {
                Some(IpNet::V4(net)) => v4.push(net),
                Some(IpNet::V6(net)) => v6.push(net),
                None => return Err((i, format!("invalid ip or cidr range: '{entry}'"))),
            }
        }
        Ok(Self {
            v4: Ipv4Net::aggregate(&v4),
            v6: Ipv6Net::aggregate(&v6),
        })
    }

    /// Whether `ip` lies in one of the ranges (an IPv4-mapped IPv6 address
    /// counts as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip.to_canonical() {
            IpAddr::V4(ip) => self.v4.iter().any(|net| net.contains(&ip)),
            IpAddr::V6(ip) => self.v6.iter().any(|net| net.contains(&ip)),
        }
    }
}

/// Kong's `is_valid_ip_or_cidr`: an address, or an address and a prefix
/// length written as Kong's table has it (`0`…`32` / `0`…`128`, no sign,
/// no leading zero). Host bits may be set (`127.0.0.1/8`), as in Kong.
fn parse_one(entry: &str) -> Option<IpNet> {
    let Some((addr, prefix)) = entry.split_once('/') else {
        // An IPv4-mapped address is the IPv4 client it stands for.
        return entry
            .parse::<IpAddr>()
            .ok()
            .map(|ip| IpNet::from(ip.to_canonical()));
    };
    let canonical = prefix.bytes().all(|b| b.is_ascii_digit())
        && !prefix.is_empty()
        && (prefix == "0" || !prefix.starts_with('0'));
    if !canonical {
        return None;
    }
    let prefix: u8 = prefix.parse().ok()?;
    IpNet::new(addr.parse().ok()?, prefix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(entries: &[&str]) -> Ranges {
        Ranges::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn kong_accepts_and_refuses_the_same_entries() {
        for good in [
            "127.0.0.1",
            "127.0.0.1/32",
            "127.0.0.1/8",
            "0.0.0.0/0",
            "::1",
            "::/0",
            "::/1",
            "::/128",
            "fe80::/8",
            "::ffff:10.0.0.1",
        ] {
            assert!(parse_one(good).is_some(), "{good}");
        }
        for bad in [
            "hello",
            "0.0.0.0/a",
            "0.0.0.0/-1",
            "0.0.0.0/33",
            "0.0.0.0/08",
            "0.0.0.0/",
            "0.0.0.0/+8",
            "::/a",
            "::/-1",
            "::/129",
            "::1/a",
            "::1/-1",
            "::1/129",
            "127.0.0.01",
            "127.0.0",
            "",
            "127.0.0.1/8/8",
        ] {
            assert!(parse_one(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_first_bad_entry_is_named_with_its_index() {
        let entries = ["127.0.0.1/32", "127.0.0.2/32", "hello"].map(String::from);
        assert_eq!(
            Ranges::parse(&entries).unwrap_err(),
            (2, "invalid ip or cidr range: 'hello'".to_string())
        );
    }

    #[test]
    fn addresses_match_their_family_only() {
        let r = ranges(&["127.0.0.0/24", "2001:db8::/32"]);
        assert!(r.contains(ip("127.0.0.255")));
        assert!(!r.contains(ip("127.0.1.0")));
        assert!(r.contains(ip("2001:db8::42")));
        assert!(!r.contains(ip("2001:db9::")));
        // An IPv4 client on a dual-stack socket is still IPv4.
        assert!(r.contains(ip("::ffff:127.0.0.9")));
        // Host bits in an entry do not narrow it.
        assert!(ranges(&["127.0.0.1/8"]).contains(ip("127.200.0.1")));
        assert!(!ranges(&["0.0.0.0/0"]).contains(ip("::1")));
        assert!(ranges(&["::ffff:10.0.0.1"]).contains(ip("10.0.0.1")));
        assert!(ranges(&["::/0"]).contains(ip("::1")));
    }

    #[test]
    fn overlapping_entries_are_merged() {
        let r = ranges(&["10.0.0.1", "10.0.0.0/8", "10.1.0.0/16", "::1", "::1/128"]);
        assert_eq!(r.v4.len(), 1);
        assert_eq!(r.v6.len(), 1);
        assert!(r.contains(ip("10.255.0.1")));
    }
}
