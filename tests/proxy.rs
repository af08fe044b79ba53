//! The proxy over real loopback sockets: a hand-built table, real hyper
//! upstreams, reqwest / rustls / tungstenite clients.

mod support;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Empty, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use kingress::model::{Certificate, HostMatch, Scheme, Sensitive, Table};
use kingress::plugins::TrustedIps;
use reqwest::Version;
use serde_json::{Value, json};
use std::convert::Infallible;
use support::client::{self, json};
use support::proxy::{TestProxy, route, service, source, table};
use support::upstream::{Upstream, closed_port, start_broken};
use tokio_tungstenite::tungstenite::Message;

/// One route `/` to one upstream.
async fn simple(up: &Upstream) -> TestProxy {
    TestProxy::start(table(
        vec![route("r", &["/"], "svc")],
        vec![service("svc", &[up.addr])],
    ))
    .await
}

fn header<'a>(echo: &'a Value, name: &str) -> &'a str {
    echo["headers"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no single {name} header in {echo}"))
}

#[tokio::test]
async fn no_route_is_kong_404() {
    let up = Upstream::start("a").await;
    let proxy = TestProxy::start(table(
        vec![route("r", &["/api"], "svc")],
        vec![service("svc", &[up.addr])],
    ))
    .await;
    let res = client::http1()
        .get(proxy.http_url("/other"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    assert!(
        res.headers()["server"]
            .to_str()
            .unwrap()
            .starts_with("kingress/")
    );
    assert_eq!(
        json(res).await,
        json!({"message": "no Route matched with those values"})
    );
}

#[tokio::test]
async fn plain_http1_and_h2c_reach_the_upstream_over_http1() {
    let up = Upstream::start("a").await;
    let proxy = simple(&up).await;
    for (client, version) in [
        (client::http1(), Version::HTTP_11),
        (client::http2(), Version::HTTP_2),
    ] {
        let res = client
            .post(proxy.http_url("/p/q?x=1&y=2"))
            .body("hello")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.version(), version);
        assert!(res.headers()["via"].to_str().unwrap().contains("kingress/"));
        let echo = json(res).await;
        assert_eq!(echo["upstream"], "a");
        assert_eq!(echo["method"], "POST");
        assert_eq!(echo["path"], "/p/q");
        assert_eq!(echo["query"], "x=1&y=2");
        assert_eq!(echo["body"], "hello");
        assert_eq!(echo["version"], "HTTP/1.1", "upstreams always get HTTP/1.1");
    }
}

#[tokio::test]
async fn tls_serves_http1_and_h2() {
    let up = Upstream::start("a").await;
    let proxy = simple(&up).await;
    for (client, version) in [
        (client::http1(), Version::HTTP_11),
        (client::http2(), Version::HTTP_2),
    ] {
        let res = client.get(proxy.https_url("/tls")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.version(), version);
        let echo = json(res).await;
        assert_eq!(echo["path"], "/tls");
        assert_eq!(header(&echo, "x-forwarded-proto"), "https");
    }
}

fn certificate(hosts: &[&str]) -> Certificate {
    let generated =
        rcgen::generate_simple_self_signed(hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>())
            .unwrap();
    Certificate {
        source: source("Secret", "tls"),
        hosts: hosts.iter().map(|h| h.to_string()).collect(),
        cert_pem: generated.cert.pem(),
        key_pem: Sensitive::new(generated.signing_key.serialize_pem()),
    }
}

fn der_of(certificate: &Certificate) -> Vec<u8> {
    rustls_pemfile::certs(&mut certificate.cert_pem.as_bytes())
        .next()
        .unwrap()
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn sni_picks_the_table_certificate_else_the_default() {
    let up = Upstream::start("a").await;
    let exact = certificate(&["secure.example"]);
    let wildcard = certificate(&["*.wild.example"]);
    let mut t = table(
        vec![route("r", &["/"], "svc")],
        vec![service("svc", &[up.addr])],
    );
    t.certificates = vec![exact.clone(), wildcard.clone()];
    let proxy = TestProxy::start(t.clone()).await;
    let default = proxy.default_certificate.to_vec();

    let served = |sni: Option<&'static str>| {
        let addr = proxy.https;
        async move { client::peer_certificate(addr, sni, &[b"h2", b"http/1.1"]).await }
    };
    let (cert, alpn) = served(Some("secure.example")).await;
    assert_eq!(cert.to_vec(), der_of(&exact));
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
    assert_eq!(
        served(Some("a.wild.example")).await.0.to_vec(),
        der_of(&wildcard)
    );
    assert_eq!(served(Some("a.b.wild.example")).await.0.to_vec(), default);
    assert_eq!(served(Some("other.example")).await.0.to_vec(), default);
    assert_eq!(served(None).await.0.to_vec(), default);
    let (_, alpn) = client::peer_certificate(proxy.https, None, &[b"http/1.1"]).await;
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));

    // A request with that name is served with that certificate and routed.
    let res = client::http1_for("secure.example", proxy.https)
        .get(format!("https://secure.example:{}/x", proxy.https.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // The next table generation changes the certificate.
    t.certificates.clear();
    proxy.table.publish(t);
    assert_eq!(served(Some("secure.example")).await.0.to_vec(), default);
}

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
async fn strip_path_and_service_path() {
    let up = Upstream::start("a").await;
    let mut stripped = route("stripped", &["/api"], "with-path");
    stripped.strip_path = true;
    let kept = route("kept", &["/keep"], "svc");
    let mut with_path = service("with-path", &[up.addr]);
    with_path.path = Some("/v1".into());
    let proxy = TestProxy::start(table(
        vec![stripped, kept],
        vec![with_path, service("svc", &[up.addr])],
    ))
    .await;
    let client = client::http1();
    let cases = [
        ("/api/users?x=1", "/v1/users", Some("x=1")),
        ("/api", "/v1", None),
        ("/keep/me", "/keep/me", None),
    ];
    for (request, path, query) in cases {
        let echo = json(client.get(proxy.http_url(request)).send().await.unwrap()).await;
        assert_eq!(echo["path"], path, "{request}");
        assert_eq!(echo["query"].as_str(), query, "{request}");
        let original = request.split('?').next().unwrap();
        assert_eq!(header(&echo, "x-forwarded-path"), original);
    }
}

#[tokio::test]
async fn preserve_host_host_header_and_target_host() {
    let up = Upstream::start("a").await;
    let mut preserve = route("preserve", &["/preserve"], "svc");
    preserve.preserve_host = true;
    let target = route("target", &["/target"], "svc");
    let fixed = route("fixed", &["/fixed"], "fixed");
    let mut fixed_service = service("fixed", &[up.addr]);
    fixed_service.host_header = Some("internal.example".into());
    let proxy = TestProxy::start(table(
        vec![preserve, target, fixed],
        vec![service("svc", &[up.addr]), fixed_service],
    ))
    .await;
    let client = client::http1_for("my.example", proxy.http);
    let url = |p: &str| format!("http://my.example:{}{p}", proxy.http.port());
    let host = |echo: Value| header(&echo, "host").to_string();
    assert_eq!(
        host(json(client.get(url("/preserve")).send().await.unwrap()).await),
        format!("my.example:{}", proxy.http.port())
    );
    assert_eq!(
        host(json(client.get(url("/target")).send().await.unwrap()).await),
        up.addr.to_string()
    );
    assert_eq!(
        host(json(client.get(url("/fixed")).send().await.unwrap()).await),
        "internal.example"
    );
}

#[tokio::test]
async fn forwarded_headers_from_an_untrusted_peer() {
    let up = Upstream::start("a").await;
    let proxy = simple(&up).await;
    let client = client::http1_for("my.example", proxy.http);
    let res = client
        .get(format!(
            "http://my.example:{}/some/path?q=1",
            proxy.http.port()
        ))
        .header("x-forwarded-for", "203.0.113.7")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "evil.example")
        .header("x-real-ip", "203.0.113.7")
        .send()
        .await
        .unwrap();
    let echo = json(res).await;
    assert_eq!(header(&echo, "x-forwarded-for"), "203.0.113.7, 127.0.0.1");
    assert_eq!(header(&echo, "x-forwarded-proto"), "http");
    assert_eq!(header(&echo, "x-forwarded-host"), "my.example");
    assert_eq!(
        header(&echo, "x-forwarded-port"),
        proxy.http.port().to_string()
    );
    assert_eq!(header(&echo, "x-forwarded-path"), "/some/path");
    assert_eq!(header(&echo, "x-real-ip"), "127.0.0.1");

    let echo = json(
        client::http2()
            .get(proxy.https_url("/tls"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(header(&echo, "x-forwarded-proto"), "https");
    assert_eq!(
        header(&echo, "x-forwarded-port"),
        proxy.https.port().to_string()
    );
}

#[tokio::test]
async fn forwarded_headers_from_a_trusted_peer_are_kept() {
    let up = Upstream::start("a").await;
    let proxy =
        TestProxy::start_unpublished(TrustedIps::parse(&["127.0.0.1".to_string()]).unwrap()).await;
    proxy.table.publish(table(
        vec![route("r", &["/"], "svc")],
        vec![service("svc", &[up.addr])],
    ));
    let echo = json(
        client::http1()
            .get(proxy.http_url("/x"))
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "public.example")
            .header("x-forwarded-port", "443")
            .header("x-real-ip", "203.0.113.7")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(header(&echo, "x-forwarded-proto"), "https");
    assert_eq!(header(&echo, "x-forwarded-host"), "public.example");
    assert_eq!(header(&echo, "x-forwarded-port"), "443");
    assert_eq!(header(&echo, "x-real-ip"), "203.0.113.7");
    assert_eq!(header(&echo, "x-forwarded-for"), "127.0.0.1");
}

#[tokio::test]
async fn hop_by_hop_headers_do_not_reach_the_upstream() {
    let up = Upstream::start("a").await;
    let proxy = simple(&up).await;
    // A raw HTTP/1.1 connection so the client library cannot drop them.
    let tcp = tokio::net::TcpStream::connect(proxy.http).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let request = http::Request::get("/hop")
        .header("host", "h.example")
        .header("connection", "keep-alive, x-private-hop")
        .header("x-private-hop", "secret-ish")
        .header("keep-alive", "timeout=5")
        .header("te", "trailers")
        .header("proxy-authorization", "Basic Zm9vOmJhcg==")
        .header("proxy-connection", "keep-alive")
        .header("upgrade", "h2c")
        .header("x-end-to-end", "kept")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let res = sender.send_request(request).await.unwrap();
    assert_eq!(res.status(), 200);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let echo: Value = serde_json::from_slice(&body).unwrap();
    let headers = echo["headers"].as_object().unwrap();
    for name in [
        "x-private-hop",
        "keep-alive",
        "te",
        "proxy-authorization",
        "proxy-connection",
        "upgrade",
    ] {
        assert!(
            !headers.contains_key(name),
            "{name} reached the upstream: {echo}"
        );
    }
    assert!(!headers.contains_key("connection"), "{echo}");
    assert_eq!(header(&echo, "x-end-to-end"), "kept");
}

#[tokio::test]
async fn round_robin_across_two_upstreams() {
    let a = Upstream::start("a").await;
    let b = Upstream::start("b").await;
    let proxy = TestProxy::start(table(
        vec![route("r", &["/"], "svc")],
        vec![service("svc", &[a.addr, b.addr])],
    ))
    .await;
    let client = client::http1();
    let mut names = Vec::new();
    for _ in 0..6 {
        let echo = json(client.get(proxy.http_url("/rr")).send().await.unwrap()).await;
        names.push(echo["upstream"].as_str().unwrap().to_string());
    }
    for pair in names.windows(2) {
        assert_ne!(pair[0], pair[1], "{names:?}");
    }
    assert_eq!(names.iter().filter(|n| *n == "a").count(), 3);
}

#[tokio::test]
async fn a_refused_connection_moves_on_to_the_next_target() {
    let up = Upstream::start("a").await;
    let dead = closed_port().await;
    let with_retries = service("retrying", &[dead, up.addr]);
    let mut without = service("once", &[dead, up.addr]);
    without.retries = 0;
    let proxy = TestProxy::start(table(
        vec![
            route("retrying", &["/retry"], "retrying"),
            route("once", &["/once"], "once"),
        ],
        vec![with_retries, without],
    ))
    .await;
    let client = client::http1();
    for _ in 0..4 {
        let res = client
            .post(proxy.http_url("/retry"))
            .body("payload")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(
            json(res).await["body"],
            "payload",
            "the body survives a failed attempt"
        );
    }
    // Without retries, every other request lands on the dead target.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            client
                .get(proxy.http_url("/once"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    statuses.sort();
    assert_eq!(statuses, [200, 200, 502, 502]);
}

#[tokio::test]
async fn an_invalid_upstream_answer_is_502() {
    let (broken, _task) = start_broken().await;
    let proxy = TestProxy::start(table(
        vec![route("r", &["/"], "svc")],
        vec![service("svc", &[broken])],
    ))
    .await;
    let res = client::http1()
        .get(proxy.http_url("/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 502);
    assert_eq!(
        json(res).await,
        json!({"message": "An invalid response was received from the upstream server"})
    );
}

#[tokio::test]
async fn a_slow_upstream_is_504() {
    let up = Upstream::start("a").await;
    let mut svc = service("svc", &[up.addr]);
    svc.read_timeout_ms = 200;
    let proxy = TestProxy::start(table(vec![route("r", &["/"], "svc")], vec![svc])).await;
    let client = client::http1();
    let res = client
        .get(proxy.http_url("/delay/3000"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 504);
    assert_eq!(
        json(res).await,
        json!({"message": "The upstream server is timing out"})
    );
    assert_eq!(
        client
            .get(proxy.http_url("/delay/0"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn kong_503s_for_no_targets_no_service_and_faults() {
    let mut orphan = route("orphan", &["/orphan"], "none");
    orphan.service = None;
    let mut broken = route("broken", &["/broken"], "empty");
    broken.fault = Some("KongPlugin default/auth not found".into());
    let proxy = TestProxy::start(table(
        vec![route("empty", &["/empty"], "empty"), orphan, broken],
        vec![service("empty", &[])],
    ))
    .await;
    let client = client::http1();
    let cases = [
        ("/empty", "failure to get a peer from the ring-balancer"),
        ("/orphan", "no Service found with those values"),
        ("/broken", "KongPlugin default/auth not found"),
    ];
    for (path, message) in cases {
        let res = client.get(proxy.http_url(path)).send().await.unwrap();
        assert_eq!(res.status(), 503, "{path}");
        assert_eq!(json(res).await, json!({ "message": message }), "{path}");
    }
}

#[tokio::test]
async fn https_only_routes_answer_426_or_redirect() {
    let up = Upstream::start("a").await;
    let mut upgrade = route("upgrade", &["/upgrade"], "svc");
    upgrade.protocols = vec!["https".into()];
    let mut redirect = route("redirect", &["/redirect"], "svc");
    redirect.protocols = vec!["https".into()];
    redirect.https_redirect_status_code = 308;
    let proxy = TestProxy::start(table(
        vec![upgrade, redirect],
        vec![service("svc", &[up.addr])],
    ))
    .await;
    let client = client::http1_for("a.example", proxy.http);

    let res = client
        .get(format!("http://a.example:{}/upgrade", proxy.http.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 426);
    assert_eq!(res.headers()["upgrade"], "TLS/1.2, HTTP/1.1");
    assert_eq!(
        json(res).await,
        json!({"message": "Please use HTTPS protocol"})
    );

    let res = client
        .get(format!(
            "http://a.example:{}/redirect/x?y=1",
            proxy.http.port()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 308);
    assert_eq!(
        res.headers()["location"],
        "https://a.example/redirect/x?y=1"
    );

    let res = client::http1()
        .get(proxy.https_url("/upgrade"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn https_upstreams_are_reached_over_tls() {
    let up = Upstream::start_tls("secure").await;
    let mut svc = service("svc", &[up.addr]);
    svc.scheme = Scheme::Https;
    let proxy = TestProxy::start(table(vec![route("r", &["/"], "svc")], vec![svc])).await;
    let res = client::http1()
        .get(proxy.http_url("/over-tls"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["upstream"], "secure");
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

/// Captures every log line of this test binary (installed once).
fn captured_logs() -> &'static std::sync::Mutex<Vec<u8>> {
    use std::sync::{Mutex, OnceLock};
    static LOGS: OnceLock<&'static Mutex<Vec<u8>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs: &'static Mutex<Vec<u8>> = Box::leak(Box::new(Mutex::new(Vec::new())));
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || Writer(logs))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        logs
    })
}

struct Writer(&'static std::sync::Mutex<Vec<u8>>);

impl std::io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_access_log_names_the_request_but_never_its_token() {
    let logs = captured_logs();
    let up = Upstream::start("a").await;
    let proxy = simple(&up).await;
    let res = client::http1()
        .get(proxy.http_url("/logged/path?access_token=QUERYSECRET123"))
        .header("authorization", "Bearer HEADERSECRET456")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The line is written before the response leaves the proxy.
    let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("kingress::access") && l.contains("/logged/path"))
        .unwrap_or_else(|| panic!("no access line in:\n{text}"));
    for field in [
        "method=\"GET\"",
        "status=200",
        "route=\"r\"",
        "consumer=\"-\"",
        "latency_ms=",
    ] {
        assert!(line.contains(field), "{field} missing in {line}");
    }
    assert!(
        !text.contains("QUERYSECRET123"),
        "query token logged:\n{text}"
    );
    assert!(
        !text.contains("HEADERSECRET456"),
        "header token logged:\n{text}"
    );
}
