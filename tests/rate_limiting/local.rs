//! The `local` policy in-process.

use super::{get, limited, plugin, within_one_window};
use crate::support::proxy::{TestProxy, route, service, table};
use crate::support::upstream::Upstream;
use kingress::plugins::TrustedIps;
use serde_json::{Value, json};

async fn start(config: Value) -> (Upstream, TestProxy) {
    start_routes(config, &["/test"]).await
}

async fn start_routes(config: Value, paths: &[&str]) -> (Upstream, TestProxy) {
    let up = Upstream::start("up").await;
    let r = limited(route("r", paths, "svc"), plugin("rl", &config));
    let proxy = TestProxy::start(table(vec![r], vec![service("svc", &[up.addr])])).await;
    (up, proxy)
}

/// Kong's `validate_headers`: six proxied requests counting down, then the
/// refusal with the same headers at zero and `Retry-After`.
async fn six_then_refused(proxy: &TestProxy, path: &str, headers: &[(&str, &str)]) {
    for i in 1..=6 {
        let r = get(&proxy.http_url(path), headers).await;
        assert_eq!(r.status, 200, "request {i}: {}", r.body);
        assert_eq!(r.body["upstream"], "up");
        assert_eq!(r.number("x-ratelimit-limit-minute"), 6);
        assert_eq!(r.number("x-ratelimit-remaining-minute"), 6 - i);
        assert_eq!(r.number("ratelimit-limit"), 6);
        assert_eq!(r.number("ratelimit-remaining"), 6 - i);
        let reset = r.number("ratelimit-reset");
        assert!((1..=60).contains(&reset), "{reset}");
        assert!(r.header("retry-after").is_none());
    }
    let r = get(&proxy.http_url(path), headers).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body, json!({"message": "API rate limit exceeded"}));
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(r.number("x-ratelimit-limit-minute"), 6);
    assert_eq!(r.number("x-ratelimit-remaining-minute"), 0);
    assert_eq!(r.number("ratelimit-remaining"), 0);
    let retry = r.number("retry-after");
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(r.number("ratelimit-reset"), retry);
}

#[tokio::test]
async fn blocks_if_exceeding_limit_single_ip_path_service_header() {
    // "blocks if exceeding limit (single ip|path|service|header)"
    within_one_window(60, 5).await;
    let (_up, p) = start(json!({"minute": 6, "limit_by": "ip"})).await;
    six_then_refused(&p, "/test", &[]).await;
    let (_up, p) = start(json!({"minute": 6, "limit_by": "path", "path": "/test"})).await;
    six_then_refused(&p, "/test", &[]).await;
    let (_up, p) = start(json!({"minute": 6, "limit_by": "service"})).await;
    six_then_refused(&p, "/test", &[]).await;
    let config = json!({"minute": 6, "limit_by": "header", "header_name": "test-header"});
    let (_up, p) = start(config).await;
    six_then_refused(&p, "/test", &[("test-header", "test")]).await;
}

#[tokio::test]
async fn limit_by_consumer_without_a_consumer_counts_the_ip() {
    // Kong's `get_identifier`: no consumer nor credential falls back to
    // the forwarded IP.
    within_one_window(60, 5).await;
    let (_up, p) = start(json!({"minute": 6})).await;
    six_then_refused(&p, "/test", &[]).await;
}

#[tokio::test]
async fn blocks_if_exceeding_limit_multiple_header() {
    // "blocks if exceeding limit (multiple header)": each value has its own
    // count; a request without the header counts by IP.
    within_one_window(3600, 5).await;
    let config = json!({"hour": 2, "limit_by": "header", "header_name": "test-header"});
    let (_up, p) = start(config).await;
    let url = p.http_url("/test");
    for value in ["a", "b"] {
        for _ in 0..2 {
            assert_eq!(get(&url, &[("test-header", value)]).await.status, 200);
        }
        assert_eq!(get(&url, &[("test-header", value)]).await.status, 429);
    }
    assert_eq!(get(&url, &[]).await.status, 200);
    assert_eq!(get(&url, &[]).await.status, 200);
    assert_eq!(get(&url, &[]).await.status, 429);
}

#[tokio::test]
async fn blocks_if_exceeding_limit_multiple_path() {
    // "blocks if exceeding limit (multiple path)": only the configured path
    // is counted by path; others count by IP, together.
    within_one_window(3600, 5).await;
    let config = json!({"hour": 2, "limit_by": "path", "path": "/test/a"});
    let (_up, p) = start_routes(config, &["/test"]).await;
    for _ in 0..2 {
        assert_eq!(get(&p.http_url("/test/a"), &[]).await.status, 200);
    }
    assert_eq!(get(&p.http_url("/test/a"), &[]).await.status, 429);
    assert_eq!(get(&p.http_url("/test/b"), &[]).await.status, 200);
    assert_eq!(get(&p.http_url("/test/c"), &[]).await.status, 200);
    assert_eq!(get(&p.http_url("/test/b"), &[]).await.status, 429);
}

#[tokio::test]
async fn blocks_if_exceeding_limit_multiple_ip() {
    // "blocks if exceeding limit (multiple ip)": X-Real-IP from a trusted
    // peer (Kong's `real_ip_header`) is the client; from others it is not.
    within_one_window(3600, 5).await;
    let up = Upstream::start("up").await;
    let r = limited(
        route("r", &["/test"], "svc"),
        plugin("rl", &json!({"hour": 1, "limit_by": "ip"})),
    );
    let trusted = TrustedIps::parse(&["127.0.0.0/8".to_string()]).unwrap();
    let settings = crate::support::proxy::Settings {
        trusted_ips: trusted,
        ..Default::default()
    };
    let t = table(vec![r], vec![service("svc", &[up.addr])]);
    let p = TestProxy::start_with(t, settings).await;
    let url = p.http_url("/test");
    for ip in ["10.0.0.1", "10.0.0.2"] {
        assert_eq!(get(&url, &[("x-real-ip", ip)]).await.status, 200);
        assert_eq!(get(&url, &[("x-real-ip", ip)]).await.status, 429);
    }
    // An untrusted peer's X-Real-IP is ignored.
    let (_up, p) = start(json!({"hour": 1, "limit_by": "ip"})).await;
    let url = p.http_url("/test");
    assert_eq!(get(&url, &[("x-real-ip", "10.0.0.1")]).await.status, 200);
    assert_eq!(get(&url, &[("x-real-ip", "10.0.0.2")]).await.status, 429);
}

#[tokio::test]
async fn hide_client_headers() {
    // "hide_client_headers (single ip)"
    within_one_window(3600, 5).await;
    let (_up, p) = start(json!({"hour": 1, "hide_client_headers": true})).await;
    let url = p.http_url("/test");
    let ok = get(&url, &[]).await;
    assert_eq!(ok.status, 200);
    let refused = get(&url, &[]).await;
    assert_eq!(refused.status, 429);
    for r in [&ok, &refused] {
        for name in [
            "x-ratelimit-limit-hour",
            "x-ratelimit-remaining-hour",
            "ratelimit-limit",
            "ratelimit-remaining",
            "ratelimit-reset",
            "retry-after",
        ] {
            assert!(r.header(name).is_none(), "{name}: {:?}", r.headers);
        }
    }
}

#[tokio::test]
async fn handles_multiple_limits() {
    // "handles multiple limits (single ip)": a header pair per window, and
    // the RateLimit-* headers follow the window with the least remaining.
    within_one_window(60, 5).await;
    let (_up, p) = start(json!({"minute": 6, "hour": 99999})).await;
    let url = p.http_url("/test");
    for i in 1..=6 {
        let r = get(&url, &[]).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.number("x-ratelimit-limit-hour"), 99999);
        assert_eq!(r.number("x-ratelimit-remaining-hour"), 99999 - i);
        assert_eq!(r.number("x-ratelimit-remaining-minute"), 6 - i);
        assert_eq!(r.number("ratelimit-limit"), 6);
    }
    let r = get(&url, &[]).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.number("x-ratelimit-remaining-minute"), 0);
    // Only the window that refused counts this request in its header.
    assert_eq!(r.number("x-ratelimit-remaining-hour"), 99999 - 6);
}

#[tokio::test]
async fn expire_counter() {
    // "expire counter": one per second, refused, then allowed again in the
    // next second.
    let (_up, p) = start(json!({"second": 1})).await;
    let url = p.http_url("/test");
    // Retried as Kong does: a second can turn between the two requests.
    let mut tries = 0;
    loop {
        tries += 1;
        let first = get(&url, &[]).await;
        let second = get(&url, &[]).await;
        if first.status == 200 && second.status == 429 {
            assert_eq!(first.number("ratelimit-limit"), 1);
            assert_eq!(first.number("ratelimit-remaining"), 0);
            assert_eq!(first.number("x-ratelimit-remaining-second"), 0);
            assert_eq!(second.number("retry-after"), 1);
            break;
        }
        assert!(tries < 5, "{} then {}", first.status, second.status);
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(get(&url, &[]).await.status, 200);
}

#[tokio::test]
async fn blocks_with_a_custom_error_code_and_message() {
    // "blocks with a custom error code and message"
    within_one_window(3600, 5).await;
    let config = json!({"hour": 1, "error_code": 404, "error_message": "Fake Not Found"});
    let (_up, p) = start(config).await;
    let url = p.http_url("/test");
    assert_eq!(get(&url, &[]).await.status, 200);
    let r = get(&url, &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body, json!({"message": "Fake Not Found"}));
    assert!(r.header("retry-after").is_some());
}

#[tokio::test]
async fn instances_count_apart() {
    // Two routes, two instances: each has its own counters (Kong keys them
    // by the plugin's route and service), and each header appears once.
    within_one_window(3600, 5).await;
    let up = Upstream::start("up").await;
    let a = limited(
        route("a", &["/a"], "svc"),
        plugin("rl-a", &json!({"hour": 1})),
    );
    let b = limited(
        route("b", &["/b"], "svc"),
        plugin("rl-b", &json!({"hour": 1})),
    );
    let p = TestProxy::start(table(vec![a, b], vec![service("svc", &[up.addr])])).await;
    assert_eq!(get(&p.http_url("/a"), &[]).await.status, 200);
    assert_eq!(get(&p.http_url("/a"), &[]).await.status, 429);
    let r = get(&p.http_url("/b"), &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers.get_all("ratelimit-limit").iter().count(), 1);
}

#[tokio::test]
async fn concurrent_requests_never_exceed_the_limit() {
    // Kong's local policy may overshoot under concurrency (it reads, then
    // increments in a timer); kingress counts in one step, so exactly the
    // limit gets through.
    within_one_window(3600, 10).await;
    let (_up, p) = start(json!({"hour": 20})).await;
    let url = p.http_url("/test");
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { get(&url, &[]).await.status })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            200 => ok += 1,
            429 => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ok, 20);
}

#[tokio::test]
async fn one_instance_counts_each_route_apart() {
    // Kong keys counters by the request's route and service, not by the
    // instance: one global (or consumer-wide) limit is counted per route.
    within_one_window(3600, 5).await;
    let up = Upstream::start("up").await;
    let shared = plugin("rl-global", &json!({"hour": 1}));
    let a = limited(route("a", &["/a"], "svc"), shared.clone());
    let b = limited(route("b", &["/b"], "svc"), shared);
    let p = TestProxy::start(table(vec![a, b], vec![service("svc", &[up.addr])])).await;
    assert_eq!(get(&p.http_url("/a"), &[]).await.status, 200);
    assert_eq!(get(&p.http_url("/a"), &[]).await.status, 429);
    assert_eq!(get(&p.http_url("/b"), &[]).await.status, 200);
    assert_eq!(get(&p.http_url("/b"), &[]).await.status, 429);
}
