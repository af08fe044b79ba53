//! `kingress-grpc-stub ADDR`: a gRPC server over h2c that answers every
//! unary call with HealthCheckResponse{SERVING} (bench/grpc.py's backend).
//! The request is read to its end first, as a real server does, so a proxy
//! never sees the stream reset under a request it is still sending.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response};
use tokio::net::{TcpListener, TcpStream};

/// HealthCheckResponse{status: SERVING} in a gRPC message frame.
const MESSAGE: &[u8] = b"\x00\x00\x00\x00\x02\x08\x01";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let addr = std::env::args().nth(1).expect("usage: kingress-grpc-stub ADDR");
    let listener = TcpListener::bind(&addr).await.expect("bind");
    loop {
        let Ok((tcp, _)) = listener.accept().await else { continue };
        let _ = tcp.set_nodelay(true);
        tokio::spawn(connection(tcp));
    }
}

async fn connection(tcp: TcpStream) {
    let Ok(mut conn) = h2::server::Builder::new()
        .max_concurrent_streams(1024)
        .handshake::<_, Bytes>(tcp)
        .await
    else {
        return;
    };
    while let Some(Ok((request, respond))) = conn.accept().await {
        tokio::spawn(async move {
            let _ = call(request, respond).await;
        });
    }
}

async fn call(
    request: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
) -> Result<(), h2::Error> {
    let mut body = request.into_body();
    while let Some(data) = body.data().await {
        let data = data?;
        let _ = body.flow_control().release_capacity(data.len());
    }
    let response = Response::builder()
        .header("content-type", "application/grpc")
        .body(())
        .expect("static response");
    let mut send = respond.send_response(response, false)?;
    send.send_data(Bytes::from_static(MESSAGE), false)?;
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    send.send_trailers(trailers)
}
