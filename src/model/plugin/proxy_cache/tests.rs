//! Kong's `spec/03-plugins/31-proxy-cache/01-schema_spec.lua`.

use super::*;
use serde_json::json;

fn parse(v: Value) -> Result<ProxyCacheConfig, String> {
    ProxyCacheConfig::parse(&v).map_err(|e| e.to_string())
}

#[test]
fn accepts_a_minimal_config_with_kongs_defaults() {
    let c = parse(json!({"strategy": "memory"})).unwrap();
    assert_eq!(c.content_type, vec!["text/plain", "application/json"]);
    assert_eq!(c.response_code, vec![200, 301, 404]);
    assert_eq!(c.cache_ttl, 300);
    assert_eq!(c.memory.dictionary_name, "kong_db_cache");
    assert_eq!(
        Value::Object(ProxyCacheConfig::defaults()),
        json!({
            "response_code": [200, 301, 404],
            "request_method": ["GET", "HEAD"],
            "content_type": ["text/plain", "application/json"],
            "cache_ttl": 300,
            "strategy": null,
            "cache_control": false,
            "ignore_uri_case": false,
            "storage_ttl": null,
            "memory": {"dictionary_name": "kong_db_cache"},
            "vary_query_params": null,
            "vary_headers": null,
            "response_headers": {"age": true, "X-Cache-Status": true, "X-Cache-Key": true},
        })
    );
}

#[test]
fn accepts_custom_values() {
    let c = parse(json!({
        "strategy": "memory",
        "response_code": [123, 200],
        "request_method": ["GET"],
        "content_type": ["application/*", "*/text", "application/json; charset=UTF-8"],
        "vary_query_params": ["foo"],
        "vary_headers": ["foo"],
        "response_headers": {"age": false},
        "memory": {"dictionary_name": "kong"},
        "storage_ttl": 0,
    }))
    .unwrap();
    assert_eq!(c.request_method, vec![CacheMethod::Get]);
    assert!(!c.response_headers.age);
    assert!(c.response_headers.x_cache_key);
    // Render round-trips.
    assert_eq!(parse(c.render()).unwrap(), c);
}

#[test]
fn kong_schema_errors() {
    let e = |v| parse(v).unwrap_err();
    assert_eq!(e(json!({})), "config.strategy: required field missing");
    // Strategies other than memory (redis is Kong Enterprise's) fail closed.
    assert_eq!(
        e(json!({"strategy": "redis"})),
        "config.strategy: expected one of: memory"
    );
    assert_eq!(
        e(json!({"strategy": "memory", "response_code": [99]})),
        "config.response_code.1: value should be between 100 and 900"
    );
    assert_eq!(
        e(json!({"strategy": "memory", "response_code": []})),
        "config.response_code: length must be at least 1"
    );
    assert_eq!(
        e(json!({"strategy": "memory", "response_code": ""})),
        "config.response_code: expected an array"
    );
    assert_eq!(
        e(json!({"strategy": "memory", "response_code": [true, "alo", 123]})),
        "config.response_code.1: expected an integer"
    );
    assert_eq!(
        e(json!({"strategy": "memory", "response_code": [123.5]})),
        "config.response_code.1: expected an integer"
    );
    assert_eq!(
        e(json!({"strategy": "memory", "cache_ttl": -1})),
        "config.cache_ttl: value must be greater than 0"
    );
    assert_eq!(
        e(json!({"strategy": "memory", "cache_ttl": 0})),
        "config.cache_ttl: value must be greater than 0"
    );
    assert_eq!(
        e(json!({"strategy": "memory", "request_method": ["DELETE"]})),
        "config.request_method.1: expected one of: HEAD, GET, POST, PATCH, PUT"
    );
    assert_eq!(
        e(json!({"strategy": "memory", "storage_ttl": -1})),
        "config.storage_ttl: value must be at least 0"
    );
    assert_eq!(
        e(json!({"strategy": "memory", "memory": {"dictionary_name": ""}})),
        "config.memory.dictionary_name: length must be at least 1"
    );
    assert_eq!(
        e(json!({"strategy": "memory", "response_headers": {"X-Other": true}})),
        "config.response_headers.X-Other: unknown field"
    );
}
