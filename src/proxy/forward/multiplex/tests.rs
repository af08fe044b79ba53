//! Exchanges on shared HTTP/2 connections against h2 servers on loopback:
//! bodies streaming both ways, flow control, trailers, `GOAWAY`, a broken
//! client body, and the fields HTTP/2 forbids.

use super::*;
use crate::plugins::{BoxBody, BoxError, full_body};
use crate::proxy::body::Slot;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body::{Body as _, Frame};
use http_body_util::{BodyExt, StreamBody};
use std::future::Future;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

type Stream = (Request<h2::RecvStream>, h2::server::SendResponse<Bytes>);

/// An h2 server on loopback whose streams go to `serve`, each on a task;
/// `window` is its initial stream window. The connection is handed to
/// `connection` first (to shut it down, say) when given.
async fn upstream<F, Fut>(window: u32, serve: F) -> std::net::SocketAddr
where
    F: Fn(Stream) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let serve = serve.clone();
            tokio::spawn(async move {
                let mut conn = h2::server::Builder::new()
                    .initial_window_size(window)
                    .handshake::<_, Bytes>(tcp)
                    .await
                    .unwrap();
                while let Some(Ok(stream)) = conn.accept().await {
                    tokio::spawn(serve(stream));
                }
            });
        }
    });
    addr
}

async fn connect(addr: std::net::SocketAddr) -> Sender {
    handshake(TcpStream::connect(addr).await.unwrap())
        .await
        .unwrap()
}

fn request(body: BoxBody) -> Request<Reclaimable> {
    let mut request = Request::new(Slot::new(body).attempt());
    *request.method_mut() = Method::POST;
    *request.uri_mut() = "http://upstream.test/echo.Echo/Call".parse().unwrap();
    request
}

/// Feeds one data frame to a [`channel`] body.
async fn feed(tx: &mpsc::Sender<Result<Frame<Bytes>, BoxError>>, data: &'static [u8]) {
    tx.send(Ok(Frame::data(Bytes::from_static(data))))
        .await
        .unwrap();
}

/// A body fed frame by frame from the test.
fn channel() -> (mpsc::Sender<Result<Frame<Bytes>, BoxError>>, BoxBody) {
    let (tx, rx) = mpsc::channel(16);
    (tx, StreamBody::new(ReceiverStream::new(rx)).boxed())
}

fn trailers(name: &'static str, value: &str) -> HeaderMap {
    let mut map = HeaderMap::new();
    map.insert(name, HeaderValue::from_str(value).unwrap());
    map
}

async fn read_all(body: &mut h2::RecvStream) -> Vec<u8> {
    let mut seen = Vec::new();
    while let Some(data) = body.data().await {
        let data = data.unwrap();
        let _ = body.flow_control().release_capacity(data.len());
        seen.extend_from_slice(&data);
    }
    seen
}

fn exchanged(result: Result<Response<Body>, Failure>) -> Response<Body> {
    match result {
        Ok(response) => response,
        Err(Failure::Unsent(e, _)) => panic!("unsent: {e}"),
        Err(Failure::Failed(e)) => panic!("failed: {e}"),
    }
}

#[tokio::test]
async fn a_request_keeps_streaming_after_its_response_began() {
    // The upstream answers at once, then echoes each chunk as it comes and
    // ends with the request's trailer in its own.
    let addr = upstream(65_535, |(request, mut respond)| async move {
        let mut body = request.into_body();
        let mut send = respond.send_response(Response::new(()), false).unwrap();
        while let Some(data) = body.data().await {
            let data = data.unwrap();
            let _ = body.flow_control().release_capacity(data.len());
            send.send_data(data, false).unwrap();
        }
        let seen = body.trailers().await.unwrap().unwrap();
        send.send_trailers(trailers("x-seen", seen["x-end"].to_str().unwrap()))
            .unwrap();
    })
    .await;
    let sender = connect(addr).await;
    let (tx, body) = channel();
    feed(&tx, b"one ").await;
    let response = exchanged(sender.exchange(request(body)).await);
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), http::Version::HTTP_2);
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(first, "one ");
    // The rest of the request leaves after the response head arrived.
    feed(&tx, b"two").await;
    tx.send(Ok(Frame::trailers(trailers("x-end", "done"))))
        .await
        .unwrap();
    drop(tx);
    let rest = body.collect().await.unwrap();
    assert_eq!(rest.trailers().unwrap()["x-seen"], "done");
    assert_eq!(rest.to_bytes(), "two");
}

#[tokio::test]
async fn a_body_larger_than_the_upstream_window_arrives_whole() {
    // 16 KiB window, read slowly: the pump must wait for capacity.
    let addr = upstream(16 * 1024, |(request, mut respond)| async move {
        let mut body = request.into_body();
        let mut seen = Vec::new();
        while let Some(data) = body.data().await {
            let data = data.unwrap();
            tokio::time::sleep(Duration::from_millis(1)).await;
            let _ = body.flow_control().release_capacity(data.len());
            seen.extend_from_slice(&data);
        }
        let ok = seen.len() == 256 * 1024 && seen.iter().enumerate().all(|(i, b)| *b == i as u8);
        let status = if ok {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        let response = Response::builder().status(status).body(()).unwrap();
        respond.send_response(response, true).unwrap();
    })
    .await;
    let sender = connect(addr).await;
    let (tx, body) = channel();
    tokio::spawn(async move {
        let bytes: Vec<u8> = (0..256 * 1024).map(|i| i as u8).collect();
        for chunk in bytes.chunks(32 * 1024) {
            tx.send(Ok(Frame::data(Bytes::copy_from_slice(chunk))))
                .await
                .unwrap();
        }
    });
    let response = exchanged(sender.exchange(request(body)).await);
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.into_body().is_end_stream());
}

#[tokio::test]
async fn the_response_body_its_length_and_trailers() {
    let addr = upstream(65_535, |(request, mut respond)| async move {
        read_all(&mut request.into_body()).await;
        let response = Response::builder()
            .header("content-length", "5")
            .body(())
            .unwrap();
        let mut send = respond.send_response(response, false).unwrap();
        send.send_data(Bytes::from_static(b"hel"), false).unwrap();
        send.send_data(Bytes::from_static(b"lo"), false).unwrap();
        send.send_trailers(trailers("grpc-status", "0")).unwrap();
    })
    .await;
    let sender = connect(addr).await;
    let response = exchanged(
        sender
            .exchange(request(full_body(Bytes::from_static(b"ping"))))
            .await,
    );
    let body = response.into_body();
    assert_eq!(body.size_hint().exact(), Some(5));
    let collected = body.collect().await.unwrap();
    assert_eq!(collected.trailers().unwrap()["grpc-status"], "0");
    assert_eq!(collected.to_bytes(), "hello");
}

#[tokio::test]
async fn after_goaway_the_connection_takes_no_stream_and_the_request_comes_back() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (shut_tx, shut_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut conn = h2::server::handshake(tcp).await.unwrap();
        shut_rx.await.unwrap();
        conn.abrupt_shutdown(h2::Reason::NO_ERROR);
        while conn.accept().await.is_some() {}
    });
    let multiplex = Multiplex::new();
    let target = Target::new("127.0.0.1", addr.port());
    let chosen = multiplex.register(PLAIN, &target, connect(addr).await);
    drop(chosen);
    assert!(multiplex.existing(PLAIN, &target).is_some());
    shut_tx.send(()).unwrap();
    let mut sender = multiplex.existing(PLAIN, &target).unwrap().sender;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while sender.is_usable() {
        assert!(tokio::time::Instant::now() < deadline, "GOAWAY not seen");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The shared list forgets it; a request on it comes back unsent, as
    // one that may go to another connection.
    assert!(multiplex.existing(PLAIN, &target).is_none());
    match sender
        .exchange(request(full_body(Bytes::from_static(b"x"))))
        .await
    {
        Err(Failure::Unsent(e, body)) => {
            assert!(super::super::failure::unprocessed(&e), "{e}");
            assert_eq!(body.collect().await.unwrap().to_bytes(), "x");
        }
        Err(Failure::Failed(e)) => panic!("failed, not unsent: {e}"),
        Ok(_) => panic!("a stream opened after GOAWAY"),
    }
}

#[tokio::test]
async fn a_broken_client_body_fails_the_exchange_and_resets_the_stream() {
    let (reset_tx, mut reset_rx) = mpsc::channel(1);
    let addr = upstream(65_535, move |(request, _respond)| {
        let reset_tx = reset_tx.clone();
        async move {
            let mut body = request.into_body();
            let mut outcome = None;
            while let Some(data) = body.data().await {
                if let Err(e) = data {
                    outcome = e.reason();
                    break;
                }
            }
            reset_tx.send(outcome).await.unwrap();
        }
    })
    .await;
    let sender = connect(addr).await;
    let (tx, body) = channel();
    feed(&tx, b"part").await;
    let broken = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "client went away");
    tx.send(Err(Box::new(broken))).await.unwrap();
    match sender.exchange(request(body)).await {
        Err(Failure::Failed(e)) => assert!(e.to_string().contains("client went away"), "{e}"),
        Err(Failure::Unsent(e, _)) => panic!("unsent: {e}"),
        Ok(_) => panic!("a response without the whole body"),
    }
    assert_eq!(reset_rx.recv().await.unwrap(), Some(h2::Reason::CANCEL));
}

#[tokio::test]
async fn connection_specific_fields_never_reach_the_upstream() {
    let (seen_tx, mut seen_rx) = mpsc::channel(1);
    let addr = upstream(65_535, move |(request, mut respond)| {
        let seen_tx = seen_tx.clone();
        async move {
            let (parts, mut body) = request.into_parts();
            read_all(&mut body).await;
            seen_tx.send(parts.headers).await.unwrap();
            respond.send_response(Response::new(()), true).unwrap();
        }
    })
    .await;
    let sender = connect(addr).await;
    let mut sent = request(full_body(Bytes::from_static(b"abc")));
    for (name, value) in [
        ("connection", "x-hop"),
        ("x-hop", "1"),
        ("keep-alive", "timeout=5"),
        ("upgrade", "h2c"),
        ("transfer-encoding", "chunked"),
        ("te", "trailers"),
        ("x-kept", "yes"),
    ] {
        sent.headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    exchanged(sender.exchange(sent).await);
    let seen = seen_rx.recv().await.unwrap();
    for gone in [
        "connection",
        "x-hop",
        "keep-alive",
        "upgrade",
        "transfer-encoding",
    ] {
        assert!(!seen.contains_key(gone), "{gone} reached the upstream");
    }
    assert_eq!(seen["te"], "trailers");
    assert_eq!(seen["x-kept"], "yes");
    // The body's known length is declared.
    assert_eq!(seen["content-length"], "3");
}

#[tokio::test(start_paused = true)]
async fn a_connection_whose_pings_go_unanswered_ends() {
    // The upstream completes the handshake, then stops reading: pings sent
    // after KEEP_ALIVE get no answer within KEEP_ALIVE_TIMEOUT.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (hold_tx, hold_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let conn: h2::server::Connection<_, Bytes> = h2::server::handshake(tcp).await.unwrap();
        // Kept open but never polled again.
        let _ = hold_tx.send(conn);
    });
    let mut sender = connect(addr).await;
    let _held = hold_rx.await.unwrap();
    assert!(sender.is_usable());
    tokio::time::sleep(KEEP_ALIVE + KEEP_ALIVE_TIMEOUT / 2).await;
    assert!(sender.is_usable(), "ended before the ping's time was up");
    tokio::time::sleep(KEEP_ALIVE_TIMEOUT).await;
    // The connection's task runs once more to notice.
    for _ in 0..100 {
        if !sender.is_usable() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("a connection with an unanswered ping is still usable");
}
