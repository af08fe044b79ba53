//! Kong's gRPC route checks (spec/02-integration/05-proxy/19-grpc_proxy_spec.lua)
//! and the proxy's own answers as gRPC statuses.

use super::{grpc_route, grpc_service, grpc_table};
use crate::support::client;
use crate::support::grpc::{EchoClient, GrpcServer, Msg, frame, raw_call};
use crate::support::proxy::{TestProxy, table};
use kingress::model::Scheme;
use std::time::{Duration, Instant};
use tonic::Code;

/// "proxies grpc only if content-type is application/grpc": a plain HTTP
/// request on a gRPC route is 415; a gRPC call over HTTP/1.1 is asked to
/// upgrade (426); a plain-text call to a grpcs-only route is gRPC status 1.
#[tokio::test]
async fn grpc_routes_refuse_what_is_not_a_grpc_call() {
    let up = GrpcServer::start("g").await;
    let proxy = TestProxy::start(grpc_table(&[up.addr], Scheme::Grpc, &["grpc", "grpcs"])).await;
    let r = client::http2()
        .post(proxy.http_url("/test.Echo/Unary"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"message": "Non-gRPC request matched gRPC route"})
    );
    let r = client::http1()
        .post(proxy.http_url("/test.Echo/Unary"))
        .header("content-type", "application/grpc")
        .body(frame(&Msg::text("x")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 426);
    assert_eq!(r.headers()["upgrade"], "HTTP/2");
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"message": "Please use HTTP2 protocol"})
    );

    proxy
        .table
        .publish(grpc_table(&[up.addr], Scheme::Grpc, &["grpcs"]));
    let mut plain = EchoClient::plain(proxy.http).await;
    let status = plain
        .unary(tonic::Request::new(Msg::text("x")))
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), status.message()),
        (Code::Cancelled, "gRPC request matched gRPCs route")
    );
    let mut tls = EchoClient::tls(proxy.https, "grpc.example").await;
    assert!(tls.unary(tonic::Request::new(Msg::text("x"))).await.is_ok());
}

/// Kong's `HTTP_TO_GRPC_STATUS`: no route is NOT_FOUND, an upstream that
/// cannot be reached is UNAVAILABLE with Kong's message, no service is
/// UNAVAILABLE, each as gRPC's Trailers-Only answer the client reads.
#[tokio::test]
async fn the_proxys_own_answers_are_grpc_statuses() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = closed.local_addr().unwrap();
    drop(closed);
    let mut dead_route = grpc_route(&[]);
    dead_route.paths = vec![kingress::model::PathMatch::Plain("/test.Echo/".into())];
    let proxy = TestProxy::start(table(
        vec![dead_route],
        vec![grpc_service(&[dead], Scheme::Grpc)],
    ))
    .await;
    let mut client = EchoClient::plain(proxy.http).await;
    let status = client
        .unary(tonic::Request::new(Msg::text("x")))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    assert_eq!(
        status.message(),
        "An invalid response was received from the upstream server"
    );

    let mut other = grpc_route(&[]);
    other.paths = vec![kingress::model::PathMatch::Plain("/other.Service/".into())];
    proxy.table.publish(table(vec![other], vec![]));
    let status = client
        .unary(tonic::Request::new(Msg::text("x")))
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), status.message()),
        (Code::NotFound, "no Route matched with those values")
    );
    proxy.table.publish(table(vec![grpc_route(&[])], vec![]));
    let status = client
        .unary(tonic::Request::new(Msg::text("x")))
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), status.message()),
        (Code::Unavailable, "no Service found with those values")
    );
}

/// `grpc-timeout` bounds the wait for the upstream's answer when it is
/// shorter than the service's read timeout: DEADLINE_EXCEEDED well before
/// the 60 s read timeout, and the upstream got the header too.
#[tokio::test]
async fn a_grpc_deadline_shorter_than_the_read_timeout() {
    let up = GrpcServer::start("slow").await;
    let proxy = TestProxy::start(grpc_table(&[up.addr], Scheme::Grpc, &[])).await;
    // A raw HTTP/2 client: tonic would enforce the deadline itself.
    let started = Instant::now();
    let slow = Msg {
        delay_ms: 5_000,
        ..Msg::default()
    };
    let r = raw_call(
        proxy.http,
        "/test.Echo/Unary",
        &[("grpc-timeout", "300m")],
        &slow,
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(3));
    // gRPC's Trailers-Only form: HTTP 200, the status in the headers.
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "application/grpc");
    assert_eq!(r.grpc_status(), Some("4"));
    assert_eq!(
        r.headers["grpc-message"],
        "The upstream server is timing out"
    );
    assert!(r.body.is_empty() && r.headers_only);

    let mut client = EchoClient::plain(proxy.http).await;
    let mut request = tonic::Request::new(Msg::text("in time"));
    request
        .metadata_mut()
        .insert("grpc-timeout", "5S".parse().unwrap());
    let msg = client.unary(request).await.unwrap().into_inner();
    assert_eq!(msg.seen["grpc-timeout"], "5S");

    // A stream still running at the deadline is ended with trailers.
    let ticks = Msg {
        text: "tick".into(),
        count: 50,
        delay_ms: 100,
        ..Msg::default()
    };
    let r = raw_call(
        proxy.http,
        "/test.Echo/Stream",
        &[("grpc-timeout", "450m")],
        &ticks,
    )
    .await;
    assert_eq!(r.status, 200);
    let trailers = r.trailers.as_ref().expect("trailers end the stream");
    assert_eq!(trailers["grpc-status"], "4");
    assert_eq!(trailers["grpc-message"], "Deadline Exceeded");
    // Some messages made it before the deadline, not all.
    let received = message_count(&r.body);
    assert!((2..10).contains(&received), "{received}");

    // The proxy's own deadline, not the client's: a service read timeout
    // of 200 ms ends a slow call with DEADLINE_EXCEEDED (Kong's 504).
    let mut service = grpc_service(&[up.addr], Scheme::Grpc);
    service.read_timeout_ms = 200;
    proxy
        .table
        .publish(table(vec![grpc_route(&[])], vec![service]));
    let status = client
        .unary(tonic::Request::new(Msg {
            delay_ms: 3_000,
            ..Msg::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), status.message()),
        (Code::DeadlineExceeded, "The upstream server is timing out")
    );
}

/// The number of gRPC frames in `body`.
fn message_count(mut body: &[u8]) -> usize {
    let mut n = 0;
    while body.len() >= 5 {
        let len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
        body = &body[5 + len..];
        n += 1;
    }
    assert!(body.is_empty());
    n
}
