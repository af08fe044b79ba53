//! Accept loops for the plain and the TLS listener. Admission, time limits
//! and the HTTP/1.1-or-HTTP/2 choice are `listen`'s; this file adds the TLS
//! handshake and hands each request to `handle`.

use super::handle::{self, ConnInfo, ServerName, Shared};
use crate::listen::{self, ClientBody, Gate};
use hyper::Request;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Serves plain HTTP (HTTP/1.1 and h2c prior knowledge) forever.
pub(super) async fn serve_plain(listener: TcpListener, gate: Arc<Gate>, shared: Arc<Shared>) {
    let local = local_addr(&listener);
    loop {
        let (stream, peer, ticket) = gate.accept(&listener).await;
        let conn = ConnInfo {
            peer,
            local,
            tls: false,
            serial: next_serial(),
            requests: 0,
        };
        let gate = gate.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            serve_connection(stream, &gate, shared, conn, None).await;
            drop(ticket);
        });
    }
}

/// Serves HTTPS forever.
pub(super) async fn serve_tls(
    listener: TcpListener,
    gate: Arc<Gate>,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
) {
    let local = local_addr(&listener);
    loop {
        let (stream, peer, ticket) = gate.accept(&listener).await;
        let acceptor = acceptor.clone();
        let gate = gate.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let timeout = gate.limits().tls_handshake_timeout;
            let stream = match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
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
                serial: next_serial(),
                requests: 0,
            };
            let sni = stream.get_ref().1.server_name().unwrap_or_default();
            let sni = ServerName(Arc::from(sni.to_ascii_lowercase()));
            serve_connection(stream, &gate, shared, conn, Some(sni)).await;
            drop(ticket);
        });
    }
}

/// nginx's `$connection`: connections accepted by this process, counted
/// from 1.
fn next_serial() -> u64 {
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    SERIAL.fetch_add(1, Ordering::Relaxed) + 1
}

fn local_addr(listener: &TcpListener) -> std::net::SocketAddr {
    listener
        .local_addr()
        .unwrap_or_else(|_| std::net::SocketAddr::from(([0, 0, 0, 0], 0)))
}

async fn serve_connection<S>(
    stream: S,
    gate: &Gate,
    shared: Arc<Shared>,
    conn: ConnInfo,
    sni: Option<ServerName>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // nginx's `$connection_requests`; HTTP/2 streams count in arrival order.
    let requests = AtomicU64::new(0);
    listen::serve_http1(
        stream,
        conn.peer,
        gate.limits(),
        move |mut request: Request<ClientBody>| {
            if let Some(sni) = &sni {
                request.extensions_mut().insert(sni.clone());
            }
            let conn = ConnInfo {
                requests: requests.fetch_add(1, Ordering::Relaxed) + 1,
                ..conn
            };
            handle::handle(shared.clone(), request, conn)
        },
    )
    .await;
}
