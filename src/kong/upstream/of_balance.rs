//! The other direction: a model [`Balance`] printed as the Kong upstream it
//! stands for, so the Admin API shows every upstream (a KongUpstreamPolicy's,
//! a kong.yml one, or a plain Service's round-robin) in Kong's shape.

use super::Upstream;
use crate::model::{Balance, HashOn};

impl Upstream {
    /// The upstream `name` (id `id`) with `balance` (Kong's defaults when
    /// `None`).
    pub fn of_balance(
        id: String,
        name: &str,
        balance: Option<&Balance>,
        host_header: Option<String>,
        tags: Option<Vec<String>>,
    ) -> Self {
        let default = Balance::new(name);
        let b = balance.unwrap_or(&default);
        let mut u = Upstream {
            id,
            created_at: 0,
            updated_at: 0,
            name: name.to_string(),
            algorithm: b.algorithm.as_str().to_string(),
            hash_on: kind(&b.hash_on).to_string(),
            hash_fallback: kind(&b.hash_fallback).to_string(),
            hash_on_header: None,
            hash_fallback_header: None,
            hash_on_cookie: None,
            hash_on_cookie_path: "/".to_string(),
            hash_on_query_arg: None,
            hash_fallback_query_arg: None,
            hash_on_uri_capture: None,
            hash_fallback_uri_capture: None,
            slots: i64::from(b.slots),
            healthchecks: b.healthchecks.clone(),
            host_header,
            client_certificate: None,
            use_srv_name: false,
            tags,
        };
        for (hash, fallback) in [(&b.hash_on, false), (&b.hash_fallback, true)] {
            match hash {
                HashOn::Header(h) if fallback => u.hash_fallback_header = Some(h.clone()),
                HashOn::Header(h) => u.hash_on_header = Some(h.clone()),
                HashOn::Cookie { name, path } => {
                    u.hash_on_cookie = Some(name.clone());
                    u.hash_on_cookie_path = path.clone();
                }
                HashOn::QueryArg(q) if fallback => u.hash_fallback_query_arg = Some(q.clone()),
                HashOn::QueryArg(q) => u.hash_on_query_arg = Some(q.clone()),
                HashOn::UriCapture(c) if fallback => {
                    u.hash_fallback_uri_capture = Some(c.clone());
                }
                HashOn::UriCapture(c) => u.hash_on_uri_capture = Some(c.clone()),
                HashOn::None | HashOn::Ip | HashOn::Consumer | HashOn::Path => {}
            }
        }
        u
    }
}

/// Kong's `hash_on` value.
fn kind(hash: &HashOn) -> &'static str {
    match hash {
        HashOn::None => "none",
        HashOn::Ip => "ip",
        HashOn::Consumer => "consumer",
        HashOn::Path => "path",
        HashOn::Header(_) => "header",
        HashOn::Cookie { .. } => "cookie",
        HashOn::QueryArg(_) => "query_arg",
        HashOn::UriCapture(_) => "uri_capture",
    }
}
