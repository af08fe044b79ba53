//! A real upstream on `127.0.0.1:0` for proxy tests, served by hyper
//! (HTTP/1.1, optionally over TLS with a self-signed certificate).
//!
//! Endpoints:
//! - any path: `200` with the request as JSON: `upstream` (its name),
//!   `method`, `path`, `query`, `version`, `authority` (HTTP/2), `headers`
//!   (name → value, or an array when repeated) and `body` (UTF-8, lossy);
//! - `/status/{code}`: the same JSON with that status;
//! - `/delay/{ms}`: the same JSON after `ms` milliseconds;
//! - `/stream?chunks=N&delay_ms=M[&content_type=T]`: a chunked body of
//!   `N` lines `chunk-<i>\n`, `M` ms apart (defaults 3 and 50);
//! - `…/response-headers?Name=value&…` (under any prefix): the JSON echo
//!   with those response headers set (as httpbin's; `Content-Type`
//!   replaces the JSON one);
//! - `/bytes/{n}`: `n` bytes of `x` as `text/plain`, in 16 KiB chunks
//!   (no `Content-Length`);
//! - `/echo-body`: streams the request body back as it arrives (answers
//!   before the request body ends, so a client can test full-duplex
//!   streaming without sleeps);
//! - a WebSocket upgrade on any path: echoes text and binary messages.

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use kingress::model::Target;
use serde_json::{Map, Value, json};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Body = BoxBody<Bytes, Error>;

/// A running upstream; stops when dropped.
pub struct Upstream {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The name it reports in every echo.
    pub name: String,
    requests: Arc<AtomicUsize>,
    handshakes: Arc<Mutex<Vec<Handshake>>>,
    task: JoinHandle<()>,
}

/// What a TLS upstream saw of one accepted connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handshake {
    /// The SNI name the client sent.
    pub sni: Option<String>,
    /// Whether the client presented a certificate (the server config
    /// decides whether one is required and checked).
    pub client_certificate: bool,
    /// The ALPN protocol chosen.
    pub alpn: Option<String>,
}

// === impl Upstream ===

impl Upstream {
    /// Starts a plain HTTP upstream reporting `name`.
    pub async fn start(name: &str) -> Upstream {
        Self::spawn(name, None).await
    }

    /// Starts an HTTPS upstream (self-signed certificate for `localhost`).
    pub async fn start_tls(name: &str) -> Upstream {
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let key =
            rustls::pki_types::PrivateKeyDer::Pkcs8(generated.signing_key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![generated.cert.der().clone()], key)
        .unwrap();
        Self::start_tls_with(name, config).await
    }

    /// Starts an HTTPS upstream with `config` (certificate, client
    /// certificate requirement, ALPN), recording each handshake.
    pub async fn start_tls_with(name: &str, config: rustls::ServerConfig) -> Upstream {
        Self::spawn(
            name,
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
        )
        .await
    }

    /// Starts a plain HTTP upstream on `addr`: an upstream that comes back
    /// where a stopped one was (health-check recovery).
    pub async fn start_at(name: &str, addr: SocketAddr) -> Upstream {
        Self::spawn_at(name, None, addr).await
    }

    async fn spawn(name: &str, tls: Option<tokio_rustls::TlsAcceptor>) -> Upstream {
        Self::spawn_at(name, tls, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    async fn spawn_at(
        name: &str,
        tls: Option<tokio_rustls::TlsAcceptor>,
        addr: SocketAddr,
    ) -> Upstream {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared_name: Arc<str> = Arc::from(name);
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let handshakes = Arc::new(Mutex::new(Vec::new()));
        let seen = handshakes.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let name = shared_name.clone();
                let tls = tls.clone();
                let counter = counter.clone();
                let seen = seen.clone();
                tokio::spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                let connection = stream.get_ref().1;
                                seen.lock().unwrap().push(Handshake {
                                    sni: connection.server_name().map(str::to_string),
                                    client_certificate: connection.peer_certificates().is_some(),
                                    alpn: connection
                                        .alpn_protocol()
                                        .map(|p| String::from_utf8_lossy(p).into_owned()),
                                });
                                serve(stream, name, counter).await;
                            }
                        }
                        None => serve(stream, name, counter).await,
                    }
                });
            }
        });
        Upstream {
            addr,
            name: name.to_string(),
            requests,
            handshakes,
            task,
        }
    }

    /// The TLS handshakes it completed, in order.
    pub fn handshakes(&self) -> Vec<Handshake> {
        self.handshakes.lock().unwrap().clone()
    }

    /// How many requests it has received.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// This upstream as a table target.
    pub fn target(&self) -> Target {
        target(self.addr)
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A table target for `addr`.
pub fn target(addr: SocketAddr) -> Target {
    Target::new(addr.ip().to_string(), addr.port())
}

/// An address nothing listens on (connections are refused).
pub async fn closed_port() -> SocketAddr {
    // Bound but never listening: connections are refused, and the port
    // stays taken for the test process's life, so a server another test
    // starts meanwhile cannot land on it (a port merely freed again could
    // be reused, and a "dead" endpoint would then answer).
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    std::mem::forget(socket);
    addr
}

/// An upstream that answers every connection with bytes that are not HTTP,
/// then closes. Stops when the handle is aborted or dropped with the runtime.
pub async fn start_broken() -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf).await;
                let _ = stream.write_all(b"this is not http\r\n\r\n").await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (addr, task)
}

async fn serve<S>(stream: S, name: Arc<str>, requests: Arc<AtomicUsize>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| {
        requests.fetch_add(1, Ordering::SeqCst);
        let name = name.clone();
        async move { Ok::<_, Infallible>(answer(name, request).await) }
    });
    let _ = auto::Builder::new(TokioExecutor::new())
        .serve_connection_with_upgrades(TokioIo::new(stream), service)
        .await;
}

async fn answer(name: Arc<str>, request: Request<Incoming>) -> Response<Body> {
    if request
        .headers()
        .get("upgrade")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
    {
        return websocket(request);
    }
    let path = request.uri().path().to_string();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["stream"] => {
            let mut response = stream(
                query_number(&request, "chunks", 3),
                query_number(&request, "delay_ms", 50),
            );
            let content_type = request.uri().query().and_then(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .find(|(k, _)| k == "content_type")
                    .and_then(|(_, v)| http::HeaderValue::try_from(v.as_ref()).ok())
            });
            if let Some(value) = content_type {
                response.headers_mut().insert("content-type", value);
            }
            response
        }
        [.., "response-headers"] => {
            let pairs: Vec<(String, String)> = request
                .uri()
                .query()
                .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
                .unwrap_or_default();
            let mut response = echo(&name, request).await;
            let headers = response.headers_mut();
            for (n, _) in &pairs {
                if let Ok(n) = http::HeaderName::try_from(n.as_str()) {
                    headers.remove(n);
                }
            }
            for (n, v) in pairs {
                if let (Ok(n), Ok(v)) = (
                    http::HeaderName::try_from(n.as_str()),
                    http::HeaderValue::try_from(v.as_str()),
                ) {
                    headers.append(n, v);
                }
            }
            response
        }
        ["bytes", n] => bytes(n.parse().unwrap_or(0)),
        ["echo-body"] => Response::new(request.into_body().map_err(Error::from).boxed()),
        ["status", code] => {
            let status = code.parse().ok().and_then(|c| StatusCode::from_u16(c).ok());
            let mut response = echo(&name, request).await;
            *response.status_mut() = status.unwrap_or(StatusCode::BAD_REQUEST);
            response
        }
        ["delay", ms] => {
            tokio::time::sleep(Duration::from_millis(ms.parse().unwrap_or(0))).await;
            echo(&name, request).await
        }
        _ => echo(&name, request).await,
    }
}

fn bytes(n: usize) -> Response<Body> {
    const CHUNK: usize = 16 * 1024;
    let chunks: Vec<Result<Frame<Bytes>, Error>> = (0..n.div_ceil(CHUNK))
        .map(|i| {
            Ok(Frame::data(Bytes::from(vec![
                b'x';
                CHUNK.min(n - i * CHUNK)
            ])))
        })
        .collect();
    let body = StreamBody::new(futures::stream::iter(chunks));
    let mut response = Response::new(BodyExt::boxed(body));
    response
        .headers_mut()
        .insert("content-type", "text/plain".parse().unwrap());
    response
}

fn query_number(request: &Request<Incoming>, key: &str, default: u64) -> u64 {
    request
        .uri()
        .query()
        .and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| v.parse().ok())
        })
        .unwrap_or(default)
}

async fn echo(name: &str, request: Request<Incoming>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let mut headers = Map::new();
    for key in parts.headers.keys() {
        let values: Vec<Value> = parts
            .headers
            .get_all(key)
            .iter()
            .map(|v| Value::from(String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let value = if values.len() == 1 {
            values[0].clone()
        } else {
            Value::Array(values)
        };
        headers.insert(key.as_str().to_string(), value);
    }
    let document = json!({
        "upstream": name,
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "version": format!("{:?}", parts.version),
        // HTTP/2's `:authority` (HTTP/1.1 sends `Host` among the headers).
        "authority": parts.uri.authority().map(|a| a.as_str()),
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    });
    let mut response = Response::new(full(serde_json::to_vec(&document).unwrap()));
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    response
}

fn stream(chunks: u64, delay_ms: u64) -> Response<Body> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Error>>(1);
    tokio::spawn(async move {
        for i in 0..chunks {
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            }
            if tx
                .send(Ok(Frame::data(Bytes::from(format!("chunk-{i}\n")))))
                .await
                .is_err()
            {
                return;
            }
        }
    });
    let body = StreamBody::new(tokio_stream_from(rx));
    Response::new(BodyExt::boxed(body))
}

/// An mpsc receiver as a `Stream` (without pulling in tokio-stream).
fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> + Send + Sync + 'static {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

fn websocket(mut request: Request<Incoming>) -> Response<Body> {
    let Some(key) = request.headers().get("sec-websocket-key").cloned() else {
        let mut response = Response::new(full(b"missing sec-websocket-key".to_vec()));
        *response.status_mut() = StatusCode::BAD_REQUEST;
        return response;
    };
    let upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else { return };
        let mut ws =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        while let Some(Ok(message)) = ws.next().await {
            if message.is_text() || message.is_binary() {
                if ws.send(message).await.is_err() {
                    return;
                }
            } else if message.is_close() {
                let _ = ws.close(None).await;
                return;
            }
        }
    });
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-accept", accept)
        .body(full(Vec::new()))
        .unwrap()
}

fn full(bytes: Vec<u8>) -> Body {
    http_body_util::Full::new(Bytes::from(bytes))
        .map_err(|never| match never {})
        .boxed()
}

/// Which recording upstream answered `path` on `proxy` (with `headers`),
/// or the status when the proxy answered itself.
pub async fn who(proxy: &super::proxy::TestProxy, path: &str, headers: &[(&str, &str)]) -> String {
    let mut request = super::client::http1().get(proxy.http_url(path));
    for (n, v) in headers {
        request = request.header(*n, *v);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = super::client::json(response).await;
    body["upstream"]
        .as_str()
        .map_or_else(|| status.to_string(), str::to_string)
}

/// How many of `n` requests for `path` each upstream (or status) answered.
pub async fn tally(
    proxy: &super::proxy::TestProxy,
    path: &str,
    n: usize,
) -> std::collections::BTreeMap<String, usize> {
    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..n {
        *seen.entry(who(proxy, path, &[]).await).or_default() += 1;
    }
    seen
}

/// The `name` of each entity of an Admin API list (`{"data": [...]}`), in
/// order.
pub fn names(list: &serde_json::Value) -> Vec<&str> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect()
}
