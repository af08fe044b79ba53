//! Bodies and connections: streaming both ways, WebSocket upgrades, a
//! table swap on a kept-alive connection.

use super::*;

/// A request body fed chunk by chunk from the test.
fn channel_body() -> (tokio::sync::mpsc::Sender<Bytes>, reqwest::Body) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(1);
    let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
        .map(|b| Ok::<_, Infallible>(Frame::data(b)));
    (tx, reqwest::Body::wrap(StreamBody::new(stream)))
}

#[tokio::test]
async fn request_and_response_bodies_stream_both_ways() {
    let up = Upstream::start("a").await;
    let proxy = simple(&up).await;
    for client in [client::http1(), client::http2()] {
        let (tx, body) = channel_body();
        // The upstream echoes each chunk as it arrives. The next chunk is
        // sent only after the previous one came back, so buffering in
        // either direction would hang (and hit the client timeout).
        tx.send(Bytes::from_static(b"one")).await.unwrap();
        let mut res = client
            .post(proxy.http_url("/echo-body"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.chunk().await.unwrap().unwrap(), "one");
        tx.send(Bytes::from_static(b"two")).await.unwrap();
        assert_eq!(res.chunk().await.unwrap().unwrap(), "two");
        drop(tx);
        // Nothing but the end of the stream follows (HTTP/2 may end with an
        // empty DATA frame).
        assert_eq!(res.bytes().await.unwrap(), "");
    }
}

#[tokio::test]
async fn chunked_responses_pass_through() {
    let up = Upstream::start("a").await;
    let proxy = simple(&up).await;
    let res = client::http1()
        .get(proxy.http_url("/stream?chunks=4&delay_ms=20"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("content-length").is_none());
    assert_eq!(
        res.text().await.unwrap(),
        "chunk-0\nchunk-1\nchunk-2\nchunk-3\n"
    );
}

async fn websocket_echo<S>(stream: S, url: String)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut ws, response) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    assert_eq!(response.status(), 101);
    ws.send(Message::text("hello")).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("hello"));
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::binary(vec![1u8, 2, 3])
    );
    ws.close(None).await.unwrap();
}

#[tokio::test]
async fn websocket_upgrades_pass_through_plain_and_tls() {
    let up = Upstream::start("a").await;
    let proxy = simple(&up).await;
    let tcp = tokio::net::TcpStream::connect(proxy.http).await.unwrap();
    websocket_echo(tcp, format!("ws://{}/ws", proxy.http)).await;

    let tcp = tokio::net::TcpStream::connect(proxy.https).await.unwrap();
    let tls = client::tls_connector(&[b"http/1.1"])
        .connect("ws.example".try_into().unwrap(), tcp)
        .await
        .unwrap();
    websocket_echo(tls, format!("wss://ws.example:{}/ws", proxy.https.port())).await;
}

#[tokio::test]
async fn a_new_table_applies_to_the_next_request_on_the_same_connection() {
    let a = Upstream::start("a").await;
    let b = Upstream::start("b").await;
    let first = table(
        vec![route("r", &["/"], "svc")],
        vec![service("svc", &[a.addr])],
    );
    let proxy = TestProxy::start(first).await;
    let tcp = tokio::net::TcpStream::connect(proxy.http).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let get = || {
        http::Request::get("/swap")
            .header("host", "swap.example")
            .body(Empty::<Bytes>::new())
            .unwrap()
    };
    let upstream_of =
        |body: Bytes| serde_json::from_slice::<Value>(&body).unwrap()["upstream"].clone();

    let res = sender.send_request(get()).await.unwrap();
    assert_eq!(
        upstream_of(res.into_body().collect().await.unwrap().to_bytes()),
        "a"
    );
    let mut second: Table = table(
        vec![route("r", &["/"], "svc")],
        vec![service("svc", &[b.addr])],
    );
    second.routes[0].hosts = vec![HostMatch::parse("swap.example")];
    assert_eq!(proxy.table.publish(second), Some(2));
    sender.ready().await.unwrap();
    let res = sender.send_request(get()).await.unwrap();
    assert_eq!(
        upstream_of(res.into_body().collect().await.unwrap().to_bytes()),
        "b"
    );
}
