//! Kong's `request-size-limiting` plugin through the real proxy on
//! loopback, each test naming the case of Kong's
//! `spec/03-plugins/12-request-size-limiting/01-access_spec.lua` it mirrors
//! (`TEST_SIZE` = 2 of each unit). Chunked bodies go over raw sockets, so
//! no client library adds a length; `request_size_limiting/admin.rs` is the
//! Admin API and kong.yml round trip.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

#[path = "request_size_limiting/admin.rs"]
mod admin;

use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use support::auth::{plugin, start};
use support::oauth2::request;
use support::raw::{RawResponse, parse};
use support::upstream::Upstream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MB: usize = 1 << 20;
const KB: usize = 1 << 10;
const EXCEEDED: &str = "Request size limit exceeded";

async fn limited(config: Value) -> (Upstream, support::proxy::TestProxy) {
    start(vec![plugin("request-size-limiting", &config)], |_| {}).await
}

/// `POST /api` with a body of `len` bytes and its `Content-Length`.
async fn post(proxy: &support::proxy::TestProxy, len: usize) -> support::oauth2::Reply {
    let body = "a".repeat(len);
    request(
        "POST",
        &proxy.http_url("/api"),
        &[],
        Some(("text/plain", &body)),
    )
    .await
}

/// A chunked body of one chunk of `len` bytes.
fn chunked(len: usize) -> Vec<u8> {
    let mut body = format!("{len:x}\r\n").into_bytes();
    body.extend(std::iter::repeat_n(b'a', len));
    body.extend_from_slice(b"\r\n0\r\n\r\n");
    body
}

/// Sends `head` then `body` on a new connection (the writer may be cut off
/// by an early answer), half-closes when `close`, and reads the response.
async fn raw(addr: SocketAddr, head: &str, body: Vec<u8>, close: bool) -> RawResponse {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = head.to_string();
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(head.as_bytes()).await;
        let _ = writer.write_all(&body).await;
        if close {
            let _ = writer.shutdown().await;
        }
        writer
    });
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), reader.read_to_end(&mut bytes))
        .await
        .expect("no response within 20 s")
        .unwrap();
    drop(writing);
    // A chunked body with `Expect: 100-continue` is asked for (it has to be
    // read to be counted): skip the interim answer.
    let interim = b"HTTP/1.1 100 Continue\r\n\r\n";
    parse(bytes.strip_prefix(interim.as_slice()).unwrap_or(&bytes))
}

fn chunked_head(extra: &str) -> String {
    format!(
        "POST /api HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n{extra}Connection: close\r\n\r\n"
    )
}

#[tokio::test]
async fn with_content_length() {
    let (up, proxy) = limited(json!({"allowed_payload_size": 2})).await;
    // "works if size is lower than limit"
    let r = post(&proxy, 2 * MB).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["body"].as_str().unwrap().len(), 2 * MB);
    // "blocks if size is greater than limit", before the upstream.
    let r = post(&proxy, 2 * MB + 1).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.body, json!({"message": EXCEEDED}));
    assert_eq!(up.requests(), 1);
    // "blocks if size is greater than limit and Expect header": 417, and
    // the body is never asked for (no `100 Continue`).
    let head = format!(
        "POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        2 * MB + 1
    );
    let r = raw(proxy.http, &head, Vec::new(), false).await;
    assert_eq!(r.status, 417, "{r:?}");
    assert!(!r.head.contains("100 Continue"), "{}", r.head);
    assert_eq!(r.json(), json!({"message": EXCEEDED}));
    assert_eq!(up.requests(), 1);
}

#[tokio::test]
async fn every_unit() {
    for (unit, factor) in [("megabytes", MB), ("kilobytes", KB), ("bytes", 1)] {
        let (up, proxy) = limited(json!({"allowed_payload_size": 2, "size_unit": unit})).await;
        // "blocks if size is greater than limit when unit in …"
        assert_eq!(post(&proxy, 2 * factor + 1).await.status, 413, "{unit}");
        // "works if size is less than limit when unit in …"
        assert_eq!(post(&proxy, 2 * factor - 1).await.status, 200, "{unit}");
        // Chunked: "blocks …" / "works if size is less than limit …"
        let r = raw(
            proxy.http,
            &chunked_head(""),
            chunked(2 * factor + 1),
            false,
        )
        .await;
        assert_eq!(r.status, 413, "{unit} {r:?}");
        let r = raw(proxy.http, &chunked_head(""), chunked(2 * factor), false).await;
        assert_eq!(r.status, 200, "{unit} {r:?}");
        assert_eq!(r.json()["body"].as_str().unwrap().len(), 2 * factor);
        // Over-limit bodies under the read-ahead never reach the upstream.
        let reached = if factor == MB { 3 } else { 2 };
        assert_eq!(up.requests(), reached, "{unit}");
    }
}

/// "without Content-Length (chunked request body)": small ones are decided
/// before the upstream; a body past the read-ahead streams and is cut off
/// at the limit, the upstream never getting a complete request.
#[tokio::test]
async fn chunked_bodies() {
    let (up, proxy) = limited(json!({"allowed_payload_size": 2, "size_unit": "kilobytes"})).await;
    // "[request body size < nginx_http_client_body_buffer_size] … and Expect header"
    let r = raw(
        proxy.http,
        &chunked_head("Expect: 100-continue\r\n"),
        chunked(2 * KB + 1),
        false,
    )
    .await;
    assert_eq!(r.status, 417, "{r:?}");
    assert_eq!(r.json(), json!({"message": EXCEEDED}));
    let r = raw(
        proxy.http,
        &chunked_head("Expect: 100-continue\r\n"),
        chunked(2 * KB),
        false,
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(up.requests(), 1);

    // "[request body size > nginx_http_client_body_buffer_size]": 2 MB.
    let (up, proxy) = limited(json!({"allowed_payload_size": 2})).await;
    let r = raw(proxy.http, &chunked_head(""), chunked(2 * MB + 1), false).await;
    assert_eq!(r.status, 413, "{r:?}");
    assert_eq!(r.json(), json!({"message": EXCEEDED}));
    let r = raw(
        proxy.http,
        &chunked_head("Expect: 100-continue\r\n"),
        chunked(2 * MB + 1),
        false,
    )
    .await;
    assert_eq!(r.status, 417, "{}", r.head);
    let r = raw(proxy.http, &chunked_head(""), chunked(2 * MB), false).await;
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.json()["body"].as_str().unwrap().len(), 2 * MB);
    // Many small chunks count the same as one.
    let mut many = Vec::new();
    for _ in 0..(2 * MB / 1000 + 1) {
        many.extend_from_slice(b"3e8\r\n");
        many.extend(std::iter::repeat_n(b'b', 1000));
        many.extend_from_slice(b"\r\n");
    }
    many.extend_from_slice(b"0\r\n\r\n");
    let r = raw(proxy.http, &chunked_head(""), many, false).await;
    assert_eq!(r.status, 413, "{}", r.head);
    // The streamed ones reached the upstream, none of them complete.
    assert!(up.requests() >= 2, "{}", up.requests());
}

#[tokio::test]
async fn content_length_required() {
    let (up, proxy) =
        limited(json!({"allowed_payload_size": 2, "require_content_length": true})).await;
    // "blocks if header is not provided"
    let r = raw(
        proxy.http,
        "GET /api HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Vec::new(),
        false,
    )
    .await;
    assert_eq!(r.status, 411, "{r:?}");
    assert_eq!(
        r.json(),
        json!({"message": "A valid Content-Length header is required"})
    );
    // A length, or chunked framing, is what it asks for.
    assert_eq!(post(&proxy, 10).await.status, 200);
    let r = raw(proxy.http, &chunked_head(""), chunked(10), false).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(up.requests(), 2);
}

/// Bodies lying about their size never reach the upstream whole: a
/// `Content-Length` next to chunked framing, a chunk shorter than its
/// declared size, a non-numeric length.
#[tokio::test]
async fn lying_bodies() {
    let (up, proxy) = limited(json!({"allowed_payload_size": 2, "size_unit": "kilobytes"})).await;
    let head = "POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    let r = raw(proxy.http, head, chunked(4 * KB), false).await;
    assert!(matches!(r.status, 400 | 413), "{r:?}");
    let mut short = b"10000\r\n".to_vec();
    short.extend(std::iter::repeat_n(b'a', 100));
    let r = raw(proxy.http, &chunked_head(""), short, true).await;
    assert_eq!(r.status, 400, "{r:?}");
    let head = "POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\nConnection: close\r\n\r\n";
    let r = raw(proxy.http, head, b"abc".to_vec(), false).await;
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(up.requests(), 0);
}
