//! A loopback OTLP/HTTP receiver for the opentelemetry tests: it decodes
//! `POST /v1/traces` and `POST /v1/logs` bodies with the published
//! protobuf types (`opentelemetry-proto`) and keeps what arrived, with the
//! request headers. It can be told to answer an error a number of times
//! (retries) or to hold every request unanswered (a stuck collector).

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use parking_lot::Mutex;
use prost::Message;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A running receiver; stops when dropped.
pub struct Collector {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

/// One export request as received.
#[derive(Clone, Debug)]
pub struct Export<T> {
    /// The decoded body.
    pub body: T,
    /// The request headers.
    pub headers: http::HeaderMap,
}

#[derive(Default)]
struct State {
    traces: Mutex<Vec<Export<ExportTraceServiceRequest>>>,
    logs: Mutex<Vec<Export<ExportLogsServiceRequest>>>,
    /// Requests to answer 500 before accepting.
    failures: AtomicUsize,
    /// Requests seen, answered or not.
    requests: AtomicUsize,
    /// Never answer.
    hold: AtomicBool,
}

// === impl Collector ===

impl Collector {
    /// Starts a receiver that accepts everything.
    pub async fn start() -> Collector {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |r| receive(state.clone(), r));
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Collector { addr, state, task }
    }

    /// `http://127.0.0.1:port/v1/traces`.
    pub fn traces_url(&self) -> String {
        format!("http://{}/v1/traces", self.addr)
    }

    /// `http://127.0.0.1:port/v1/logs`.
    pub fn logs_url(&self) -> String {
        format!("http://{}/v1/logs", self.addr)
    }

    /// Answers the next `n` requests with 500.
    pub fn fail_next(&self, n: usize) {
        self.state.failures.store(n, Ordering::SeqCst);
    }

    /// Leaves every request unanswered from now on.
    pub fn hold(&self) {
        self.state.hold.store(true, Ordering::SeqCst);
    }

    /// Requests seen so far (accepted, failed or held).
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Trace exports accepted so far.
    pub fn trace_exports(&self) -> Vec<Export<ExportTraceServiceRequest>> {
        self.state.traces.lock().clone()
    }

    /// Log exports accepted so far.
    pub fn log_exports(&self) -> Vec<Export<ExportLogsServiceRequest>> {
        self.state.logs.lock().clone()
    }

    /// Every span accepted so far.
    pub fn spans(&self) -> Vec<Span> {
        self.trace_exports()
            .into_iter()
            .flat_map(|e| e.body.resource_spans)
            .flat_map(|r| r.scope_spans)
            .flat_map(|s| s.spans)
            .collect()
    }

    /// Waits (up to 10 s) until at least `n` spans arrived.
    pub async fn wait_spans(&self, n: usize) -> Vec<Span> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let spans = self.spans();
            if spans.len() >= n || Instant::now() > deadline {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    state.requests.fetch_add(1, Ordering::SeqCst);
    if state.hold.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    let (parts, body) = request.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let answer = |status: StatusCode| {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = status;
        Ok(r)
    };
    let failing = state
        .failures
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        return answer(StatusCode::INTERNAL_SERVER_ERROR);
    }
    match parts.uri.path() {
        "/v1/traces" => match ExportTraceServiceRequest::decode(bytes) {
            Ok(body) => state.traces.lock().push(Export {
                body,
                headers: parts.headers,
            }),
            Err(_) => return answer(StatusCode::BAD_REQUEST),
        },
        "/v1/logs" => match ExportLogsServiceRequest::decode(bytes) {
            Ok(body) => state.logs.lock().push(Export {
                body,
                headers: parts.headers,
            }),
            Err(_) => return answer(StatusCode::BAD_REQUEST),
        },
        _ => return answer(StatusCode::NOT_FOUND),
    }
    answer(StatusCode::OK)
}

/// The string value of attribute `key`, if it is a string.
pub fn string_attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| match &v.value {
            Some(any_value::Value::StringValue(s)) => Some(s.clone()),
            _ => None,
        })
}

/// The integer value of attribute `key`, if it is an integer.
pub fn int_attribute(attributes: &[KeyValue], key: &str) -> Option<i64> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| match &v.value {
            Some(any_value::Value::IntValue(i)) => Some(*i),
            _ => None,
        })
}
