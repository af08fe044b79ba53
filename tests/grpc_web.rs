//! Kong's `grpc-web` plugin through the real proxy: gRPC-Web clients over
//! HTTP/1.1 (reqwest, raw frames as grpc-web's JS client sends them) in
//! front of a tonic gRPC upstream. Cases from
//! spec/03-plugins/32-grpc-web/01-proxy_spec.lua.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use kingress::model::{PathMatch, Scheme};
use prost::Message;
use serde_json::{Value, json};
use support::auth::plugin;
use support::client;
use support::grpc::{GrpcServer, Msg, frame};
use support::proxy::{TestProxy, route, service, table};

/// `/` (and `/prefix`, stripped) with grpc-web (`config`) to a gRPC
/// upstream.
async fn start(config: Value) -> (GrpcServer, TestProxy) {
    let up = GrpcServer::start("web").await;
    let mut svc = service("svc", &[up.addr]);
    svc.scheme = Scheme::Grpc;
    let mut root = route("root", &["/"], "svc");
    root.plugins = vec![plugin("grpc-web", &config)];
    let mut prefixed = route("prefixed", &["/prefix"], "svc");
    prefixed.paths = vec![PathMatch::Plain("/prefix".into())];
    prefixed.strip_path = true;
    prefixed.plugins = vec![plugin("grpc-web", &config)];
    let proxy = TestProxy::start(table(vec![prefixed, root], vec![svc])).await;
    (up, proxy)
}

async fn post(proxy: &TestProxy, path: &str, content_type: &str, body: Bytes) -> reqwest::Response {
    client::http1()
        .post(proxy.http_url(path))
        .header("content-type", content_type)
        .header("x-grpc-web", "1")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Splits a gRPC-Web body into its message frames and the trailer block.
fn split(mut body: &[u8]) -> (Vec<Msg>, String) {
    let mut messages = Vec::new();
    loop {
        assert!(body.len() >= 5, "frame header");
        let flag = body[0];
        let len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
        let payload = &body[5..5 + len];
        body = &body[5 + len..];
        if flag == 0x80 {
            assert!(body.is_empty(), "the trailer frame is the last");
            return (messages, String::from_utf8(payload.to_vec()).unwrap());
        }
        messages.push(Msg::decode(payload).unwrap());
    }
}

/// "Call binary gRPC via HTTP": the message, then Kong's trailer frame;
/// the upstream got `application/grpc` and `te: trailers`.
#[tokio::test]
async fn binary_calls_over_http1() {
    let (_up, proxy) = start(json!({})).await;
    let r = post(
        &proxy,
        "/test.Echo/Unary",
        "application/grpc-web+proto",
        frame(&Msg::text("heya")),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/grpc-web+proto");
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let (messages, trailers) = split(&r.bytes().await.unwrap());
    assert_eq!(trailers, "grpc-status:0\r\ngrpc-message:\r\n");
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].text, "heya");
    assert_eq!(messages[0].seen["content-type"], "application/grpc");
    assert_eq!(messages[0].seen["te"], "trailers");
}

/// "Call gRPC-base64 via HTTP": the text form both ways, the response's
/// message and trailer frames each base64 on its own (Kong's
/// HELLO_RESPONSE_TEXT_BODY shape).
#[tokio::test]
async fn text_calls_are_base64_both_ways() {
    let (_up, proxy) = start(json!({})).await;
    let body = STANDARD.encode(frame(&Msg::text("heya")));
    let r = post(
        &proxy,
        "/test.Echo/Unary",
        "application/grpc-web-text",
        body.into(),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/grpc-web-text");
    let text = r.text().await.unwrap();
    let trailer = STANDARD.encode(b"\x80\x00\x00\x00\x1egrpc-status:0\r\ngrpc-message:\r\n");
    assert_eq!(trailer, "gAAAAB5ncnBjLXN0YXR1czowDQpncnBjLW1lc3NhZ2U6DQo=");
    let message = text
        .strip_suffix(&trailer)
        .expect("the trailer frame ends the body");
    let (messages, _) = split(
        &[
            STANDARD.decode(message).unwrap(),
            STANDARD.decode(&trailer).unwrap(),
        ]
        .concat(),
    );
    assert_eq!(messages[0].text, "heya");
}

/// A server stream arrives as several message frames; an error status
/// (the upstream's trailers) ends in the trailer frame with its message.
#[tokio::test]
async fn streams_and_statuses_end_in_the_trailer_frame() {
    let (_up, proxy) = start(json!({})).await;
    let request = Msg {
        text: "s".into(),
        count: 3,
        code: tonic::Code::Aborted as i32,
        ..Msg::default()
    };
    let r = post(
        &proxy,
        "/test.Echo/Stream",
        "application/grpc-web+proto",
        frame(&request),
    )
    .await;
    let (messages, trailers) = split(&r.bytes().await.unwrap());
    let texts: Vec<_> = messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["s-0", "s-1", "s-2"]);
    assert!(
        trailers.starts_with("grpc-status:10\r\ngrpc-message:s\r\n"),
        "{trailers}"
    );
    assert!(trailers.contains("x-trailer:web\r\n"), "{trailers}");

    // A unary failure is Trailers-Only upstream: its status still becomes
    // the trailer frame.
    let request = Msg {
        text: "nope".into(),
        code: tonic::Code::PermissionDenied as i32,
        ..Msg::default()
    };
    let r = post(
        &proxy,
        "/test.Echo/Unary",
        "application/grpc-web+proto",
        frame(&request),
    )
    .await;
    let (messages, trailers) = split(&r.bytes().await.unwrap());
    assert!(messages.is_empty());
    assert_eq!(trailers, "grpc-status:7\r\ngrpc-message:nope\r\n");
}

/// The CORS preflight Kong answers itself, with `allow_origin_header`.
#[tokio::test]
async fn options_is_kongs_preflight() {
    let (up, proxy) = start(json!({"allow_origin_header": "https://app.example"})).await;
    let r = client::http1()
        .request(reqwest::Method::OPTIONS, proxy.http_url("/test.Echo/Unary"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example");
    assert_eq!(h["access-control-allow-methods"], "POST");
    assert_eq!(
        h["access-control-allow-headers"],
        "content-type,x-grpc-web,x-user-agent"
    );
    assert_eq!(h["content-type"], "application/grpc-web-text+proto");
    assert_eq!(r.text().await.unwrap(), "OK");
    drop(up);
}

/// Without `proto` only the gRPC-Web types are served: JSON (Kong's
/// transcoding) and anything else get Kong's 400.
#[tokio::test]
async fn other_content_types_need_a_proto_file() {
    let (_up, proxy) = start(json!({})).await;
    for content_type in [
        "application/json",
        "application/grpc-web+json",
        "text/plain",
    ] {
        let r = post(
            &proxy,
            "/test.Echo/Unary",
            content_type,
            Bytes::from_static(b"{}"),
        )
        .await;
        assert_eq!(r.status(), 400, "{content_type}");
        assert_eq!(
            r.text().await.unwrap(),
            "transcoding requests require a .proto file defining the service"
        );
    }
}

/// "Pass stripped URI": a gRPC upstream gets the client's path (nginx's
/// grpc_pass ignores strip_path) unless `pass_stripped_path` is set.
#[tokio::test]
async fn pass_stripped_path() {
    let (_up, proxy) = start(json!({})).await;
    let r = post(
        &proxy,
        "/prefix/test.Echo/Unary",
        "application/grpc-web+proto",
        frame(&Msg::text("x")),
    )
    .await;
    let (_, trailers) = split(&r.bytes().await.unwrap());
    assert!(trailers.starts_with("grpc-status:12\r\n"), "{trailers}");

    let (_up, proxy) = start(json!({"pass_stripped_path": true})).await;
    let r = post(
        &proxy,
        "/prefix/test.Echo/Unary",
        "application/grpc-web+proto",
        frame(&Msg::text("x")),
    )
    .await;
    let (messages, trailers) = split(&r.bytes().await.unwrap());
    assert_eq!(trailers, "grpc-status:0\r\ngrpc-message:\r\n");
    assert_eq!(messages[0].text, "x");
}
