//! Which host a request is routed by, and which hosts are refused: raw
//! HTTP/1.x over TCP and HTTP/2 through hyper's client. Three routes on one
//! upstream, each service setting its own upstream `Host`, so the echo
//! names the route: `secure.test`, `other.test`, and one without hosts.

use super::*;
use support::client::{RawResponse, h2c, raw_http1};

async fn start() -> (Upstream, TestProxy) {
    let up = Upstream::start("echo").await;
    let mut routes = Vec::new();
    let mut services = Vec::new();
    for (name, host) in [
        ("secure", Some("secure.test")),
        ("other", Some("other.test")),
        ("any", None),
    ] {
        let mut r = route(name, &["/"], name);
        r.hosts = host.into_iter().map(HostMatch::parse).collect();
        routes.push(r);
        let mut s = service(name, &[up.addr]);
        s.host_header = Some(format!("{name}.internal"));
        services.push(s);
    }
    let proxy = TestProxy::start(table(routes, services)).await;
    (up, proxy)
}

async fn send(proxy: &TestProxy, head: &str) -> RawResponse {
    raw_http1(proxy.http, format!("{head}\r\n\r\n").as_bytes()).await
}

/// The route (`<name>.internal`) the request reached.
#[track_caller]
fn reached(res: &RawResponse) -> String {
    assert_eq!(res.status, 200, "{:?}", res.json());
    let echo = res.json();
    echo["headers"]["host"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[track_caller]
fn assert_refused(res: &RawResponse, what: &str) {
    assert_eq!(res.status, 400, "{what}: {:?}", res.json());
    assert_eq!(res.json(), json!({"message": "Bad request"}), "{what}");
}

#[tokio::test]
async fn absolute_form_routes_by_its_authority_not_by_host() {
    let (_up, proxy) = start().await;
    let res = send(
        &proxy,
        "GET /p HTTP/1.1\r\nHost: other.test\r\nConnection: close",
    )
    .await;
    assert_eq!(reached(&res), "other.internal");
    let res = send(
        &proxy,
        "GET http://secure.test/p HTTP/1.1\r\nHost: other.test\r\nConnection: close",
    )
    .await;
    assert_eq!(reached(&res), "secure.internal");
    let echo = res.json();
    assert_eq!(echo["path"], "/p");
    assert_eq!(echo["headers"]["x-forwarded-host"], "secure.test");
    // Case, a port and the DNS root's trailing dot do not change the host.
    let res = send(
        &proxy,
        "GET /p HTTP/1.1\r\nHost: SECURE.test.:8000\r\nConnection: close",
    )
    .await;
    assert_eq!(reached(&res), "secure.internal");
}

#[tokio::test]
async fn http_1_1_needs_exactly_one_host_http_1_0_none() {
    let (_up, proxy) = start().await;
    for (what, head) in [
        ("no Host", "GET /p HTTP/1.1\r\nConnection: close"),
        (
            "absolute-form without Host",
            "GET http://secure.test/p HTTP/1.1\r\nConnection: close",
        ),
        (
            "two equal Hosts",
            "GET /p HTTP/1.1\r\nHost: secure.test\r\nHost: secure.test\r\nConnection: close",
        ),
        (
            "two Hosts",
            "GET /p HTTP/1.1\r\nHost: other.test\r\nHost: secure.test\r\nConnection: close",
        ),
        (
            "HTTP/1.0 with two Hosts",
            "GET /p HTTP/1.0\r\nHost: other.test\r\nHost: secure.test",
        ),
    ] {
        assert_refused(&send(&proxy, head).await, what);
    }
    // HTTP/1.0 may name no host: the host-less route serves it.
    let res = send(&proxy, "GET /p HTTP/1.0").await;
    assert_eq!(reached(&res), "any.internal");
    let res = send(&proxy, "GET /p HTTP/1.0\r\nHost: secure.test").await;
    assert_eq!(reached(&res), "secure.internal");
}

#[tokio::test]
async fn invalid_hosts_are_refused() {
    let (_up, proxy) = start().await;
    for host in [
        "a/../x",
        "secure.test/x",
        "a b",
        "user@secure.test",
        "",
        "secure.test:99999",
        "secure.test:8o",
        "secure.test,other.test",
        "secure..test",
        "[::1",
        "secure.test\\x",
    ] {
        let head = format!("GET /p HTTP/1.1\r\nHost: {host}\r\nConnection: close");
        assert_refused(&send(&proxy, &head).await, &format!("Host: {host:?}"));
    }
    for target in ["http://user@secure.test/p", "http://secure.test:99999/p"] {
        let head = format!("GET {target} HTTP/1.1\r\nHost: secure.test\r\nConnection: close");
        assert_refused(&send(&proxy, &head).await, target);
    }
}

#[tokio::test]
async fn http2_authority_wins_over_host() {
    let (_up, proxy) = start().await;
    let request = |uri: &str, hosts: &[&str]| {
        let mut builder = http::Request::get(uri);
        for host in hosts {
            builder = builder.header("host", *host);
        }
        builder.body(Empty::<Bytes>::new()).unwrap()
    };
    let (status, echo) = h2c(proxy.http, request("http://secure.test/p", &["other.test"])).await;
    assert_eq!(status, 200, "{echo}");
    assert_eq!(echo["headers"]["host"], "secure.internal");
    assert_eq!(echo["headers"]["x-forwarded-host"], "secure.test");
    let (status, echo) = h2c(proxy.http, request("http://other.test/p", &[])).await;
    assert_eq!(status, 200, "{echo}");
    assert_eq!(echo["headers"]["host"], "other.internal");
    for (uri, hosts) in [
        ("http://user@secure.test/p", &[][..]),
        ("http://secure.test/p", &["a.test", "b.test"][..]),
        ("http://secure.test/p", &["a/../x"][..]),
    ] {
        let (status, echo) = h2c(proxy.http, request(uri, hosts)).await;
        assert_eq!(status, 400, "{uri} {hosts:?}: {echo}");
        assert_eq!(echo, json!({"message": "Bad request"}), "{uri} {hosts:?}");
    }
}
