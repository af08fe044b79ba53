//! The four kinds of gRPC call through the proxy, on both listeners and
//! to both kinds of gRPC upstream.

use super::grpc_table;
use crate::support::grpc::{EchoClient, GrpcServer, Msg, raw_call};
use crate::support::proxy::TestProxy;
use kingress::model::Scheme;
use std::time::Duration;
use tonic::Code;

/// Unary, server-streaming, client-streaming and bidirectional calls, with
/// a client on `client` and the upstream reached as `scheme`.
async fn four_kinds(mut client: EchoClient, server: &str) {
    let mut request = tonic::Request::new(Msg::text("hi"));
    request
        .metadata_mut()
        .insert("x-custom", "meta".parse().unwrap());
    let response = client.unary(request).await.unwrap();
    assert_eq!(response.metadata().get("x-header").unwrap(), "unary");
    assert_eq!(response.metadata().get("x-server").unwrap(), server);
    let msg = response.into_inner();
    assert_eq!(msg.text, "hi");
    // Metadata reaches the upstream, with te: trailers and the path intact.
    assert_eq!(msg.seen["x-custom"], "meta");
    assert_eq!(msg.seen["te"], "trailers");
    assert!(msg.seen.contains_key("x-forwarded-for"), "{:?}", msg.seen);

    let request = Msg {
        text: "s".into(),
        count: 5,
        ..Msg::default()
    };
    let mut stream = client
        .stream(tonic::Request::new(request))
        .await
        .unwrap()
        .into_inner();
    let mut texts = Vec::new();
    while let Some(msg) = stream.message().await.unwrap() {
        texts.push(msg.text);
    }
    assert_eq!(texts, ["s-0", "s-1", "s-2", "s-3", "s-4"]);

    let outgoing = futures::stream::iter(["a", "b", "c"].map(Msg::text));
    let joined = client.collect(outgoing).await.unwrap().into_inner();
    assert_eq!(joined.text, "a,b,c");

    // Bidirectional: each answer arrives before the next message is sent,
    // so nothing is buffered on the way in either direction.
    let (tx, rx) = tokio::sync::mpsc::channel::<Msg>(1);
    let mut answers = client
        .chat(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    for word in ["one", "two", "three"] {
        tx.send(Msg::text(word)).await.unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(5), answers.message())
            .await
            .expect("the echo arrives while the request stream is open")
            .unwrap()
            .unwrap();
        assert_eq!(answer.text, format!("echo:{word}"));
    }
    drop(tx);
    assert!(answers.message().await.unwrap().is_none());
}

#[tokio::test]
async fn every_kind_of_call_over_h2c_to_a_grpc_upstream() {
    let up = GrpcServer::start("plain").await;
    let proxy = TestProxy::start(grpc_table(&[up.addr], Scheme::Grpc, &["grpc", "grpcs"])).await;
    four_kinds(EchoClient::plain(proxy.http).await, "plain").await;
}

#[tokio::test]
async fn every_kind_of_call_over_tls_to_a_grpcs_upstream() {
    let up = GrpcServer::start_tls("tls").await;
    let proxy = TestProxy::start(grpc_table(&[up.addr], Scheme::Grpcs, &["grpcs"])).await;
    four_kinds(EchoClient::tls(proxy.https, "grpc.example").await, "tls").await;
}

/// A stream ending in an error: its status, message and custom trailer
/// reach the client after the messages (trailers pass through).
#[tokio::test]
async fn trailers_and_statuses_pass_through() {
    let up = GrpcServer::start("trailing").await;
    let proxy = TestProxy::start(grpc_table(&[up.addr], Scheme::Grpc, &[])).await;
    let mut client = EchoClient::plain(proxy.http).await;
    let request = Msg {
        text: "bad".into(),
        count: 2,
        code: Code::FailedPrecondition as i32,
        ..Msg::default()
    };
    let mut stream = client
        .stream(tonic::Request::new(request))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stream.message().await.unwrap().unwrap().text, "bad-0");
    assert_eq!(stream.message().await.unwrap().unwrap().text, "bad-1");
    let status = stream.message().await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(status.message(), "bad");
    assert_eq!(status.metadata().get("x-trailer").unwrap(), "trailing");

    // A unary failure is a Trailers-Only response from the upstream.
    let request = Msg {
        text: "not here".into(),
        code: Code::NotFound as i32,
        ..Msg::default()
    };
    let status = client
        .unary(tonic::Request::new(request))
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), status.message()),
        (Code::NotFound, "not here")
    );

    // An unknown method: the upstream answers at once, Trailers-Only,
    // without reading the request body (grpcio and tonic both do).
    for _ in 0..20 {
        let status = client
            .unary_at("/test.Echo/Missing", tonic::Request::new(Msg::text("x")))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented);
        assert_eq!(status.message(), "no such method");
    }
    // gRPC C-core (grpcio) needs that answer to stay one HEADERS frame with
    // END_STREAM; an empty DATA frame after it reads as "Stream removed".
    let r = raw_call(proxy.http, "/test.Echo/Missing", &[], &Msg::text("x")).await;
    assert_eq!(r.grpc_status(), Some("12"));
    assert!(r.headers_only);
    let r = raw_call(proxy.http, "/test.Echo/Unary", &[], &Msg::text("x")).await;
    assert!(!r.headers_only && r.trailers.is_some());
}

/// gRPC's default message limit is 4 MiB; a message that size crosses the
/// proxy both ways intact (flow control, no whole-body buffering limit).
#[tokio::test]
async fn a_four_mebibyte_message_both_ways() {
    let up = GrpcServer::start("big").await;
    let proxy = TestProxy::start(grpc_table(&[up.addr], Scheme::Grpc, &[])).await;
    let mut client = EchoClient::plain(proxy.http).await;
    let payload: Vec<u8> = (0..4 * 1024 * 1024 - 64).map(|i| (i % 251) as u8).collect();
    let request = Msg {
        payload: payload.clone(),
        ..Msg::default()
    };
    let msg = client
        .unary(tonic::Request::new(request))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(msg.payload.len(), payload.len());
    assert!(msg.payload == payload);
}

/// Many concurrent calls share few upstream connections (HTTP/2
/// multiplexing) and all succeed.
#[tokio::test]
async fn concurrent_calls_are_multiplexed() {
    let up = GrpcServer::start("many").await;
    let proxy = TestProxy::start(grpc_table(&[up.addr], Scheme::Grpc, &[])).await;
    let client = EchoClient::plain(proxy.http).await;
    let calls = (0..200).map(|i| {
        let mut client = client.clone();
        async move {
            let request = Msg {
                text: format!("c{i}"),
                delay_ms: 20,
                ..Msg::default()
            };
            let msg = client.unary(tonic::Request::new(request)).await.unwrap();
            assert_eq!(msg.into_inner().text, format!("c{i}"));
        }
    });
    futures::future::join_all(calls).await;
}

/// The upstream goes away in the middle of a server stream: the client
/// gets a gRPC status (not a hang, not a protocol error), and once the
/// upstream is back on the same port the next call succeeds on a new
/// connection.
#[tokio::test]
async fn an_upstream_restarting_mid_stream() {
    let up = GrpcServer::start("first").await;
    let addr = up.addr;
    let proxy = TestProxy::start(grpc_table(&[addr], Scheme::Grpc, &[])).await;
    let mut client = EchoClient::plain(proxy.http).await;
    let request = Msg {
        text: "long".into(),
        count: 100,
        delay_ms: 50,
        ..Msg::default()
    };
    let mut stream = client
        .stream(tonic::Request::new(request))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stream.message().await.unwrap().unwrap().text, "long-0");
    drop(up);
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.message().await {
                Ok(Some(_)) => continue,
                Ok(None) => return None,
                Err(status) => return Some(status),
            }
        }
    })
    .await
    .expect("the cut stream ends");
    let status = ended.expect("a cut stream ends with an error status");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");

    let _up = GrpcServer::start_on(addr, "second", None).await;
    let response = client
        .unary(tonic::Request::new(Msg::text("again")))
        .await
        .unwrap();
    assert_eq!(response.metadata().get("x-server").unwrap(), "second");
}
