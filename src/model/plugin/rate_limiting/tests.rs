//! Kong's `spec/03-plugins/23-rate-limiting/01-schema_spec.lua` and
//! `06-shorthand_fields_spec.lua` cases, plus defaults and rendering.

use super::*;
use crate::model::plugin::schema::Schema;
use serde_json::{Value, json};

fn parse(v: Value) -> Result<RateLimitingConfig, String> {
    RateLimitingConfig::parse(&v).map_err(|e| e.to_string())
}

#[test]
fn proper_configs_validate() {
    // "proper config validates" / "(bis)" / "(header)" / "(path)"
    let c = parse(json!({"second": 10})).unwrap();
    assert_eq!(c.limits, vec![(Period::Second, 10.0)]);
    let c =
        parse(json!({"second": 10, "minute": 20, "hour": 30, "day": 40, "month": 50, "year": 60}))
            .unwrap();
    assert_eq!(c.limits.len(), 6);
    assert_eq!(c.limit(Period::Year), Some(60.0));
    let c =
        parse(json!({"second": 10, "limit_by": "header", "header_name": "X-App-Version"})).unwrap();
    assert_eq!(c.limit_by, LimitBy::Header);
    let c = parse(json!({"second": 10, "limit_by": "path", "path": "/request"})).unwrap();
    assert_eq!(c.path.as_deref(), Some("/request"));
}

#[test]
fn defaults_follow_kong() {
    let c = parse(json!({"minute": 5})).unwrap();
    assert_eq!(c.limit_by, LimitBy::Consumer);
    assert_eq!(c.policy, Policy::Local);
    assert!(c.fault_tolerant);
    assert!(!c.hide_client_headers);
    assert_eq!(c.error_code, 429);
    assert_eq!(c.error_message, "API rate limit exceeded");
    assert_eq!(c.sync_rate, -1.0);
    assert!(c.realtime());
    assert_eq!(c.redis.port, 6379);
    assert_eq!(c.redis.timeout, 2000);
    assert_eq!(c.redis.database, 0);
    // The defaults plus one limit parse to the same config.
    let mut d = RateLimitingConfig::defaults();
    d.insert("minute".into(), json!(5));
    assert_eq!(parse(Value::Object(d)).unwrap(), c);
}

#[test]
fn larger_windows_may_not_have_smaller_limits() {
    assert_eq!(
        parse(json!({"second": 20, "hour": 10})).unwrap_err(),
        "config: The limit for hour(10.0) cannot be lower than the limit for second(20.0)"
    );
    assert_eq!(
        parse(json!({"second": 10, "minute": 20, "hour": 30, "day": 40, "month": 60, "year": 50}))
            .unwrap_err(),
        "config: The limit for year(50.0) cannot be lower than the limit for month(60.0)"
    );
}

#[test]
fn at_least_one_limit() {
    assert_eq!(
        parse(json!({})).unwrap_err(),
        "config: at least one of these fields must be non-empty: 'config.second', \
         'config.minute', 'config.hour', 'config.day', 'config.month', 'config.year'"
    );
    assert_eq!(
        parse(json!({"minute": 0})).unwrap_err(),
        "config.minute: value must be greater than 0"
    );
}

#[test]
fn header_and_path_are_required_when_limited_by_them() {
    assert_eq!(
        parse(json!({"second": 10, "limit_by": "header"})).unwrap_err(),
        "config.header_name: required field missing"
    );
    assert_eq!(
        parse(json!({"second": 10, "limit_by": "path"})).unwrap_err(),
        "config.path: required field missing"
    );
    assert_eq!(
        parse(json!({"second": 10, "path": "nope"})).unwrap_err(),
        "config.path: should start with: /"
    );
    assert!(
        parse(json!({"second": 10, "header_name": "a b"}))
            .unwrap_err()
            .starts_with("config.header_name: bad header name 'a b'")
    );
    assert_eq!(
        parse(json!({"second": 10, "limit_by": "consumer-group"})).unwrap_err(),
        "config.limit_by: expected one of: consumer, credential, ip, service, header, path"
    );
}

#[test]
fn cluster_policy_is_refused_as_db_less_kong_refuses_it() {
    assert_eq!(
        parse(json!({"second": 10, "policy": "cluster"})).unwrap_err(),
        "config.policy: expected one of: local, redis"
    );
}

#[test]
fn redis_policy_needs_a_host() {
    // "verifies that redis required fields are supplied"
    assert_eq!(
        parse(json!({"minute": 10, "policy": "redis"})).unwrap_err(),
        "config.redis.host: required field missing"
    );
    let c = parse(json!({
        "minute": 10, "policy": "redis",
        "redis": {"host": "redis.example", "port": 6380, "username": "u", "password": "p",
                  "database": 2, "timeout": 1100, "ssl": true, "ssl_verify": true,
                  "server_name": "redis.example"}
    }))
    .unwrap();
    assert_eq!(c.redis.host.as_deref(), Some("redis.example"));
    assert_eq!(c.redis.port, 6380);
    assert_eq!(c.redis.database, 2);
    assert_eq!(c.redis.timeout, 1100);
    assert!(c.redis.ssl && c.redis.ssl_verify);
    assert_eq!(
        parse(json!({"minute": 1, "redis": {"port": 70000}})).unwrap_err(),
        "config.redis.port: value should be between 0 and 65535"
    );
    assert_eq!(
        parse(json!({"minute": 1, "redis": {"bogus": 1}})).unwrap_err(),
        "config.redis.bogus: unknown field"
    );
}

#[test]
fn sync_rate_rules() {
    assert_eq!(
        parse(json!({"minute": 1, "sync_rate": 1})).unwrap_err(),
        "config: sync_rate can only be used with the redis policy"
    );
    let redis = json!({"host": "localhost"});
    assert_eq!(
        parse(json!({"minute": 1, "policy": "redis", "redis": redis, "sync_rate": 0.01}))
            .unwrap_err(),
        "config: sync_rate must be greater than 0.02, or -1 to disable"
    );
    let c =
        parse(json!({"minute": 1, "policy": "redis", "redis": redis, "sync_rate": 0.5})).unwrap();
    assert!(!c.realtime());
}

#[test]
fn legacy_redis_fields_map_into_redis() {
    // 06-shorthand_fields_spec: the flat fields land in `redis` and are
    // printed back under both names.
    let c = parse(json!({
        "minute": 100, "policy": "redis",
        "redis_host": "custom-host.example.test", "redis_port": 55000,
        "redis_username": "test1", "redis_password": "testX", "redis_database": 1,
        "redis_timeout": 1100, "redis_ssl": true, "redis_ssl_verify": true,
        "redis_server_name": "example.test"
    }))
    .unwrap();
    assert_eq!(c.redis.host.as_deref(), Some("custom-host.example.test"));
    assert_eq!(c.redis.port, 55000);
    assert_eq!(c.redis.username.as_deref(), Some("test1"));
    assert_eq!(c.redis.password.as_ref().map(|p| p.expose()), Some("testX"));
    assert_eq!(c.redis.database, 1);
    assert_eq!(c.redis.timeout, 1100);
    assert_eq!(c.redis.server_name.as_deref(), Some("example.test"));
    let printed = c.render();
    assert_eq!(printed["redis"]["port"], 55000);
    assert_eq!(printed["redis_port"], 55000);
    assert_eq!(printed["redis_host"], "custom-host.example.test");
    // Same value under both names is fine; different values are Kong's error.
    assert!(parse(json!({"minute": 1, "redis_port": 7000, "redis": {"port": 7000}})).is_ok());
    assert_eq!(
        parse(json!({"minute": 1, "redis_port": 7000, "redis": {"port": 7001}})).unwrap_err(),
        "config.redis_port: both deprecated and new field are used but their values \
         mismatch: redis_port = 7000 vs redis.port = 7001"
    );
    let err =
        parse(json!({"minute": 1, "redis_password": "a", "redis": {"password": "b"}})).unwrap_err();
    assert!(!err.contains("= a ") && !err.contains("= b"), "{err}");
}

#[test]
fn render_masks_the_password_and_prints_whole_numbers() {
    let c = parse(json!({
        "second": 2.5, "minute": 60, "policy": "redis", "sync_rate": 1,
        "redis": {"host": "r", "password": "s3cret"}
    }))
    .unwrap();
    let r = c.render();
    assert_eq!(r["second"], json!(2.5));
    assert_eq!(r["minute"], json!(60));
    assert_eq!(r["hour"], Value::Null);
    assert_eq!(r["sync_rate"], json!(1));
    assert_eq!(r["redis"]["password"], "[redacted]");
    assert_eq!(r["redis_password"], "[redacted]");
    assert!(!format!("{c:?}").contains("s3cret"));
    // What is printed parses back to the same config (kong.yml round trip),
    // the masked password aside.
    let mut again = r.clone();
    again["redis"]["password"] = json!("s3cret");
    again["redis_password"] = json!("s3cret");
    assert_eq!(parse(again).unwrap(), c);
}

#[test]
fn error_code_must_be_a_status() {
    assert_eq!(
        parse(json!({"minute": 1, "error_code": 0})).unwrap_err(),
        "config.error_code: value must be greater than 0"
    );
    assert!(parse(json!({"minute": 1, "error_code": 1000})).is_err());
    assert_eq!(
        parse(json!({"minute": 1, "error_code": 503}))
            .unwrap()
            .error_code,
        503
    );
}

#[test]
fn shorthands_fold_before_defaults_and_conflicts_stay() {
    let mut given = json!({"minute": 1, "redis_port": 7000})
        .as_object()
        .unwrap()
        .clone();
    RateLimitingConfig::fold_shorthands(&mut given);
    assert_eq!(
        Value::Object(given),
        json!({"minute": 1, "redis": {"port": 7000}})
    );
    let mut conflict = json!({"minute": 1, "redis_port": 7000, "redis": {"port": 1}})
        .as_object()
        .unwrap()
        .clone();
    let before = conflict.clone();
    RateLimitingConfig::fold_shorthands(&mut conflict);
    assert_eq!(conflict, before);
}
