//! What the upstream receives: rewritten path, `Host`, `X-Forwarded-*`,
//! and no hop-by-hop headers.

use super::*;

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
    // Kong (runloop/handler.lua): without a client X-Forwarded-For the
    // chain starts at `$remote_addr`, which the trusted X-Real-IP set.
    assert_eq!(header(&echo, "x-forwarded-for"), "203.0.113.7");
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
