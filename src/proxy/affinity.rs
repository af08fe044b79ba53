//! The consistent-hashing key of a request, as Kong's balancer reads it
//! (`hash_on`, then `hash_fallback` when the first gives nothing): the
//! client address, the consumer, the path, a header, a cookie, a query
//! argument or a capture of the route's regex path. A `cookie` key that
//! the client did not send is generated (a UUID) and set on the response
//! with the configured path, so the client's next requests stick.

use crate::model::{Algorithm, Balance, HashOn, PathMatch};
use crate::plugins::Exchange;
use http::HeaderValue;
use http::header::COOKIE;

/// What consistent hashing needs from a request.
#[derive(Debug, Default)]
pub(super) struct Affinity {
    /// CRC32 of the key; `None` means no key (round-robin).
    pub hash: Option<u32>,
    /// A `Set-Cookie` for a generated cookie key.
    pub set_cookie: Option<HeaderValue>,
}

/// The affinity of the request in `exchange` under `balance`.
pub(super) fn of(balance: Option<&Balance>, exchange: &Exchange<'_>) -> Affinity {
    let Some(balance) = balance.filter(|b| b.algorithm == Algorithm::ConsistentHashing) else {
        return Affinity::default();
    };
    if let Some(key) = key(&balance.hash_on, exchange) {
        return Affinity {
            hash: Some(crc32fast::hash(key.as_bytes())),
            set_cookie: None,
        };
    }
    if let HashOn::Cookie { name, path } = &balance.hash_on {
        let value = uuid::Uuid::new_v4().to_string();
        let cookie = HeaderValue::from_str(&format!("{name}={value}; Path={path}")).ok();
        return Affinity {
            hash: Some(crc32fast::hash(value.as_bytes())),
            set_cookie: cookie,
        };
    }
    Affinity {
        hash: key(&balance.hash_fallback, exchange).map(|k| crc32fast::hash(k.as_bytes())),
        set_cookie: None,
    }
}

/// The key `on` names, when the request has it.
fn key(on: &HashOn, exchange: &Exchange<'_>) -> Option<String> {
    let request = &exchange.request;
    match on {
        HashOn::None => None,
        HashOn::Ip => Some(exchange.forwarded_ip.to_string()),
        HashOn::Consumer => exchange.authenticated.as_ref().map(|a| {
            if a.consumer.id.is_empty() {
                a.credential.clone().unwrap_or_default()
            } else {
                a.consumer.id.clone()
            }
        }),
        HashOn::Path => Some(request.uri().path().to_string()),
        HashOn::Header(name) => {
            let values: Vec<&str> = request
                .headers()
                .get_all(name.as_str())
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            (!values.is_empty()).then(|| values.join(","))
        }
        HashOn::Cookie { name, .. } => request
            .headers()
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.to_string()),
        HashOn::QueryArg(name) => request.uri().query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(n, _)| n == name.as_str())
                .map(|(_, v)| v.into_owned())
        }),
        HashOn::UriCapture(name) => {
            let Some(PathMatch::Regex(re)) = exchange.route.paths.get(exchange.matched_path) else {
                return None;
            };
            let captures = re.regex().captures(request.uri().path())?;
            captures.name(name).map(|m| m.as_str().to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Table;
    use crate::plugins::empty_body;
    use crate::router::fixtures::route;

    fn hash_of(on: HashOn, request: http::Request<crate::plugins::BoxBody>) -> Affinity {
        let table = Table::default();
        let route = route("r");
        let peer = "10.1.2.3:5000".parse().unwrap();
        let mut exchange = Exchange::new(request, peer, false, &table, &route, None);
        exchange.forwarded_ip = "10.9.9.9".parse().unwrap();
        let mut balance = Balance::new("ns/p");
        balance.algorithm = Algorithm::ConsistentHashing;
        balance.hash_on = on;
        balance.hash_fallback = HashOn::Ip;
        of(Some(&balance), &exchange)
    }

    fn request(uri: &str, headers: &[(&str, &str)]) -> http::Request<crate::plugins::BoxBody> {
        let mut r = http::Request::builder().uri(uri);
        for (n, v) in headers {
            r = r.header(*n, *v);
        }
        r.body(empty_body()).unwrap()
    }

    #[test]
    fn keys_are_read_where_kong_reads_them_with_the_fallback_after() {
        let crc = |s: &str| Some(crc32fast::hash(s.as_bytes()));
        let header = HashOn::Header("x-user".into());
        assert_eq!(
            hash_of(header.clone(), request("/", &[("x-user", "ann")])).hash,
            crc("ann")
        );
        assert_eq!(hash_of(header, request("/", &[])).hash, crc("10.9.9.9"));
        let arg = HashOn::QueryArg("u".into());
        assert_eq!(hash_of(arg, request("/?a=1&u=b%20c", &[])).hash, crc("b c"));
        assert_eq!(
            hash_of(HashOn::Path, request("/x/y?q", &[])).hash,
            crc("/x/y")
        );
        let cookie = HashOn::Cookie {
            name: "s".into(),
            path: "/shop".into(),
        };
        let sent = hash_of(cookie.clone(), request("/", &[("cookie", "a=1; s=abc")]));
        assert_eq!((sent.hash, sent.set_cookie), (crc("abc"), None));
        let made = hash_of(cookie, request("/", &[]));
        let set = made.set_cookie.expect("a generated cookie");
        let set = set.to_str().unwrap();
        let value = set
            .strip_prefix("s=")
            .unwrap()
            .strip_suffix("; Path=/shop")
            .unwrap();
        assert_eq!(made.hash, crc(value), "the generated value is the key");
    }
}
