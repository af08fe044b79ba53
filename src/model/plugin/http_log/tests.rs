//! Kong's spec/03-plugins/03-http-log/02-schema_spec.lua, case by case.

use super::*;
use serde_json::json;

fn err(v: Value) -> String {
    HttpLogConfig::parse(&v).unwrap_err().to_string()
}

const URL: &str = "http://myservice.test/path";

#[test]
fn accepts_minimal_config_with_defaults() {
    let c = HttpLogConfig::parse(&json!({"http_endpoint": URL})).unwrap();
    assert_eq!(c.method, "POST");
    assert_eq!(c.timeout, 10_000.0);
    assert_eq!(c.queue, QueueConfig::default());
    let d = Value::Object(HttpLogConfig::defaults());
    assert_eq!(d["content_type"], "application/json");
    assert_eq!(d["keepalive"], 60000.0);
    assert_eq!(d["queue"]["max_entries"], 10000);
    assert_eq!(d["queue"]["max_bytes"], Value::Null);
    assert_eq!(d["custom_fields_by_lua"], Value::Null);
}

#[test]
fn accepts_empty_headers_with_username_password_in_the_endpoint() {
    let c = json!({"http_endpoint": "http://bob:secret@myservice.test/path", "headers": {}});
    let parsed = HttpLogConfig::parse(&c).unwrap();
    let (uri, userinfo) = parsed.endpoint().unwrap();
    assert_eq!(uri.to_string(), URL);
    assert_eq!(userinfo.as_deref(), Some("bob:secret"));
    // Neither the Admin API nor Debug shows the password.
    assert_eq!(
        parsed.render()["http_endpoint"],
        "http://bob:[redacted]@myservice.test/path"
    );
    assert!(!format!("{parsed:?}").contains("secret"));
}

#[test]
fn custom_fields_by_lua_is_refused_clearly() {
    assert_eq!(
        err(json!({"http_endpoint": URL, "custom_fields_by_lua": {"foo": "return 'bar'"}})),
        "config.custom_fields_by_lua: Lua code is not supported by kingress (fields foo); remove custom_fields_by_lua"
    );
    assert!(
        HttpLogConfig::parse(&json!({"http_endpoint": URL, "custom_fields_by_lua": {}})).is_ok()
    );
}

#[test]
fn header_rules() {
    let h = |name: &str, value: &str| err(json!({"http_endpoint": URL, "headers": {name: value}}));
    assert!(
        HttpLogConfig::parse(&json!({"http_endpoint": URL, "headers": {"X-My-Header": "123"}}))
            .is_ok()
    );
    assert_eq!(
        h("X-My-Header", ""),
        "config.headers: length must be at least 1"
    );
    assert_eq!(
        h("Host", "MyHost"),
        "config.headers: cannot contain 'Host' header"
    );
    assert_eq!(
        h("coNTEnt-Length", "123"),
        "config.headers: cannot contain 'Content-Length' header"
    );
    assert_eq!(
        h("coNTEnt-Type", "bad"),
        "config.headers: cannot contain 'Content-Type' header"
    );
    assert_eq!(
        err(
            json!({"http_endpoint": "http://hi:there@myservice.test/path",
                   "headers": {"AuthoRIZATion": "bad"}})
        ),
        "config: specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed"
    );
    // Header values are credentials: masked when printed.
    let c = HttpLogConfig::parse(&json!({"http_endpoint": URL, "headers": {"X-Token": "t0k"}}))
        .unwrap();
    assert_eq!(c.render()["headers"]["X-Token"], "[redacted]");
}

#[test]
fn converts_legacy_queue_parameters() {
    let c = HttpLogConfig::parse(&json!({
        "http_endpoint": URL, "retry_count": 23, "queue_size": 46, "flush_timeout": 92
    }))
    .unwrap();
    let q = c.effective_queue();
    assert_eq!(q.max_batch_size, 46);
    assert_eq!(q.max_coalescing_delay, 92.0);
    // Their old defaults change nothing.
    let c =
        HttpLogConfig::parse(&json!({"http_endpoint": URL, "queue_size": 1, "flush_timeout": 2}))
            .unwrap();
    assert_eq!(c.effective_queue(), QueueConfig::default());
}

#[test]
fn field_rules() {
    assert_eq!(
        err(json!({})),
        "config.http_endpoint: required field missing"
    );
    assert_eq!(
        err(json!({"http_endpoint": "myservice.test"})),
        "config.http_endpoint: missing scheme in url"
    );
    assert_eq!(
        err(json!({"http_endpoint": "ftp://x.test/"})),
        "config.http_endpoint: unsupported scheme 'ftp' in url"
    );
    assert_eq!(
        err(json!({"http_endpoint": URL, "method": "GET"})),
        "config.method: expected one of: POST, PUT, PATCH"
    );
    assert_eq!(
        err(json!({"http_endpoint": URL, "content_type": "text/plain"})),
        "config.content_type: expected one of: application/json, application/json; charset=utf-8"
    );
    assert_eq!(
        err(json!({"http_endpoint": URL, "queue": {"concurrency_limit": 0}})),
        "config.queue.concurrency_limit: expected one of: -1, 1"
    );
    assert_eq!(
        err(json!({"http_endpoint": URL, "queue": {"nope": 1}})),
        "config.queue.nope: unknown field"
    );
}
