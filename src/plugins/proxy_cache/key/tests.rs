//! Kong's `spec/03-plugins/31-proxy-cache/05-cache_key_spec.lua`.

use super::*;
use serde_json::json;

fn config(extra: serde_json::Value) -> ProxyCacheConfig {
    let mut c = json!({"strategy": "memory"});
    c.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    <ProxyCacheConfig as crate::model::plugin::Schema>::parse(&c).unwrap()
}

fn args(query: &str) -> BTreeMap<String, Values> {
    query_args(Some(query))
}

#[test]
fn prefix_uuid() {
    // "returns distinct prefixes for a consumer on different routes" and
    // "for different consumers on a route".
    assert_ne!(
        prefix(Some("c1"), Some("r1")),
        prefix(Some("c1"), Some("r2"))
    );
    assert_ne!(
        prefix(Some("c1"), Some("r1")),
        prefix(Some("c2"), Some("r1"))
    );
    // "returns a consumer-specific prefix for routes"
    assert_ne!(prefix(None, Some("r1")), prefix(Some("c1"), Some("r1")));
    assert_eq!(prefix(None, Some("r1")), "r1");
    assert_eq!(prefix(Some("c1"), Some("r1")), "c1:r1");
    // "returns 'default' if" nothing or only a consumer was given.
    assert_eq!(prefix(None, None), "default");
    assert_eq!(prefix(Some("c1"), None), "default");
}

#[test]
fn params_key_cases() {
    let all = config(json!({}));
    // "defaults to all", sorted by name.
    assert_eq!(params_key(&args("b=2&a=1"), &all), "a=1:b=2");
    // "empty query_string returns empty", with or without vary.
    assert_eq!(params_key(&args(""), &all), "");
    let vary_a = config(json!({"vary_query_params": ["a"]}));
    assert_eq!(params_key(&args(""), &vary_a), "");
    // "uses only params specified in vary"
    assert_eq!(params_key(&args("a=1&b=2"), &vary_a), "a=1");
    // "deals with multiple params with same name (and sorts)"
    assert_eq!(params_key(&args("a=2&a=1"), &vary_a), "a=1,2");
    // "discards params in config that are not in the request", config order.
    let vary_abc = config(json!({"vary_query_params": ["a", "b", "c"]}));
    assert_eq!(params_key(&args("b=2&a=1&a=2"), &vary_abc), "a=1,2:b=2");
    // A bare argument is Kong's `true`: its name alone; `a=` keeps the `=`.
    assert_eq!(params_key(&args("b&a="), &all), "a=:b");
    // Decoded as nginx decodes them.
    assert_eq!(params_key(&args("q=a+b%21"), &all), "q=a b!");
    // An empty vary list is "unset": every argument.
    let empty = config(json!({"vary_query_params": []}));
    assert_eq!(params_key(&args("z=1&y=2"), &empty), "y=2:z=1");
}

#[test]
fn headers_key_cases() {
    let mut headers = HeaderMap::new();
    headers.insert("a", "1".parse().unwrap());
    headers.insert("b", "2".parse().unwrap());
    // "defaults to none"
    assert_eq!(headers_key(&headers, &config(json!({}))), "");
    // "uses only params specified in vary"
    assert_eq!(
        headers_key(&headers, &config(json!({"vary_headers": ["a"]}))),
        "a=1"
    );
    // "discards params in config that are not in the request", and
    // "deals with multiple params with same name and sorts".
    headers.append("a", "0".parse().unwrap());
    assert_eq!(
        headers_key(&headers, &config(json!({"vary_headers": ["a", "b", "c"]}))),
        "a=0,1:b=2"
    );
    // Names are looked up case-blind, `_` as `-`, and printed as configured.
    headers.insert("x-api-version", "3".parse().unwrap());
    assert_eq!(
        headers_key(
            &headers,
            &config(json!({"vary_headers": ["X_Api_Version"]}))
        ),
        "X_Api_Version=3"
    );
}

fn key_of(uri: &str, consumer: Option<&str>, config: &ProxyCacheConfig) -> String {
    let uri: Uri = uri.parse().unwrap();
    let headers = HeaderMap::new();
    build(
        &KeyInput {
            consumer,
            route: Some("route-1"),
            method: &Method::GET,
            uri: &uri,
            version: Version::HTTP_11,
            headers: &headers,
        },
        config,
    )
}

#[test]
fn the_key_is_kongs_sha256_of_the_parts() {
    let c = config(json!({}));
    let expected = hex::encode(Sha256::digest(b"route-1|GET|GET /get HTTP/1.1||"));
    assert_eq!(key_of("/get", None, &c), expected);
    // With a query the request line loses its version (Kong's `\?.*`).
    let expected = hex::encode(Sha256::digest(b"bob:route-1|GET|GET /get|a=b:b=c|"));
    assert_eq!(key_of("/get?b=c&a=b", Some("bob"), &c), expected);
    assert_eq!(key_of("/get?b=c&a=b", Some("bob"), &c).len(), 64);
}

#[test]
fn ignore_uri_case() {
    // 02-access_spec "ignore uri case in cache_key" / "acknowledge uri case".
    let ignore = config(json!({"ignore_uri_case": true}));
    assert_eq!(
        key_of("/ignore-case/kong", None, &ignore),
        key_of("/ignore-case/KONG", None, &ignore)
    );
    let keep = config(json!({}));
    assert_ne!(
        key_of("/acknowledge-case/kong", None, &keep),
        key_of("/acknowledge-case/KONG", None, &keep)
    );
}
