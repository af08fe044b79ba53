//! Kong's `http-log` through the real proxy on loopback, sending to a real
//! log server on loopback (`support::log_receiver`). Cases from Kong's
//! `spec/03-plugins/03-http-log/01-log_spec.lua`, named per test.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

use base64::Engine;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::auth::{get, plugin};
use support::log_receiver::LogReceiver;
use support::proxy::{TestProxy, route, service, table};
use support::upstream::Upstream;

/// One route `/` to a recording upstream with http-log `config`.
async fn with(config: Value) -> (Upstream, TestProxy) {
    let up = Upstream::start("api").await;
    let mut r = route("api", &["/"], "api");
    r.plugins = vec![plugin("http-log", &config)];
    let t = table(vec![r], vec![service("api", &[up.addr])]);
    (up, TestProxy::start(t).await)
}

#[tokio::test]
async fn logs_to_http() {
    // "logs to HTTP"
    let mut server = LogReceiver::start(0).await;
    let (_up, proxy) = with(json!({"http_endpoint": server.url("/post_log/http")})).await;
    let reply = get(&proxy, "/p?q=1", &[("x-probe", "1")]).await;
    assert_eq!(reply.status, 200);
    let got = server.next().await;
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, "/post_log/http");
    assert_eq!(got.headers["content-type"], "application/json");
    let entry = got.json();
    assert_eq!(entry["request"]["method"], "GET");
    assert_eq!(entry["request"]["uri"], "/p?q=1");
    assert_eq!(entry["request"]["querystring"], json!({"q": "1"}));
    assert_eq!(entry["request"]["headers"]["x-probe"], "1");
    assert_eq!(entry["response"]["status"], 200);
    assert_eq!(entry["route"]["name"], "api");
    assert_eq!(entry["service"]["name"], "api");
    assert_eq!(entry["client_ip"], "127.0.0.1");
    assert!(entry["latencies"]["request"].as_i64().unwrap() >= 0);
    assert!(entry["latencies"]["proxy"].as_i64().unwrap() >= 0);
    assert!(entry["response"]["size"].as_u64().unwrap() > 0);
    assert!(entry["started_at"].as_i64().unwrap() > 1_600_000_000_000);
}

#[tokio::test]
async fn method_and_content_type_as_configured() {
    // "logs to HTTP with content-type 'application/json; charset=utf-8'"
    // and the PUT method.
    let mut server = LogReceiver::start(0).await;
    let (_up, proxy) = with(json!({
        "http_endpoint": server.url("/log"), "method": "PUT",
        "content_type": "application/json; charset=utf-8"
    }))
    .await;
    get(&proxy, "/", &[]).await;
    let got = server.next().await;
    assert_eq!(got.method, "PUT");
    assert_eq!(
        got.headers["content-type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(got.json()["response"]["status"], 200);
}

#[tokio::test]
async fn userinfo_becomes_basic_auth_and_headers_are_sent() {
    // "adds authorization if userinfo and/or header is present" and
    // "should log to HTTP with custom headers"
    let mut server = LogReceiver::start(0).await;
    let url = server
        .url("/log")
        .replace("http://", "http://testuser:testpassword@");
    let (_up, proxy) = with(json!({"http_endpoint": url, "headers": {"X-Log-Token": "t0k"}})).await;
    get(&proxy, "/", &[]).await;
    let got = server.next().await;
    let basic = base64::engine::general_purpose::STANDARD.encode("testuser:testpassword");
    assert_eq!(
        got.headers["authorization"],
        format!("Basic {basic}").as_str()
    );
    assert_eq!(got.headers["x-log-token"], "t0k");
}

#[tokio::test]
async fn credentials_are_redacted_in_the_entry() {
    // "redacts Authorization header" (Kong 3), extended to the other
    // credential carriers.
    let mut server = LogReceiver::start(0).await;
    let (_up, proxy) = with(json!({"http_endpoint": server.url("/log")})).await;
    get(
        &proxy,
        "/?access_token=sekrit1&apikey=sekrit2",
        &[
            ("authorization", "Bearer sekrit3"),
            ("cookie", "s=sekrit4"),
            ("proxy-authorization", "Basic sekrit5"),
        ],
    )
    .await;
    let got = server.next().await;
    let text = String::from_utf8_lossy(&got.body).into_owned();
    assert!(!text.contains("sekrit"), "{text}");
    let entry = got.json();
    assert_eq!(entry["request"]["headers"]["authorization"], "REDACTED");
    assert_eq!(entry["request"]["querystring"]["access_token"], "REDACTED");
}

#[tokio::test]
async fn batches_are_sent_as_json_arrays() {
    // "should log a batch of entries" (queue.max_batch_size > 1)
    let mut server = LogReceiver::start(0).await;
    let (_up, proxy) = with(json!({
        "http_endpoint": server.url("/log"),
        "queue": {"max_batch_size": 3, "max_coalescing_delay": 2}
    }))
    .await;
    for i in 0..3 {
        get(&proxy, &format!("/n{i}"), &[]).await;
    }
    let got = server.next().await;
    let batch = got.json();
    let uris: Vec<&str> = batch
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["request"]["uri"].as_str().unwrap())
        .collect();
    assert_eq!(uris, ["/n0", "/n1", "/n2"]);
    assert!(server.quiet_for(Duration::from_millis(300)).await);
}

#[tokio::test]
async fn a_failing_log_server_is_retried_with_backoff() {
    // "retries on failure" (Kong's queue: initial_retry_delay doubling)
    let mut server = LogReceiver::start(2).await;
    let (_up, proxy) = with(json!({
        "http_endpoint": server.url("/log"),
        "queue": {"initial_retry_delay": 0.1, "max_retry_delay": 1}
    }))
    .await;
    get(&proxy, "/once", &[]).await;
    let first = server.next().await;
    let second = server.next().await;
    let third = server.next().await;
    assert_eq!((first.status, second.status, third.status), (500, 500, 200));
    assert_eq!(first.body, third.body, "the same entry is sent again");
    assert!(second.at - first.at >= Duration::from_millis(100));
    assert!(third.at - second.at >= Duration::from_millis(200));
    assert!(server.quiet_for(Duration::from_millis(300)).await);
}

#[tokio::test]
async fn an_unreachable_log_server_never_slows_the_proxy() {
    // Kong's queue never blocks the request; past max_entries the oldest
    // entries are dropped and counted.
    let closed = support::upstream::closed_port().await;
    let (_up, proxy) = with(json!({
        "http_endpoint": format!("http://{closed}/log"),
        "timeout": 5000,
        "queue": {"max_entries": 2, "initial_retry_delay": 5}
    }))
    .await;
    let started = Instant::now();
    for _ in 0..6 {
        assert_eq!(get(&proxy, "/", &[]).await.status, 200);
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    // One entry in flight, two waiting: the other three were dropped.
    let dropped = proxy.runtime.http_log.dropped();
    assert!((3..=4).contains(&dropped), "{dropped} dropped");
}

#[tokio::test]
async fn each_configuration_has_its_own_queue() {
    // "one queue per plugin instance configuration"
    let mut a = LogReceiver::start(0).await;
    let mut b = LogReceiver::start(0).await;
    let up = Upstream::start("api").await;
    let mut ra = route("a", &["/a"], "api");
    ra.plugins = vec![plugin("http-log", &json!({"http_endpoint": a.url("/log")}))];
    let mut rb = route("b", &["/b"], "api");
    rb.plugins = vec![plugin("http-log", &json!({"http_endpoint": b.url("/log")}))];
    let proxy = TestProxy::start(table(vec![ra, rb], vec![service("api", &[up.addr])])).await;
    get(&proxy, "/a", &[]).await;
    get(&proxy, "/b", &[]).await;
    assert_eq!(a.next().await.json()["route"]["name"], "a");
    assert_eq!(b.next().await.json()["route"]["name"], "b");
}
