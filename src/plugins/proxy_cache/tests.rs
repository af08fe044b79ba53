//! The cache-control rules of Kong's handler, one by one.

use super::*;
use crate::model::plugin::Schema;
use serde_json::json;

fn config(extra: serde_json::Value) -> ProxyCacheConfig {
    let mut c = json!({"strategy": "memory"});
    c.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    ProxyCacheConfig::parse(&c).unwrap()
}

fn entry(timestamp: u64, ttl: u64) -> Entry {
    Entry {
        status: 200,
        headers: HeaderMap::new(),
        body: bytes::Bytes::new(),
        timestamp,
        ttl,
        storage_ttl: None,
    }
}

fn response(status: u16, headers: &[(&str, &str)]) -> http::response::Parts {
    let mut builder = http::Response::builder().status(status);
    for (n, v) in headers {
        builder = builder.header(*n, *v);
    }
    builder.body(()).unwrap().into_parts().0
}

#[test]
fn freshness_without_cache_control_is_cache_ttl() {
    // "respects cache ttl": older than cache_ttl is a Refresh.
    let c = config(json!({"cache_ttl": 2}));
    let none = Directives::default();
    assert!(!stale(&c, &none, &entry(100, 2), 102));
    assert!(stale(&c, &none, &entry(100, 2), 103));
    // Request directives are ignored without cache_control.
    let cc = Directives::parse("max-age=0");
    assert!(!stale(&c, &cc, &entry(100, 2), 101));
}

#[test]
fn request_directives_with_cache_control() {
    let c = config(json!({"cache_control": true}));
    let e = entry(100, 10);
    let is_stale = |v: &str, now| stale(&c, &Directives::parse(v), &e, now);
    // No directive: served as long as it is stored.
    assert!(!is_stale("", 500));
    // "max-age": older than the client accepts.
    assert!(is_stale("max-age=2", 103));
    assert!(!is_stale("max-age=2", 102));
    // "max-stale": stale for longer than the client accepts.
    assert!(is_stale("max-stale=1", 112));
    assert!(!is_stale("max-stale=1", 111));
    // "min-fresh": not fresh for long enough.
    assert!(is_stale("min-fresh=30", 100));
    assert!(!is_stale("min-fresh=5", 104));
}

#[test]
fn cacheable_responses() {
    let c = config(json!({}));
    let none = Directives::default();
    let json_ct = [("content-type", "application/json")];
    assert!(cacheable_response(&c, &response(200, &json_ct), &none));
    // "bypasses cache for uncacheable responses: response status"
    assert!(!cacheable_response(&c, &response(418, &json_ct), &none));
    // "... response content type"
    let xml = [("content-type", "application/xml")];
    assert!(!cacheable_response(&c, &response(200, &xml), &none));
    // No or several content types: not examined, not cached.
    assert!(!cacheable_response(&c, &response(200, &[]), &none));
    let two = [
        ("content-type", "application/json"),
        ("content-type", "text/plain"),
    ];
    assert!(!cacheable_response(&c, &response(200, &two), &none));
}

#[test]
fn cacheable_responses_with_cache_control() {
    let c = config(json!({"cache_control": true}));
    let check = |cc: &str| {
        let parts = response(
            200,
            &[("content-type", "application/json"), ("cache-control", cc)],
        );
        cacheable_response(&c, &parts, &Directives::of(&parts.headers))
    };
    assert!(check("public, max-age=60"));
    // "public not present in Cache-Control, but max-age is"
    assert!(check("max-age=604800"));
    // "Cache-Control contains s-maxage only"
    assert!(check("s-maxage=604800"));
    // max-age=0 never results in caching; nor private, no-store, no-cache.
    assert!(!check("max-age=0"));
    assert!(!check("private, max-age=60"));
    assert!(!check("no-store, max-age=60"));
    assert!(!check("no-cache, max-age=60"));
    // Without any freshness information there is nothing to cache.
    assert!(!check("public"));
    // "Expires present, Cache-Control absent"
    let later = SystemTime::now() + std::time::Duration::from_secs(5000);
    let parts = response(
        200,
        &[
            ("content-type", "application/json"),
            ("expires", &httpdate::fmt_http_date(later)),
        ],
    );
    assert!(cacheable_response(
        &c,
        &parts,
        &Directives::of(&parts.headers)
    ));
}

#[test]
fn hits_replay_the_stored_headers_but_not_hop_by_hop_or_diagnostics() {
    let mut e = entry(100, 300);
    for (n, v) in [
        ("content-type", "application/json"),
        ("content-length", "2"),
        ("x-cache-status", "Miss"),
        ("x-cache-key", "old"),
        ("x-ratelimit-remaining-minute", "4"),
        ("ratelimit-remaining", "4"),
        ("connection", "close"),
        ("x-kept", "1"),
    ] {
        e.headers.append(n, v.parse().unwrap());
    }
    e.headers.append("set-cookie", "a=1".parse().unwrap());
    e.headers.append("set-cookie", "b=2".parse().unwrap());
    e.body = bytes::Bytes::from_static(b"{}");
    let all = Show {
        age: true,
        status: true,
        key: true,
    };
    let r = hit(&e, "new", all, 107);
    let h = &r.headers;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["x-kept"], "1");
    assert_eq!(h.get_all("set-cookie").iter().count(), 2);
    assert_eq!(h["age"], "7");
    assert_eq!(h["x-cache-status"], "Hit");
    assert_eq!(h["x-cache-key"], "new");
    for gone in [
        "content-length",
        "x-ratelimit-remaining-minute",
        "ratelimit-remaining",
        "connection",
    ] {
        assert!(!h.contains_key(gone), "{gone}");
    }
    let none = Show {
        age: false,
        status: false,
        key: false,
    };
    let r = hit(&e, "new", none, 107);
    assert!(!r.headers.contains_key("age"));
    assert!(!r.headers.contains_key("x-cache-status"));
    assert!(!r.headers.contains_key("x-cache-key"));
}

#[test]
fn kong_debug_shows_every_header() {
    let c = config(
        json!({"response_headers": {"age": false, "X-Cache-Status": false, "X-Cache-Key": false}}),
    );
    let mut headers = HeaderMap::new();
    let quiet = Show::of(&c, &headers);
    assert!(!quiet.age && !quiet.status && !quiet.key);
    headers.insert("kong-debug", "1".parse().unwrap());
    let debug = Show::of(&c, &headers);
    assert!(debug.age && debug.status && debug.key);
}
