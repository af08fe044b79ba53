//! TLS: SNI certificate choice, ALPN, https-only routes, HTTPS upstreams.

use super::*;

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
    t.certificates = kingress::model::Shared::new(vec![exact.clone(), wildcard.clone()]);
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
