//! The proxy over real loopback sockets: a hand-built table, real hyper
//! upstreams, reqwest / rustls / tungstenite clients.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

#[path = "proxy/annotations.rs"]
mod annotations;
#[path = "proxy/authority.rs"]
mod authority;
#[path = "proxy/bodies.rs"]
mod bodies;
#[path = "proxy/headers.rs"]
mod headers;
#[path = "proxy/hygiene.rs"]
mod hygiene;
#[path = "proxy/kong_ingress.rs"]
mod kong_ingress;
#[path = "proxy/limits.rs"]
mod limits;
#[path = "proxy/normalise.rs"]
mod normalise;
#[path = "proxy/streams.rs"]
mod streams;
#[path = "proxy/tls.rs"]
mod tls;
#[path = "proxy/upstream_tls.rs"]
mod upstream_tls;
#[path = "proxy/upstreams.rs"]
mod upstreams;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Empty, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use kingress::model::{Certificate, HostMatch, Scheme, Sensitive, Table};
use kingress::plugins::TrustedIps;
use reqwest::Version;
use serde_json::{Value, json};
use std::convert::Infallible;
use support::client::{self, json};
use support::proxy::{TestProxy, route, service, source, table};
use support::upstream::{Upstream, closed_port, start_broken};
use tokio_tungstenite::tungstenite::Message;

/// One route `/` to one upstream.
async fn simple(up: &Upstream) -> TestProxy {
    TestProxy::start(table(
        vec![route("r", &["/"], "svc")],
        vec![service("svc", &[up.addr])],
    ))
    .await
}

fn header<'a>(echo: &'a Value, name: &str) -> &'a str {
    echo["headers"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no single {name} header in {echo}"))
}

#[tokio::test]
async fn no_route_is_kong_404() {
    let up = Upstream::start("a").await;
    let proxy = TestProxy::start(table(
        vec![route("r", &["/api"], "svc")],
        vec![service("svc", &[up.addr])],
    ))
    .await;
    let res = client::http1()
        .get(proxy.http_url("/other"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    assert!(
        res.headers()["server"]
            .to_str()
            .unwrap()
            .starts_with("kingress/")
    );
    assert_eq!(
        json(res).await,
        json!({"message": "no Route matched with those values"})
    );
}

#[tokio::test]
async fn plain_http1_and_h2c_reach_the_upstream_over_http1() {
    let up = Upstream::start("a").await;
    let proxy = simple(&up).await;
    for (client, version) in [
        (client::http1(), Version::HTTP_11),
        (client::http2(), Version::HTTP_2),
    ] {
        let res = client
            .post(proxy.http_url("/p/q?x=1&y=2"))
            .body("hello")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.version(), version);
        assert!(res.headers()["via"].to_str().unwrap().contains("kingress/"));
        let echo = json(res).await;
        assert_eq!(echo["upstream"], "a");
        assert_eq!(echo["method"], "POST");
        assert_eq!(echo["path"], "/p/q");
        assert_eq!(echo["query"], "x=1&y=2");
        assert_eq!(echo["body"], "hello");
        assert_eq!(echo["version"], "HTTP/1.1", "upstreams always get HTTP/1.1");
    }
}

/// Captures every log line of this test binary (installed once).
fn captured_logs() -> &'static std::sync::Mutex<Vec<u8>> {
    use std::sync::{Mutex, OnceLock};
    static LOGS: OnceLock<&'static Mutex<Vec<u8>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs: &'static Mutex<Vec<u8>> = Box::leak(Box::new(Mutex::new(Vec::new())));
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || Writer(logs))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        logs
    })
}

struct Writer(&'static std::sync::Mutex<Vec<u8>>);

impl std::io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_access_log_names_the_request_but_never_its_token() {
    let logs = captured_logs();
    let up = Upstream::start("a").await;
    let proxy = simple(&up).await;
    let res = client::http1()
        .get(proxy.http_url("/logged/path?access_token=QUERYSECRET123"))
        .header("authorization", "Bearer HEADERSECRET456")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The line is written before the response leaves the proxy.
    let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("kingress::access") && l.contains("/logged/path"))
        .unwrap_or_else(|| panic!("no access line in:\n{text}"));
    for field in [
        "method=\"GET\"",
        "status=200",
        "route=\"r\"",
        "consumer=\"-\"",
        "latency_ms=",
    ] {
        assert!(line.contains(field), "{field} missing in {line}");
    }
    assert!(
        !text.contains("QUERYSECRET123"),
        "query token logged:\n{text}"
    );
    assert!(
        !text.contains("HEADERSECRET456"),
        "header token logged:\n{text}"
    );
}
