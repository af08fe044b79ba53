//! A real gRPC server and client for proxy tests, both tonic (messages are
//! hand-written prost structs, so no `protoc` is needed).
//!
//! The server (`test.Echo`, h2c or h2 over TLS on `127.0.0.1:0`):
//! - `Unary`: answers `Msg` with the request's `text` and `payload`, the
//!   request metadata it saw in `seen`, after `delay_ms`; with `code` set it
//!   fails with that status code and `text` as message;
//! - `Stream` (server streaming): `count` messages `text-<i>`, `delay_ms`
//!   apart; with `code` set the stream then fails with that status, whose
//!   trailers also carry `x-trailer: <server name>`;
//! - `Collect` (client streaming): one message, the texts joined by `,`;
//! - `Chat` (bidirectional): echoes each message as it arrives.
//!
//! Every response carries the header `x-server: <server name>`.

use bytes::Bytes;
use futures::{Stream, StreamExt};
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::body::Body;
use tonic::metadata::MetadataValue;
use tonic::server::{
    ClientStreamingService, Grpc, ServerStreamingService, StreamingService, UnaryService,
};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status, Streaming};
use tonic_prost::ProstCodec;
use tower_service::Service;

/// Large enough for the 4 MiB message test (tonic's default limit is 4 MiB
/// including nothing of the framing).
pub const MAX_MESSAGE: usize = 8 * 1024 * 1024;

/// The one message type of `test.Echo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Msg {
    #[prost(string, tag = "1")]
    pub text: String,
    #[prost(bytes = "vec", tag = "2")]
    pub payload: Vec<u8>,
    #[prost(uint32, tag = "3")]
    pub count: u32,
    #[prost(uint32, tag = "4")]
    pub delay_ms: u32,
    #[prost(int32, tag = "5")]
    pub code: i32,
    #[prost(map = "string, string", tag = "6")]
    pub seen: HashMap<String, String>,
}

impl Msg {
    /// A message with `text` only.
    pub fn text(text: &str) -> Msg {
        Msg {
            text: text.into(),
            ..Msg::default()
        }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type MsgStream = Pin<Box<dyn Stream<Item = Result<Msg, Status>> + Send>>;

/// A running gRPC server; stops (closing its connections) when dropped.
pub struct GrpcServer {
    /// Where it listens.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

// === impl GrpcServer ===

impl GrpcServer {
    /// Serves `test.Echo` with h2c (prior knowledge) on a fresh port.
    pub async fn start(name: &str) -> GrpcServer {
        Self::start_on("127.0.0.1:0".parse().unwrap(), name, None).await
    }

    /// Serves `test.Echo` over TLS (ALPN `h2`, self-signed certificate).
    pub async fn start_tls(name: &str) -> GrpcServer {
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let key =
            rustls::pki_types::PrivateKeyDer::Pkcs8(generated.signing_key.serialize_der().into());
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![generated.cert.der().clone()], key)
        .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        Self::start_on("127.0.0.1:0".parse().unwrap(), name, Some(acceptor)).await
    }

    /// Serves on `addr` (a port used before, to restart a server).
    pub async fn start_on(
        addr: SocketAddr,
        name: &str,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> GrpcServer {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let name: Arc<str> = Arc::from(name);
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let name = name.clone();
                let tls = tls.clone();
                // Connections live in the set: dropping the server aborts
                // them, as a restarting upstream process would.
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let mut echo = Echo { name: name.clone() };
                        echo.call(req.map(Body::new))
                    });
                    let builder = auto::Builder::new(TokioExecutor::new()).http2_only();
                    match tls {
                        Some(tls) => {
                            let Ok(stream) = tls.accept(tcp).await else {
                                return;
                            };
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                        None => {
                            let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
                        }
                    }
                });
            }
        });
        GrpcServer { addr, task }
    }
}

impl Drop for GrpcServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Echo {
    name: Arc<str>,
}

impl Service<Request<Body>> for Echo {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response<Body>, Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let name = self.name.clone();
        Box::pin(async move {
            let mut grpc = Grpc::new(ProstCodec::<Msg, Msg>::default())
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE);
            let mut response = match req.uri().path() {
                "/test.Echo/Unary" => grpc.unary(Unary, req).await,
                "/test.Echo/Stream" => {
                    let stream = ServerStream { name: name.clone() };
                    grpc.server_streaming(stream, req).await
                }
                "/test.Echo/Collect" => grpc.client_streaming(Collect, req).await,
                "/test.Echo/Chat" => grpc.streaming(Chat, req).await,
                _ => Status::unimplemented("no such method").into_http(),
            };
            response
                .headers_mut()
                .insert("x-server", http::HeaderValue::from_str(&name).unwrap());
            Ok(response)
        })
    }
}

/// The request metadata a test may look at, as the server saw it.
fn seen(metadata: &tonic::metadata::MetadataMap) -> HashMap<String, String> {
    metadata
        .clone()
        .into_headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("?").to_string()))
        .collect()
}

struct Unary;

impl UnaryService<Msg> for Unary {
    type Response = Msg;
    type Future = BoxFuture<Result<tonic::Response<Msg>, Status>>;

    fn call(&mut self, request: tonic::Request<Msg>) -> Self::Future {
        Box::pin(async move {
            let seen = seen(request.metadata());
            let msg = request.into_inner();
            tokio::time::sleep(Duration::from_millis(msg.delay_ms.into())).await;
            if msg.code != 0 {
                return Err(Status::new(Code::from(msg.code), msg.text));
            }
            let mut response = tonic::Response::new(Msg { seen, ..msg });
            response
                .metadata_mut()
                .insert("x-header", MetadataValue::from_static("unary"));
            Ok(response)
        })
    }
}

struct ServerStream {
    name: Arc<str>,
}

impl ServerStreamingService<Msg> for ServerStream {
    type Response = Msg;
    type ResponseStream = MsgStream;
    type Future = BoxFuture<Result<tonic::Response<MsgStream>, Status>>;

    fn call(&mut self, request: tonic::Request<Msg>) -> Self::Future {
        let msg = request.into_inner();
        let name = self.name.clone();
        Box::pin(async move {
            let delay = Duration::from_millis(msg.delay_ms.into());
            let text = msg.text.clone();
            let messages = futures::stream::iter(0..msg.count).then(move |i| {
                let text = format!("{text}-{i}");
                async move {
                    if i > 0 {
                        tokio::time::sleep(delay).await;
                    }
                    Ok(Msg::text(&text))
                }
            });
            let failure = (msg.code != 0).then(|| {
                let mut metadata = tonic::metadata::MetadataMap::new();
                metadata.insert("x-trailer", name.parse().unwrap());
                Err(Status::with_metadata(
                    Code::from(msg.code),
                    msg.text,
                    metadata,
                ))
            });
            let stream = messages.chain(futures::stream::iter(failure));
            Ok(tonic::Response::new(Box::pin(stream) as MsgStream))
        })
    }
}

struct Collect;

impl ClientStreamingService<Msg> for Collect {
    type Response = Msg;
    type Future = BoxFuture<Result<tonic::Response<Msg>, Status>>;

    fn call(&mut self, request: tonic::Request<Streaming<Msg>>) -> Self::Future {
        Box::pin(async move {
            let mut stream = request.into_inner();
            let mut texts = Vec::new();
            while let Some(msg) = stream.message().await? {
                texts.push(msg.text);
            }
            Ok(tonic::Response::new(Msg::text(&texts.join(","))))
        })
    }
}

struct Chat;

impl StreamingService<Msg> for Chat {
    type Response = Msg;
    type ResponseStream = MsgStream;
    type Future = BoxFuture<Result<tonic::Response<MsgStream>, Status>>;

    fn call(&mut self, request: tonic::Request<Streaming<Msg>>) -> Self::Future {
        Box::pin(async move {
            let stream = request
                .into_inner()
                .map(|msg| msg.map(|m| Msg::text(&format!("echo:{}", m.text))));
            Ok(tonic::Response::new(Box::pin(stream) as MsgStream))
        })
    }
}

/// A tonic client of `test.Echo` on one channel.
#[derive(Clone)]
pub struct EchoClient {
    grpc: tonic::client::Grpc<Channel>,
}

/// A gRPC call's outcome.
pub type Call<T> = Result<tonic::Response<T>, Status>;

// === impl EchoClient ===

impl EchoClient {
    /// A client over h2c to `addr`.
    pub async fn plain(addr: SocketAddr) -> EchoClient {
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        Self::on(channel)
    }

    /// A client over TLS (ALPN `h2`, any certificate) to `addr`, with
    /// `authority` as `:authority`.
    pub async fn tls(addr: SocketAddr, authority: &str) -> EchoClient {
        let connector = super::client::tls_connector(&[b"h2"]);
        let channel = Endpoint::from_shared(format!("https://{authority}"))
            .unwrap()
            .connect_with_connector(tower_fn(move |_uri: http::Uri| {
                let connector = connector.clone();
                async move {
                    let tcp = tokio::net::TcpStream::connect(addr).await?;
                    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
                    let tls = connector.connect(name, tcp).await?;
                    Ok::<_, std::io::Error>(TokioIo::new(tls))
                }
            }))
            .await
            .unwrap();
        Self::on(channel)
    }

    fn on(channel: Channel) -> EchoClient {
        let grpc = tonic::client::Grpc::new(channel)
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE);
        EchoClient { grpc }
    }

    /// `Unary`.
    pub async fn unary(&mut self, request: tonic::Request<Msg>) -> Call<Msg> {
        self.unary_at("/test.Echo/Unary", request).await
    }

    /// A unary call of the method at `path`.
    pub async fn unary_at(
        &mut self,
        path: &'static str,
        request: tonic::Request<Msg>,
    ) -> Call<Msg> {
        self.grpc.ready().await.unwrap();
        let path = http::uri::PathAndQuery::from_static(path);
        self.grpc.unary(request, path, ProstCodec::default()).await
    }

    /// `Stream`: `count` messages.
    pub async fn stream(&mut self, request: tonic::Request<Msg>) -> Call<Streaming<Msg>> {
        self.grpc.ready().await.unwrap();
        let path = http::uri::PathAndQuery::from_static("/test.Echo/Stream");
        self.grpc
            .server_streaming(request, path, ProstCodec::default())
            .await
    }

    /// `Collect`: the messages of `stream`, joined.
    pub async fn collect(&mut self, stream: impl Stream<Item = Msg> + Send + 'static) -> Call<Msg> {
        self.grpc.ready().await.unwrap();
        let path = http::uri::PathAndQuery::from_static("/test.Echo/Collect");
        self.grpc
            .client_streaming(tonic::Request::new(stream), path, ProstCodec::default())
            .await
    }

    /// `Chat`: bidirectional.
    pub async fn chat(
        &mut self,
        stream: impl Stream<Item = Msg> + Send + 'static,
    ) -> Call<Streaming<Msg>> {
        self.grpc.ready().await.unwrap();
        let path = http::uri::PathAndQuery::from_static("/test.Echo/Chat");
        self.grpc
            .streaming(tonic::Request::new(stream), path, ProstCodec::default())
            .await
    }
}

/// A `tower::Service` from a closure (tonic's connector type).
fn tower_fn<F, Fut, R>(f: F) -> TowerFn<F>
where
    F: FnMut(http::Uri) -> Fut,
    Fut: Future<Output = Result<R, std::io::Error>>,
{
    TowerFn(f)
}

#[derive(Clone)]
struct TowerFn<F>(F);

impl<F, Fut, R> Service<http::Uri> for TowerFn<F>
where
    F: FnMut(http::Uri) -> Fut,
    Fut: Future<Output = Result<R, std::io::Error>>,
{
    type Response = R;
    type Error = std::io::Error;
    type Future = Fut;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), std::io::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Fut {
        (self.0)(uri)
    }
}

/// A gRPC message frame (uncompressed), as on the wire.
pub fn frame(message: &impl prost::Message) -> Bytes {
    let body = message.encode_to_vec();
    let mut out = Vec::with_capacity(5 + body.len());
    out.push(0);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out.into()
}

/// A gRPC call answered, as hyper's HTTP/2 client saw it.
pub struct RawReply {
    /// The HTTP status.
    pub status: http::StatusCode,
    /// Response headers.
    pub headers: http::HeaderMap,
    /// The body (gRPC frames).
    pub body: Bytes,
    /// Trailers, if any.
    pub trailers: Option<http::HeaderMap>,
    /// The response was one HEADERS frame with END_STREAM (gRPC's
    /// Trailers-Only form).
    pub headers_only: bool,
}

impl RawReply {
    /// `grpc-status`, from the trailers or (Trailers-Only) the headers.
    pub fn grpc_status(&self) -> Option<&str> {
        self.trailers
            .as_ref()
            .and_then(|t| t.get("grpc-status"))
            .or_else(|| self.headers.get("grpc-status"))
            .map(|v| v.to_str().unwrap())
    }
}

/// A gRPC call over h2c with hyper's client, without a gRPC library: the
/// test controls every header (a gRPC library enforces `grpc-timeout`
/// itself, for one).
pub async fn raw_call(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    message: &impl prost::Message,
) -> RawReply {
    use http_body_util::BodyExt;
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(connection);
    let mut request = Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(http_body_util::Full::new(frame(message)))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let headers_only = http_body::Body::is_end_stream(&body);
    let collected = body.collect().await.unwrap();
    let trailers = collected.trailers().cloned();
    RawReply {
        status: parts.status,
        headers: parts.headers,
        body: collected.to_bytes(),
        trailers,
        headers_only,
    }
}
