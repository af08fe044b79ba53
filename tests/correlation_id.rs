//! Kong's `correlation-id` plugin through the real proxy on loopback, each
//! test naming the case of Kong's
//! `spec/03-plugins/11-correlation-id/01-access_spec.lua` it mirrors;
//! `correlation_id/standalone.rs` runs the binary: the access log's
//! `request_id`, kong.yml and the Admin API.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

#[path = "correlation_id/standalone.rs"]
mod standalone;

use regex::Regex;
use serde_json::{Value, json};
use support::auth::{get, plugin, start, upstream_header};
use support::proxy::{TestProxy, route, service, table};
use support::upstream::closed_port;

const UUID: &str = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

async fn with(config: Value) -> (support::upstream::Upstream, TestProxy) {
    start(vec![plugin("correlation-id", &config)], |_| {}).await
}

fn matches(pattern: &str, value: &str) -> bool {
    Regex::new(&format!("^{pattern}$")).unwrap().is_match(value)
}

#[tokio::test]
async fn uuid_counter_increments_the_counter_part() {
    // "uuid-worker generator: increments the counter part"
    let (_up, proxy) = with(json!({})).await;
    let first = get(&proxy, "/api", &[]).await;
    let second = get(&proxy, "/api", &[]).await;
    let id1 = upstream_header(&first, "kong-request-id")
        .unwrap()
        .to_string();
    let id2 = upstream_header(&second, "kong-request-id")
        .unwrap()
        .to_string();
    assert!(matches(&format!("{UUID}#[0-9]+"), &id1), "{id1}");
    let (uuid1, n1) = id1.split_once('#').unwrap();
    let (uuid2, n2) = id2.split_once('#').unwrap();
    assert_eq!(uuid1, uuid2, "one UUID per process");
    assert_eq!(n2.parse::<u64>().unwrap(), n1.parse::<u64>().unwrap() + 1);
    // "echo_downstream does not send uuid back to client if not asked"
    assert_eq!(second.header("kong-request-id"), None);
}

#[tokio::test]
async fn uuid_and_tracker_generators() {
    // "uuid generator: generates a unique UUID for every request"
    let (_up, proxy) = with(json!({"generator": "uuid"})).await;
    let a = get(&proxy, "/api", &[]).await;
    let b = get(&proxy, "/api", &[]).await;
    let (a, b) = (
        upstream_header(&a, "kong-request-id").unwrap(),
        upstream_header(&b, "kong-request-id").unwrap(),
    );
    assert!(matches(UUID, a) && matches(UUID, b), "{a} {b}");
    assert_ne!(a, b);
    // "tracker generator: generates a unique tracker id for every request":
    // server address, port, pid, connection, request on it, time.
    let (_up, proxy) = with(json!({"generator": "tracker"})).await;
    let client = support::client::http1();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let r: Value = client
            .get(proxy.http_url("/api"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(
            r["headers"]["kong-request-id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let pattern = format!(
        r"127\.0\.0\.1-{}-{}-([0-9]+)-([0-9]+)-[0-9]+\.[0-9]{{3}}",
        proxy.http.port(),
        std::process::id()
    );
    let re = Regex::new(&format!("^{pattern}$")).unwrap();
    let parts: Vec<(u64, u64)> = ids
        .iter()
        .map(|id| {
            let c = re
                .captures(id)
                .unwrap_or_else(|| panic!("{id} !~ {pattern}"));
            (c[1].parse().unwrap(), c[2].parse().unwrap())
        })
        .collect();
    // One kept-alive connection: same connection, next request.
    assert_eq!(parts[0].0, parts[1].0);
    assert_eq!(parts[1].1, parts[0].1 + 1);
}

#[tokio::test]
async fn echo_downstream_and_custom_header_names() {
    // "echo_downstream sends uuid back to client"
    let (_up, proxy) = with(json!({"generator": "uuid", "echo_downstream": true})).await;
    let r = get(&proxy, "/api", &[]).await;
    let upstream_id = upstream_header(&r, "kong-request-id").unwrap();
    assert!(matches(UUID, upstream_id));
    assert_eq!(r.header("kong-request-id"), Some(upstream_id));
    // "uses a custom header name"
    let (_up, proxy) = with(json!({"header_name": "Foo-Bar-Id", "generator": "uuid"})).await;
    let r = get(&proxy, "/api", &[]).await;
    assert!(matches(UUID, upstream_header(&r, "foo-bar-id").unwrap()));
    assert_eq!(upstream_header(&r, "kong-request-id"), None);
}

/// "echo_downstream sends uuid back to client even when upstream timeouts"
#[tokio::test]
async fn echo_downstream_on_a_failed_upstream() {
    let mut r = route("api", &["/api"], "api");
    r.plugins = vec![plugin(
        "correlation-id",
        &json!({"generator": "uuid", "echo_downstream": true}),
    )];
    let proxy =
        TestProxy::start(table(vec![r], vec![service("api", &[closed_port().await])])).await;
    let r = get(&proxy, "/api", &[]).await;
    assert_eq!(r.status, 502);
    assert!(matches(UUID, r.header("kong-request-id").unwrap()));
}

#[tokio::test]
async fn an_existing_header_is_preserved_unless_blank() {
    let (_up, proxy) = with(json!({"echo_downstream": true})).await;
    // "preserves an already existing header"
    let r = get(&proxy, "/api", &[("kong-request-id", "foobar")]).await;
    assert_eq!(upstream_header(&r, "kong-request-id"), Some("foobar"));
    assert_eq!(r.header("kong-request-id"), Some("foobar"));
    // "does not preserve an already existing empty header" / "… with space only"
    for blank in ["", " "] {
        let r = get(&proxy, "/api", &[("kong-request-id", blank)]).await;
        let id = upstream_header(&r, "kong-request-id").unwrap();
        assert!(matches(&format!("{UUID}#[0-9]+"), id), "{id:?}");
        assert_eq!(r.header("kong-request-id"), Some(id));
    }
}

/// The id reaches later plugins: request-termination's echo shows it.
#[tokio::test]
async fn later_plugins_see_the_id() {
    let (_up, proxy) = start(
        vec![
            plugin(
                "request-termination",
                &json!({"echo": true, "status_code": 200}),
            ),
            plugin("correlation-id", &json!({"generator": "uuid"})),
        ],
        |_| {},
    )
    .await;
    let r = get(&proxy, "/api", &[]).await;
    assert_eq!(r.status, 200);
    let id = r.body["request"]["headers"]["kong-request-id"]
        .as_str()
        .unwrap();
    assert!(matches(UUID, id), "{}", r.body);
}
