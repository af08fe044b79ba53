//! Accept loops for the plain and the TLS listener. Each connection is
//! served by hyper-util's auto builder (HTTP/1.1 or HTTP/2, chosen by ALPN
//! or the HTTP/2 preface) with upgrades enabled.

use super::handle::{self, ConnInfo, Shared};
use hyper::Request;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// A client that has not finished the TLS handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause after a failed accept (e.g. out of file descriptors) so the loop
/// does not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves plain HTTP (HTTP/1.1 and h2c prior knowledge) forever.
pub async fn serve_plain(listener: TcpListener, shared: Arc<Shared>) {
    let local = local_addr(&listener);
    loop {
        let Some((stream, peer)) = accept(&listener).await else {
            continue;
        };
        let conn = ConnInfo {
            peer,
            local,
            tls: false,
        };
        tokio::spawn(serve_connection(stream, shared.clone(), conn));
    }
}

/// Serves HTTPS forever.
pub async fn serve_tls(listener: TcpListener, acceptor: TlsAcceptor, shared: Arc<Shared>) {
    let local = local_addr(&listener);
    loop {
        let Some((stream, peer)) = accept(&listener).await else {
            continue;
        };
        let acceptor = acceptor.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let stream =
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(error)) => {
                        tracing::debug!(%peer, %error, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake timed out");
                        return;
                    }
                };
            let conn = ConnInfo {
                peer,
                local,
                tls: true,
            };
            serve_connection(stream, shared, conn).await;
        });
    }
}

fn local_addr(listener: &TcpListener) -> std::net::SocketAddr {
    listener
        .local_addr()
        .unwrap_or_else(|_| std::net::SocketAddr::from(([0, 0, 0, 0], 0)))
}

async fn accept(listener: &TcpListener) -> Option<(TcpStream, std::net::SocketAddr)> {
    match listener.accept().await {
        Ok((stream, peer)) => {
            // Small responses should not wait for Nagle.
            let _ = stream.set_nodelay(true);
            Some((stream, peer))
        }
        Err(error) => {
            tracing::warn!(%error, "accept failed");
            tokio::time::sleep(ACCEPT_BACKOFF).await;
            None
        }
    }
}

async fn serve_connection<S>(stream: S, shared: Arc<Shared>, conn: ConnInfo)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request: Request<Incoming>| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(handle::handle(shared, request, conn).await) }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new());
    builder.http2().timer(TokioTimer::new());
    if let Err(error) = builder
        .serve_connection_with_upgrades(TokioIo::new(stream), service)
        .await
    {
        tracing::debug!(peer = %conn.peer, %error, "connection ended with an error");
    }
}
