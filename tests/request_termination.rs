//! Kong's `request-termination` plugin through the real proxy on loopback,
//! each test naming the case of Kong's
//! `spec/03-plugins/14-request-termination/02-access_spec.lua` it mirrors;
//! `request_termination/admin.rs` is the Admin API and kong.yml round trip,
//! `request_termination/consumer.rs` an instance held by one consumer.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

#[path = "request_termination/admin.rs"]
mod admin;
#[path = "request_termination/consumer.rs"]
mod consumer;

use kingress::model::{PathMatch, PathRegex};
use serde_json::{Value, json};
use support::auth::{get, plugin, start};
use support::oauth2::request;
use support::proxy::{TestProxy, route, service, table};
use support::upstream::Upstream;

async fn terminating(config: Value) -> (Upstream, TestProxy) {
    start(vec![plugin("request-termination", &config)], |_| {}).await
}

#[tokio::test]
async fn status_code_and_message() {
    // "default status code and message"
    let (up, proxy) = terminating(json!({})).await;
    let r = get(&proxy, "/api/status/200", &[]).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.body, json!({"message": "Service unavailable"}));
    // "returns server tokens with Server header"
    assert!(r.header("server").unwrap().starts_with("kingress/"));
    assert_eq!(up.requests(), 0);
    // "status code with default message"
    let (_up, proxy) = terminating(json!({"status_code": 404})).await;
    let r = get(&proxy, "/api", &[]).await;
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (404, json!({"message": "Not found"}))
    );
    // "status code with custom message"
    let (_up, proxy) = terminating(json!({"status_code": 406, "message": "Invalid"})).await;
    let r = get(&proxy, "/api", &[]).await;
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (406, json!({"message": "Invalid"}))
    );
    // "returns 204 without content length header"
    let (_up, proxy) = terminating(json!({"status_code": 204})).await;
    let r = get(&proxy, "/api", &[]).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.header("content-length"), None);
    // A status without a default message has no body.
    let (_up, proxy) = terminating(json!({"status_code": 418})).await;
    let r = get(&proxy, "/api", &[]).await;
    assert_eq!(r.status, 418);
    assert_eq!(r.body, Value::Null);
}

/// "default status code and message with serviceless route"
#[tokio::test]
async fn serviceless_route() {
    let mut r = route("api", &["/api"], "none");
    r.service = None;
    r.plugins = vec![plugin("request-termination", &json!({}))];
    let proxy = TestProxy::start(table(vec![r], vec![])).await;
    let r = get(&proxy, "/api", &[]).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.body, json!({"message": "Service unavailable"}));
}

#[tokio::test]
async fn status_code_and_body() {
    let html = "<html><body><h1>Service is down for maintenance</h1></body></html>";
    // "default status code and body": no content type configured, none sent.
    let (_up, proxy) = terminating(json!({"body": html})).await;
    let r = client_text(&proxy).await;
    assert_eq!(r.0, 503);
    assert_eq!(r.1, None);
    assert_eq!(r.2, html);
    // "status code with default message" (451 with a content type)
    let body = "<html><body><h1>Service is down due to content infringement</h1></body></html>";
    let (_up, proxy) =
        terminating(json!({"status_code": 451, "content_type": "text/html", "body": body})).await;
    let r = client_text(&proxy).await;
    assert_eq!(
        (r.0, r.1.as_deref(), r.2.as_str()),
        (451, Some("text/html"), body)
    );
    // "status code with custom message" (a JSON body as a string)
    let (_up, proxy) = terminating(
        json!({"status_code": 503, "body": "{\"code\": 1, \"message\": \"Service unavailable\"}"}),
    )
    .await;
    let r = get(&proxy, "/api", &[]).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.body, json!({"code": 1, "message": "Service unavailable"}));
}

/// Status, `Content-Type` and body text of `GET /api`.
async fn client_text(proxy: &TestProxy) -> (u16, Option<String>, String) {
    let r = support::client::http1()
        .get(proxy.http_url("/api"))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    (status, content_type, r.text().await.unwrap())
}

/// "echos a request if no trigger is set", on a regex route with a named
/// capture.
#[tokio::test]
async fn echo_without_trigger() {
    let up = Upstream::start("api").await;
    let mut r = route("api9", &[], "api");
    r.paths = vec![PathMatch::Regex(
        PathRegex::new("/(?<parameter>[^#?/]+)/200").unwrap(),
    )];
    r.plugins = vec![plugin(
        "request-termination",
        &json!({"echo": true, "status_code": 404}),
    )];
    let proxy = TestProxy::start(table(vec![r], vec![service("api", &[up.addr])])).await;
    let url = proxy.http_url("/status/200?hello=there");
    let reply = request(
        "GET",
        &url,
        &[("x-multi", "a"), ("x-multi", "b")],
        Some(("text/plain", "cool body")),
    )
    .await;
    assert_eq!(reply.status, 404);
    let json = &reply.body;
    assert_eq!(json["message"], "Not found");
    assert_eq!(json["matched_route"]["name"], "api9");
    assert_eq!(json["matched_service"]["name"], "api");
    assert_eq!(json["kong"]["worker_pid"], std::process::id());
    let mut echoed = json["request"].clone();
    let headers = echoed["headers"].as_object_mut().unwrap();
    headers.remove("user-agent");
    headers.remove("accept");
    let host = format!("127.0.0.1:{}", proxy.http.port());
    assert_eq!(
        echoed,
        json!({
            "headers": {"content-length": "9", "content-type": "text/plain", "host": host,
                        "x-multi": ["a", "b"]},
            "host": "127.0.0.1",
            "method": "GET",
            "path": "/status/200",
            "port": proxy.http.port(),
            "query": {"hello": "there"},
            "raw_body": "cool body",
            "scheme": "http",
            "uri_captures": {"named": {"parameter": "status"}, "unnamed": ["status"]},
        })
    );
    assert_eq!(up.requests(), 0);
}

#[tokio::test]
async fn echo_with_a_trigger() {
    let (up, proxy) =
        terminating(json!({"echo": true, "trigger": "gimme-an-echo", "status_code": 404})).await;
    // "doesn't echo a request if the trigger is set but not specified"
    let r = get(&proxy, "/api/status/200", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(up.requests(), 1);
    // "echos a request if the trigger is specified as a header"
    let r = get(
        &proxy,
        "/api?hello=there",
        &[("Gimme-An-Echo", "anything will do")],
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body["request"]["headers"]["gimme-an-echo"],
        "anything will do"
    );
    assert_eq!(r.body["request"]["query"], json!({"hello": "there"}));
    assert_eq!(
        r.body["request"]["uri_captures"],
        json!({"named": {}, "unnamed": []})
    );
    // "echos a request if the trigger is specified as a query parameter"
    // (a name without a value counts; Kong echoes it as `true`).
    let r = get(
        &proxy,
        "/api?hello=there&gimme-an-echo=anything+will+do&flag",
        &[],
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body["request"]["query"],
        json!({"hello": "there", "gimme-an-echo": "anything will do", "flag": true})
    );
    let r = get(&proxy, "/api?gimme-an-echo", &[]).await;
    assert_eq!(r.status, 404);
    // A JSON body is echoed parsed too.
    let r = request(
        "POST",
        &proxy.http_url("/api?gimme-an-echo=1"),
        &[],
        Some(("application/json", "{\"a\":[1,2]}")),
    )
    .await;
    assert_eq!(r.body["request"]["body"], json!({"a": [1, 2]}));
    assert_eq!(r.body["request"]["raw_body"], "{\"a\":[1,2]}");
    assert_eq!(up.requests(), 1);
}
