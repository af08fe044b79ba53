//! Kong's `response-transformer` through the real proxy on loopback,
//! following `spec/03-plugins/15-response-transformer/04-filter_spec.lua`
//! and `05-big_response_body_spec.lua`. The recording upstream answers
//! with a JSON echo of the request; `/response-headers?…` adds headers.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

use kingress::plugins::response_transformer::BODY_LIMIT;
use serde_json::{Value, json};
use support::auth::{consumer, credential, plugin, start};
use support::oauth2::{Reply, request};
use support::proxy::TestProxy;
use support::upstream::Upstream;

async fn with(config: Value) -> (Upstream, TestProxy) {
    start(vec![plugin("response-transformer", &config)], |_| {}).await
}

async fn send(proxy: &TestProxy, method: &str, path: &str, body: Option<(&str, &str)>) -> Reply {
    request(method, &proxy.http_url(path), &[], body).await
}

/// A raw HTTP/1.1 exchange, so the framing the client gets can be seen:
/// the header lines (`name: value`) and the de-chunked body.
async fn raw(proxy: &TestProxy, path: &str) -> (String, String) {
    raw_method(proxy, "GET", path).await
}

async fn raw_method(proxy: &TestProxy, method: &str, path: &str) -> (String, String) {
    let req = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let r = support::client::raw_http1(proxy.http, req.as_bytes()).await;
    let head: Vec<String> = r.headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
    (
        head.join("\n"),
        String::from_utf8_lossy(&r.body).into_owned(),
    )
}

#[tokio::test]
async fn json_body_and_headers() {
    let (_up, proxy) = with(json!({
        "remove": {"headers": ["Access-Control-Allow-Origin"], "json": ["upstream"]},
        "replace": {"json": ["method:/hello/world", "version:this is a / test", "path:\"wot\""]},
        "add": {"json": ["p1:v1", "n:-1"], "json_types": ["string", "number"],
                "headers": ["x-added:a", "x-kept:new"]},
        "append": {"headers": ["x-kept:more"]},
        "rename": {"headers": ["x-old:x-new"]},
    }))
    .await;
    // "remove a parameter" / "remove a header" / "replace a body parameter"
    let r = send(
        &proxy,
        "GET",
        "/api/response-headers?access-control-allow-origin=*&x-kept=old&x-old=1",
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.body.get("upstream").is_none());
    assert_eq!(r.body["method"], "/hello/world");
    assert_eq!(r.body["version"], "this is a / test");
    assert_eq!(r.body["path"], "\"wot\"");
    assert_eq!(r.body["p1"], "v1");
    assert_eq!(r.body["n"], -1);
    assert!(r.headers.get("access-control-allow-origin").is_none());
    assert_eq!(r.headers["x-added"], "a");
    let kept: Vec<_> = r.headers.get_all("x-kept").iter().collect();
    assert_eq!(kept, ["old", "more"]);
    assert!(r.headers.get("x-old").is_none());
    assert_eq!(r.headers["x-new"], "1");
}

#[tokio::test]
async fn edited_body_is_sent_without_its_old_length() {
    let (_up, proxy) = with(json!({"add": {"json": ["p1:v1"]}})).await;
    let (head, body) = raw(&proxy, "/api/x").await;
    // Kong clears Content-Length: the edited body goes chunked.
    assert!(!head.contains("content-length:"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(body.contains("\"p1\":\"v1\""), "{body}");
    // HEAD: no body to edit, and the length of the GET's stays.
    let (head, body) = raw_method(&proxy, "HEAD", "/api/x").await;
    assert!(head.contains("content-length:"), "{head}");
    assert!(body.is_empty(), "{body}");
    // Not JSON: untouched, with its length.
    let (head, body) = raw(&proxy, "/api/response-headers?content-type=text/plain").await;
    assert!(head.contains("content-length:"), "{head}");
    assert!(!body.contains("p1"), "{body}");
}

#[tokio::test]
async fn header_only_configurations_leave_the_body_alone() {
    // "body remains unaltered if no transforms have been set"
    let (_up, proxy) = with(json!({"remove": {"headers": ["h1"]}})).await;
    let (head, _) = raw(&proxy, "/api/x").await;
    assert!(head.contains("content-length:"), "{head}");
}

#[tokio::test]
async fn large_bodies() {
    let (_up, proxy) =
        with(json!({"add": {"json": ["p1:v1"]}, "remove": {"json": ["params"]}})).await;
    // "add new parameters on large POST" (1 MiB)
    let big = json!({"big_field": "*".repeat(1024 * 1024)}).to_string();
    let r = send(
        &proxy,
        "POST",
        "/api/post",
        Some(("application/json", &big)),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["p1"], "v1");
    assert_eq!(r.body["body"].as_str().unwrap().len(), big.len());
    // Past the bound the body passes through unchanged (here found while
    // reading: the echo is longer than the request it carries).
    let bigger = "*".repeat(BODY_LIMIT);
    let r = send(&proxy, "POST", "/api/post", Some(("text/plain", &bigger))).await;
    assert_eq!(r.status, 200);
    assert!(r.body.get("p1").is_none());
    assert_eq!(r.body["body"].as_str().unwrap().len(), BODY_LIMIT);
}

#[tokio::test]
async fn local_answers_keep_their_status() {
    // "does not throw an error when request was short-circuited in access
    // phase"
    let (_up, proxy) = start(
        vec![
            plugin("key-auth", &json!({})),
            plugin(
                "response-transformer",
                &json!({"add": {"json": ["p1:v1"]}, "remove": {"json": ["message"]}}),
            ),
        ],
        |t| {
            let id = consumer(t, "bob");
            credential(
                t,
                kingress::model::CredentialType::KeyAuth,
                &id,
                json!({"key": "k"}),
            );
        },
    )
    .await;
    let r = send(&proxy, "GET", "/api", None).await;
    assert_eq!(r.status, 401);
    let r = send(&proxy, "GET", "/api?apikey=k", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["p1"], "v1");
}
