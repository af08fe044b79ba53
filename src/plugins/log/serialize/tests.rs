//! Kong's `kong.log.serialize()` shape (spec/01-unit/10-log_serializer_spec.lua
//! and spec/03-plugins/03-http-log "redacts authorization").

use super::*;
use crate::plugins::log::fixture::{record, route};
use serde_json::json;

#[test]
fn kong_shape_of_a_proxied_request() {
    let r = record(
        route(&[]),
        "/p?a=1&b&a=2",
        &[("x-a", "1"), ("x-m", "1"), ("x-m", "2")],
    );
    let v = serialize(&r);
    assert_eq!(v["request"]["method"], "GET");
    assert_eq!(v["request"]["uri"], "/p?a=1&b&a=2");
    assert_eq!(v["request"]["url"], "http://example.test:8000/p?a=1&b&a=2");
    assert_eq!(
        v["request"]["querystring"],
        json!({"a": ["1", "2"], "b": true})
    );
    assert_eq!(
        v["request"]["headers"],
        json!({"x-a": "1", "x-m": ["1", "2"]})
    );
    assert_eq!(v["response"]["status"], 200);
    assert_eq!(v["response"]["headers"]["content-type"], "text/plain");
    assert_eq!(
        v["latencies"],
        json!({"kong": 20, "proxy": 30, "request": 50, "receive": 0})
    );
    assert_eq!(v["started_at"], 1_700_000_000_123_i64);
    assert_eq!(v["client_ip"], "192.0.2.7");
    assert_eq!(v["upstream_uri"], "/p?a=1&b&a=2");
    assert_eq!(v["upstream_status"], "200");
    assert_eq!(
        v["tries"],
        json!([{"ip": "10.0.0.1", "port": 8080, "balancer_latency": 0}])
    );
    assert_eq!(v["route"]["name"], "r");
    assert_eq!(v["source"], "service");
    assert_eq!(v["workspace_name"], "default");
    assert!(v.get("consumer").is_none() && v.get("tls").is_none());
    // Status line, two headers and 11 body bytes.
    let size = v["response"]["size"].as_u64().unwrap();
    assert_eq!(
        size,
        17 + ("content-type".len() + "text/plain".len() + 4) as u64 + 2 + 11
    );
}

#[test]
fn a_local_answer_has_no_upstream_facts() {
    let mut r = record(route(&[]), "/", &[]);
    r.response.upstream_latency = None;
    r.response.status = http::StatusCode::UNAUTHORIZED;
    let v = serialize(&r);
    assert_eq!(v["latencies"]["proxy"], -1);
    assert_eq!(v["latencies"]["kong"], 50);
    assert_eq!(v["source"], "exit");
    assert_eq!(v["upstream_status"], "");
    r.response.status = http::StatusCode::BAD_GATEWAY;
    assert_eq!(serialize(&r)["source"], "error");
}

#[test]
fn credentials_are_redacted_everywhere() {
    let route = route(&[
        ("key-auth", json!({"key_names": ["x-key", "k"]})),
        (
            "jwt",
            json!({"uri_param_names": ["tok"], "header_names": ["x-jwt"]}),
        ),
    ]);
    let uri = "/p?k=s1&tok=s2&access_token=s3&apikey=s4&keep=v";
    let mut r = record(
        route,
        uri,
        &[
            ("authorization", "Bearer s5"),
            ("proxy-authorization", "Basic s6"),
            ("cookie", "session=s7"),
            ("x-key", "s8"),
            ("x-jwt", "s9"),
            ("x-other", "v"),
        ],
    );
    r.response
        .response_headers
        .insert("set-cookie", http::HeaderValue::from_static("session=s10"));
    let v = serialize(&r);
    let text = v.to_string();
    for n in 1..=10 {
        assert!(
            !text.contains(&format!("s{n}\"")) && !text.contains(&format!("s{n}&")),
            "s{n} leaked: {text}"
        );
    }
    let h = &v["request"]["headers"];
    for name in [
        "authorization",
        "proxy-authorization",
        "cookie",
        "x-key",
        "x-jwt",
    ] {
        assert_eq!(h[name], REDACTED, "{name}");
    }
    assert_eq!(h["x-other"], "v");
    assert_eq!(v["response"]["headers"]["set-cookie"], REDACTED);
    let q = &v["request"]["querystring"];
    assert_eq!(q["k"], REDACTED);
    assert_eq!(q["tok"], REDACTED);
    assert_eq!(q["keep"], "v");
    let redacted = "/p?k=REDACTED&tok=REDACTED&access_token=REDACTED&apikey=REDACTED&keep=v";
    assert_eq!(v["request"]["uri"], redacted);
    assert_eq!(v["upstream_uri"], redacted);
    assert!(v["request"]["url"].as_str().unwrap().ends_with(redacted));
}

#[test]
fn the_consumer_and_credential_id_are_logged() {
    let mut r = record(route(&[]), "/", &[]);
    r.request.authenticated = Some(crate::plugins::Authenticated {
        consumer: std::sync::Arc::new(crate::model::Consumer {
            id: "c-id".into(),
            username: Some("alice".into()),
            custom_id: None,
            groups: Vec::new(),
            source: crate::model::ObjectRef::new("KongConsumer", "default", "alice"),
            header_values: Default::default(),
        }),
        credential: Some("key-id".into()),
        anonymous: false,
    });
    let v = serialize(&r);
    assert_eq!(
        v["consumer"],
        json!({"id": "c-id", "username": "alice", "custom_id": null})
    );
    assert_eq!(
        v["authenticated_entity"],
        json!({"id": "key-id", "consumer_id": "c-id"})
    );
}
