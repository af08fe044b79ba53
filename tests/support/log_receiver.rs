//! A real log server on `127.0.0.1:0` (hyper, HTTP/1.1) for the logging
//! plugins: it records every request (method, path, headers, body) and
//! answers `500` to the first `failures` requests, `200` after.

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// One request the server received.
#[derive(Debug)]
pub struct Received {
    /// Method.
    pub method: Method,
    /// Path.
    pub path: String,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
    /// When it arrived.
    pub at: Instant,
    /// The status it was answered with.
    pub status: u16,
}

impl Received {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A running log server; stops when dropped.
pub struct LogReceiver {
    /// Where it listens.
    pub addr: SocketAddr,
    received: mpsc::UnboundedReceiver<Received>,
    task: JoinHandle<()>,
}

impl LogReceiver {
    /// Starts a server that fails the first `failures` requests with 500.
    pub async fn start(failures: usize) -> LogReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, received) = mpsc::unbounded_channel();
        let seen = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (tx, seen) = (tx.clone(), seen.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let (tx, seen) = (tx.clone(), seen.clone());
                        async move {
                            let (parts, body) = request.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let n = seen.fetch_add(1, Ordering::SeqCst);
                            let status = if n < failures { 500 } else { 200 };
                            let _ = tx.send(Received {
                                method: parts.method,
                                path: parts.uri.path().to_string(),
                                headers: parts.headers,
                                body,
                                at: Instant::now(),
                                status,
                            });
                            let mut response = Response::new(Full::new(Bytes::from_static(b"ok")));
                            *response.status_mut() = StatusCode::from_u16(status).unwrap();
                            Ok::<_, std::convert::Infallible>(response)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        LogReceiver {
            addr,
            received,
            task,
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next request, waiting up to 5 seconds.
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(5), self.received.recv())
            .await
            .expect("the log server got a request in time")
            .unwrap()
    }

    /// Whether a request arrives within `wait`.
    pub async fn quiet_for(&mut self, wait: Duration) -> bool {
        tokio::time::timeout(wait, self.received.recv())
            .await
            .is_err()
    }
}

impl Drop for LogReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
