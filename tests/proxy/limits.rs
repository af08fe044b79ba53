//! Connection limits on all four listeners (proxy, proxy TLS, admin,
//! status), over raw sockets: a silent connection, a dribbled request
//! head, an idle keep-alive connection (HTTP/1.1 and HTTP/2), a TLS
//! handshake that never ends, and the connection cap.

use super::*;
use kingress::listen::Limits;
use rustls::pki_types::ServerName;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::proxy::Settings;
use support::raw::{self, closed_within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Distinct values, so the moment a connection closes tells which limit
/// closed it.
const FIRST_BYTE: Duration = Duration::from_millis(300);
const HEADER: Duration = Duration::from_millis(800);
const KEEPALIVE: Duration = Duration::from_millis(1300);
const HANDSHAKE: Duration = Duration::from_millis(600);
/// Scheduling noise on a busy machine.
const SLACK: Duration = Duration::from_millis(2000);

async fn start(limits: Limits) -> (Upstream, TestProxy) {
    let up = Upstream::start("a").await;
    let proxy = TestProxy::start_with(
        table(
            vec![route("r", &["/"], "svc")],
            vec![service("svc", &[up.addr])],
        ),
        Settings {
            limits,
            ..Settings::default()
        },
    )
    .await;
    (up, proxy)
}

fn short() -> Limits {
    Limits {
        first_byte_timeout: FIRST_BYTE,
        header_timeout: HEADER,
        keepalive_timeout: KEEPALIVE,
        tls_handshake_timeout: HANDSHAKE,
        max_connections: 1000,
    }
}

/// The plain HTTP listeners and a path each answers 200 on.
fn plain(proxy: &TestProxy) -> [(&'static str, SocketAddr, &'static str); 3] {
    [
        ("proxy", proxy.http, "/x"),
        ("admin", proxy.admin, "/"),
        ("status", proxy.status, "/status"),
    ]
}

fn assert_between(what: &str, took: Duration, limit: Duration) {
    assert!(
        took + Duration::from_millis(50) >= limit && took < limit + SLACK,
        "{what}: closed after {took:?}, limit {limit:?}"
    );
}

async fn tls(addr: SocketAddr) -> tokio_rustls::client::TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    client::tls_connector(&[b"http/1.1"])
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap()
}

/// Writes one keep-alive request and reads exactly its response.
async fn one_request<S>(stream: &mut S, path: &str) -> u16
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let request = format!("GET {path} HTTP/1.1\r\nHost: limits.test\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before the response ended");
        bytes.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&bytes).to_string();
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            continue;
        };
        let length = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().unwrap())
            })
            .expect("content-length");
        if body.len() >= length {
            return raw::parse(&bytes).status;
        }
    }
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_first_byte_timeout() {
    let (_up, proxy) = start(short()).await;
    for (name, addr, _) in plain(&proxy) {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        assert_between(name, closed_within(&mut stream).await, FIRST_BYTE);
    }
    // On TLS the clock starts after the handshake.
    let mut stream = tls(proxy.https).await;
    assert_between("proxy_tls", closed_within(&mut stream).await, FIRST_BYTE);
}

#[tokio::test]
async fn a_dribbled_request_head_is_closed_after_the_header_timeout() {
    let (_up, proxy) = start(short()).await;
    for (name, addr, path) in plain(&proxy) {
        let (mut reader, mut writer) = TcpStream::connect(addr).await.unwrap().into_split();
        let head = format!("GET {path} HTTP/1.1\r\nHost: limits.test\r\n");
        let dribble = tokio::spawn(async move {
            // A byte every 100 ms: each arrives well within any idle
            // timeout, but the head never ends.
            writer.write_all(head.as_bytes()).await?;
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                writer.write_all(b"x").await?;
            }
            #[allow(unreachable_code)]
            Ok::<_, std::io::Error>(())
        });
        assert_between(name, closed_within(&mut reader).await, HEADER);
        dribble.abort();
    }
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_keepalive_timeout() {
    let (_up, proxy) = start(short()).await;
    for (name, addr, path) in plain(&proxy) {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        assert_eq!(one_request(&mut stream, path).await, 200, "{name}");
        // Still open past the header timeout: idle is not a slow head.
        tokio::time::sleep(HEADER + Duration::from_millis(200)).await;
        assert_eq!(one_request(&mut stream, path).await, 200, "{name}");
        assert_between(name, closed_within(&mut stream).await, KEEPALIVE);
    }
    let mut stream = tls(proxy.https).await;
    assert_eq!(one_request(&mut stream, "/x").await, 200);
    assert_between("proxy_tls", closed_within(&mut stream).await, KEEPALIVE);
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed_after_the_keepalive_timeout() {
    let (_up, proxy) = start(short()).await;
    let tcp = TcpStream::connect(proxy.http).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        TokioIo::new(tcp),
    )
    .await
    .unwrap();
    let conn = tokio::spawn(conn);
    let request = hyper::Request::get(format!("http://{}/x", proxy.http))
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    response.into_body().collect().await.unwrap();
    let idle = Instant::now();
    let _ = tokio::time::timeout(Duration::from_secs(10), conn)
        .await
        .expect("HTTP/2 connection still open after 10 s");
    assert_between("h2", idle.elapsed(), KEEPALIVE);
    drop(sender);
}

#[tokio::test]
async fn a_tls_handshake_that_never_ends_is_closed() {
    let (_up, proxy) = start(short()).await;
    // Silent, and a record header with no record: both wait for the
    // handshake, and the handshake limit (not the first-byte one) applies.
    let mut silent = TcpStream::connect(proxy.https).await.unwrap();
    assert_between("silent", closed_within(&mut silent).await, HANDSHAKE);
    let mut partial = TcpStream::connect(proxy.https).await.unwrap();
    partial
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00])
        .await
        .unwrap();
    assert_between("partial", closed_within(&mut partial).await, HANDSHAKE);
}

#[tokio::test]
async fn connections_above_the_cap_are_closed_at_once_on_every_listener() {
    let (_up, proxy) = start(Limits {
        max_connections: 3,
        ..Limits::default()
    })
    .await;
    let listeners = [
        ("proxy", proxy.http, "/x"),
        ("proxy_tls", proxy.https, "/x"),
        ("admin", proxy.admin, "/"),
        ("status", proxy.status, "/status"),
    ];
    for (name, addr, path) in listeners {
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(TcpStream::connect(addr).await.unwrap());
        }
        let mut extra = TcpStream::connect(addr).await.unwrap();
        let took = closed_within(&mut extra).await;
        assert!(
            took < Duration::from_secs(1),
            "{name}: fourth connection took {took:?}"
        );
        // The first three still work.
        for stream in held {
            let status = if name == "proxy_tls" {
                let mut tls = client::tls_connector(&[b"http/1.1"])
                    .connect(ServerName::try_from("localhost").unwrap(), stream)
                    .await
                    .unwrap();
                one_request(&mut tls, path).await
            } else {
                let mut stream = stream;
                one_request(&mut stream, path).await
            };
            assert_eq!(status, 200, "{name}");
        }
    }
    // Closed connections free their slots; each listener refused one.
    let deadline = Instant::now() + Duration::from_secs(5);
    let metrics = loop {
        match client::http1()
            .get(proxy.status_url("/metrics"))
            .send()
            .await
        {
            Ok(r) if r.status() == 200 => break r.text().await.unwrap(),
            _ => {
                assert!(
                    Instant::now() < deadline,
                    "status listener never freed a slot"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    for (name, ..) in listeners {
        let series = format!("kingress_connections_refused_total{{listener=\"{name}\"}} 1");
        assert!(
            metrics.lines().any(|l| l == series),
            "{series} missing:\n{metrics}"
        );
    }
}
