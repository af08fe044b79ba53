//! TLS to upstreams: verification against the service's CAs (Kong's
//! `tls_verify`, `tls_verify_depth`, `ca_certificates`), the client
//! certificate (`client_certificate`), the SNI sent, pooled connections
//! kept apart by TLS setting, and HTTP/2 chosen by ALPN.

use super::*;
use kingress::model::{ClientCertificate, Service, UpstreamTls};
use std::sync::Arc;
use support::pki::Authority;

const NAME: &str = "kong.example";
const KONG_502: &str = "An invalid response was received from the upstream server";

/// An `https` service to `up` whose upstream sees `Host: kong.example`.
fn https(name: &str, up: &Upstream, tls: UpstreamTls) -> Service {
    let mut svc = service(name, &[up.addr]);
    svc.scheme = Scheme::Https;
    svc.host_header = Some(NAME.to_string());
    svc.tls = Arc::new(tls);
    svc
}

fn verify_with(authority: &Authority) -> UpstreamTls {
    UpstreamTls {
        verify: true,
        ca_certificates: vec![authority.root_pem()],
        ..UpstreamTls::default()
    }
}

/// One route per service, `/<service name>`.
async fn proxy_for(services: Vec<Service>) -> TestProxy {
    let routes = services
        .iter()
        .map(|s| route(&s.name, &[&format!("/{}", s.name)], &s.name))
        .collect();
    TestProxy::start(table(routes, services)).await
}

async fn get(proxy: &TestProxy, path: &str) -> (u16, Value) {
    let res = client::http1()
        .get(proxy.http_url(path))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, json(res).await)
}

#[tokio::test]
async fn a_certificate_from_the_services_ca_is_verified_for_the_host_sent_as_sni() {
    let ca = Authority::new("upstream");
    let up = Upstream::start_tls_with("a", ca.server(&[NAME]).server_config(&[], None)).await;
    let proxy = proxy_for(vec![https("ok", &up, verify_with(&ca))]).await;
    let (status, echo) = get(&proxy, "/ok").await;
    assert_eq!(status, 200, "{echo}");
    assert_eq!(header(&echo, "host"), NAME);
    let seen = up.handshakes();
    assert_eq!(seen[0].sni.as_deref(), Some(NAME), "{seen:?}");
}

#[tokio::test]
async fn an_untrusted_or_misnamed_upstream_certificate_is_kongs_502() {
    let ca = Authority::new("upstream");
    let other = Authority::new("other");
    let up = Upstream::start_tls_with("a", ca.server(&[NAME]).server_config(&[], None)).await;
    let misnamed = Upstream::start_tls_with(
        "b",
        ca.server(&["elsewhere.example"]).server_config(&[], None),
    )
    .await;
    let proxy = proxy_for(vec![
        https("untrusted", &up, verify_with(&other)),
        https("misnamed", &misnamed, verify_with(&ca)),
        // The same upstream without verification: Kong's default.
        https("unverified", &up, UpstreamTls::default()),
    ])
    .await;
    for path in ["/untrusted", "/misnamed"] {
        let (status, body) = get(&proxy, path).await;
        assert_eq!(status, 502, "{path}: {body}");
        assert_eq!(body["message"], KONG_502, "{path}");
    }
    assert_eq!(up.requests(), 0);
    assert_eq!(get(&proxy, "/unverified").await.0, 200);
}

#[tokio::test]
async fn tls_verify_depth_bounds_the_intermediates() {
    let ca = Authority::new("upstream");
    // Leaf <- intermediate <- root: one intermediate.
    let up = Upstream::start_tls_with("a", ca.server(&[NAME]).server_config(&[], None)).await;
    let direct =
        Upstream::start_tls_with("b", ca.server_from_root(&[NAME]).server_config(&[], None)).await;
    let depth = |d| UpstreamTls {
        verify_depth: Some(d),
        ..verify_with(&ca)
    };
    let proxy = proxy_for(vec![
        https("zero", &up, depth(0)),
        https("one", &up, depth(1)),
        https("direct", &direct, depth(0)),
    ])
    .await;
    assert_eq!(get(&proxy, "/zero").await.0, 502);
    assert_eq!(get(&proxy, "/one").await.0, 200);
    assert_eq!(get(&proxy, "/direct").await.0, 200);
}

#[tokio::test]
async fn the_client_certificate_reaches_an_upstream_that_requires_it() {
    let servers = Authority::new("servers");
    let clients = Authority::new("clients");
    let config = servers
        .server(&[NAME])
        .server_config(&[], Some(clients.roots()));
    let up = Upstream::start_tls_with("a", config).await;
    let client = clients.client("kingress");
    let with_cert = UpstreamTls {
        client_certificate: Some(ClientCertificate {
            source: support::proxy::source("Secret", "client"),
            cert_pem: client.chain_pem(),
            key_pem: Sensitive::new(client.key_pem()),
        }),
        ..verify_with(&servers)
    };
    // A certificate the upstream does not trust is refused like none.
    let stranger = Authority::new("stranger").client("kingress");
    let with_stranger = UpstreamTls {
        client_certificate: Some(ClientCertificate {
            source: support::proxy::source("Secret", "stranger"),
            cert_pem: stranger.chain_pem(),
            key_pem: Sensitive::new(stranger.key_pem()),
        }),
        ..verify_with(&servers)
    };
    let proxy = proxy_for(vec![
        https("mtls", &up, with_cert),
        https("none", &up, verify_with(&servers)),
        https("stranger", &up, with_stranger),
    ])
    .await;
    let (status, echo) = get(&proxy, "/mtls").await;
    assert_eq!(status, 200, "{echo}");
    assert!(up.handshakes().iter().all(|h| h.client_certificate));
    assert_eq!(get(&proxy, "/none").await.0, 502);
    assert_eq!(get(&proxy, "/stranger").await.0, 502);
    assert_eq!(up.requests(), 1);
}

#[tokio::test]
async fn a_connection_verified_under_one_ca_set_serves_no_service_trusting_another() {
    let ca = Authority::new("upstream");
    let other = Authority::new("other");
    let up = Upstream::start_tls_with("a", ca.server(&[NAME]).server_config(&[], None)).await;
    let proxy = proxy_for(vec![
        https("trusting", &up, verify_with(&ca)),
        https("distrusting", &up, verify_with(&other)),
    ])
    .await;
    for _ in 0..3 {
        assert_eq!(get(&proxy, "/trusting").await.0, 200);
        assert_eq!(get(&proxy, "/distrusting").await.0, 502);
    }
    // The trusting service kept one connection; the other never got one.
    assert_eq!(up.handshakes().len(), 1);
    assert_eq!(up.requests(), 3);
}

#[tokio::test]
async fn an_https_upstream_gets_the_protocol_it_chooses_by_alpn() {
    let ca = Authority::new("upstream");
    let leaf = ca.server(&[NAME]);
    let h2 = Upstream::start_tls_with("h2", leaf.server_config(&[b"h2"], None)).await;
    let h1 = Upstream::start_tls_with("h1", leaf.server_config(&[b"http/1.1"], None)).await;
    let proxy = proxy_for(vec![
        https("h2", &h2, UpstreamTls::default()),
        https("h1", &h1, verify_with(&ca)),
    ])
    .await;
    for _ in 0..3 {
        let (status, echo) = get(&proxy, "/h2").await;
        assert_eq!(status, 200, "{echo}");
        assert_eq!(echo["version"], "HTTP/2.0");
        // `:authority` carries what HTTP/1.1 sends as `Host`.
        assert_eq!(echo["authority"], NAME);
        let (status, echo) = get(&proxy, "/h1").await;
        assert_eq!(status, 200, "{echo}");
        assert_eq!(echo["version"], "HTTP/1.1");
    }
    // Both kept their one connection.
    assert_eq!(h2.handshakes().len(), 1);
    assert_eq!(h2.handshakes()[0].alpn.as_deref(), Some("h2"));
    assert_eq!(h1.handshakes().len(), 1);
    assert_eq!(h1.handshakes()[0].alpn.as_deref(), Some("http/1.1"));
    // A POST body crosses the HTTP/2 connection too.
    let res = client::http1()
        .post(proxy.http_url("/h2"))
        .body("payload")
        .send()
        .await
        .unwrap();
    assert_eq!(json(res).await["body"], "payload");
}

/// YAML block scalar lines for `text`, indented for a `stringData` value.
fn block(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

#[tokio::test]
async fn kic_annotations_verify_the_upstream_and_present_the_client_certificate() {
    let ca = Authority::new("cluster");
    let config = ca.server(&[NAME]).server_config(&[], Some(ca.roots()));
    let up = Upstream::start_tls_with("a", config).await;
    let client = ca.client("kingress");
    let manifests = format!(
        "{service}---\n\
         apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: web}}\n\
         spec: {{ingressClassName: kong, rules: [{{host: {NAME}, http: {{paths: [{{path: /, \
         pathType: Prefix, backend: {{service: {{name: api, port: {{number: 80}}}}}}}}]}}}}]}}\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata: {{name: root-ca}}\nstringData:\n  ca.crt: |\n{ca}---\n\
         apiVersion: v1\nkind: Secret\nmetadata: {{name: client}}\ntype: kubernetes.io/tls\n\
         stringData:\n  tls.crt: |\n{cert}  tls.key: |\n{key}",
        service = support::proxy::service_manifests("api", up.addr).replace(
            "metadata: {name: api}",
            "metadata: {name: api, annotations: {konghq.com/protocol: https, \
             konghq.com/tls-verify: 'true', konghq.com/tls-verify-depth: '1', \
             konghq.com/ca-certificates-secrets: root-ca, konghq.com/client-cert: client}}",
        ),
        ca = block(&ca.root_pem()),
        cert = block(&client.chain_pem()),
        key = block(&client.key_pem()),
    );
    let proxy = TestProxy::start(support::proxy::translated(&manifests, &[])).await;
    let res = client::http1()
        .get(proxy.http_url("/"))
        .header("host", NAME)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let seen = up.handshakes();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].sni.as_deref(), Some(NAME));
    assert!(seen[0].client_certificate);
}

/// Manifests: an Ingress routing `/<name>` to an `https` Service `name` at
/// `up` that names ConfigMap `<name>-ca` (holding `ca_pem` under `ca.crt`)
/// as its CA bundle. The upstream sees (and is asked for, as SNI) the
/// Service's host header.
fn config_map_manifests(name: &str, up: &Upstream, ca_pem: &str) -> String {
    let service = support::proxy::service_manifests(name, up.addr).replace(
        &format!("metadata: {{name: {name}}}"),
        &format!(
            "metadata: {{name: {name}, annotations: {{konghq.com/protocol: https, \
             konghq.com/tls-verify: 'true', konghq.com/host-header: {NAME}, \
             konghq.com/ca-certificates-configmaps: {name}-ca}}}}"
        ),
    );
    let config_map = serde_yaml::to_string(&serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": format!("{name}-ca")},
        "data": {"ca.crt": ca_pem},
    }))
    .unwrap();
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: {name}, \
         annotations: {{konghq.com/preserve-host: 'false'}}}}\n\
         spec:\n  ingressClassName: kong\n  rules:\n  - http:\n      paths:\n      \
         - {{path: /{name}, pathType: Prefix, backend: {{service: {{name: {name}, port: \
         {{number: 80}}}}}}}}\n---\n{service}---\n{config_map}---\n"
    )
}

#[tokio::test]
async fn a_ca_bundle_from_a_config_map_verifies_the_upstream() {
    let ca = Authority::new("upstream");
    let other = Authority::new("other");
    let up = Upstream::start_tls_with("a", ca.server(&[NAME]).server_config(&[], None)).await;
    let manifests = [
        config_map_manifests("trusted", &up, &ca.root_pem()),
        config_map_manifests("untrusted", &up, &other.root_pem()),
    ]
    .concat();
    let table = support::proxy::translated(&manifests, &[]);
    let proxy = TestProxy::start(table).await;
    let (status, echo) = get(&proxy, "/trusted").await;
    assert_eq!(status, 200, "{echo}");
    assert_eq!(up.handshakes()[0].sni.as_deref(), Some(NAME));
    let (status, body) = get(&proxy, "/untrusted").await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["message"], KONG_502);
    assert_eq!(up.requests(), 1);
}
