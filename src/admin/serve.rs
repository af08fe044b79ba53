//! The accept loop shared by the status and admin listeners: admission and
//! time limits from `listen`, one task per connection, each request
//! answered by a handler.

use crate::listen::{self, Gate};
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Serves `listener` forever with `handler`.
pub(super) async fn serve<H, F>(listener: TcpListener, gate: Arc<Gate>, handler: H)
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    loop {
        let (stream, peer, ticket) = gate.accept(&listener).await;
        let handler = handler.clone();
        let gate = gate.clone();
        tokio::spawn(async move {
            listen::serve_http(stream, peer, gate.limits(), handler).await;
            drop(ticket);
        });
    }
}
