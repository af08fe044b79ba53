//! KIC annotations end to end: Ingress manifests through `translate` into
//! the real proxy on loopback, requests from real clients.

use crate::support::client::{self, json};
use crate::support::proxy::{TestProxy, service_manifests, translated};
use crate::support::upstream::Upstream;

/// An Ingress `name` with `annotations` (YAML map lines) routing `path`
/// (`pathType`) to Service `svc`.
fn ingress(name: &str, annotations: &str, path: &str, path_type: &str, svc: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}\n  \
         annotations: {{{annotations}}}\nspec:\n  ingressClassName: kong\n  rules:\n  \
         - http:\n      paths:\n      - path: '{path}'\n        pathType: {path_type}\n        \
         backend: {{service: {{name: {svc}, port: {{number: 80}}}}}}\n---\n"
    )
}

#[tokio::test]
async fn header_annotations_route_only_requests_that_carry_them() {
    let canary = Upstream::start("canary").await;
    let stable = Upstream::start("stable").await;
    let manifests = [
        ingress(
            "canary",
            "konghq.com/headers.x-env: 'canary,beta', konghq.com/headers.x-team: payments",
            "/",
            "Prefix",
            "canary",
        ),
        ingress(
            "alone",
            "konghq.com/headers.x-only: 'yes'",
            "/only",
            "Prefix",
            "canary",
        ),
        ingress("stable", "", "/api", "Prefix", "stable"),
        service_manifests("canary", canary.addr),
        "---\n".into(),
        service_manifests("stable", stable.addr),
    ]
    .concat();
    let proxy = TestProxy::start(translated(&manifests, &[])).await;
    let http = client::http1();
    let get = |headers: &'static [(&'static str, &'static str)]| {
        let mut req = http.get(proxy.http_url("/api/x"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send()
    };

    let both = json(
        get(&[("x-env", "Beta"), ("x-team", "payments")])
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(both["upstream"], "canary");
    // One of the two headers, or a value not listed: the longer /api path
    // of the route without conditions answers.
    let short = json(get(&[("x-env", "canary")]).await.unwrap()).await;
    assert_eq!(short["upstream"], "stable");
    let wrong = json(
        get(&[("x-env", "prod"), ("x-team", "payments")])
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(wrong["upstream"], "stable");

    // Without a route that ignores headers, a request without the header
    // finds no route at all: Kong's 404.
    let res = http.get(proxy.http_url("/only")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let res = http
        .get(proxy.http_url("/only"))
        .header("x-only", "YES")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(canary.requests(), 2);
}

#[tokio::test]
async fn rewrite_fills_regex_captures_and_path_handling_v1_concatenates() {
    let up = Upstream::start("up").await;
    let manifests = [
        ingress(
            "rewrite",
            "konghq.com/rewrite: '/profiles/$2/of/$1'",
            "/~/users/(\\d+)/([a-z]+)$",
            "ImplementationSpecific",
            "up",
        ),
        ingress(
            "v1",
            "konghq.com/path-handling: v1, konghq.com/strip-path: 'true'",
            "/v1",
            "ImplementationSpecific",
            "svc-path",
        ),
        service_manifests("up", up.addr),
        "---\n".into(),
        service_manifests("svc-path", up.addr).replace(
            "metadata: {name: svc-path}",
            "metadata: {name: svc-path, annotations: {konghq.com/path: /base}}",
        ),
    ]
    .concat();
    let proxy = TestProxy::start(translated(&manifests, &[])).await;
    let http = client::http1();

    let echo = json(
        http.get(proxy.http_url("/users/42/alice?q=1"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(echo["path"], "/profiles/alice/of/42");
    assert_eq!(echo["query"], "q=1");

    // v1: the service path and what follows the stripped prefix are
    // concatenated as they are (v0 would give /base/tail).
    let echo = json(http.get(proxy.http_url("/v1tail")).send().await.unwrap()).await;
    assert_eq!(echo["path"], "/basetail");
}

#[tokio::test]
async fn force_ssl_redirect_and_https_redirect_status_code_answer_plain_http() {
    let up = Upstream::start("up").await;
    let manifests = [
        ingress(
            "forced",
            "ingress.kubernetes.io/force-ssl-redirect: 'true'",
            "/forced",
            "Prefix",
            "up",
        ),
        ingress(
            "coded",
            "konghq.com/protocols: https, konghq.com/https-redirect-status-code: '308'",
            "/coded",
            "Prefix",
            "up",
        ),
        service_manifests("up", up.addr),
    ]
    .concat();
    let proxy = TestProxy::start(translated(&manifests, &[])).await;
    let http = client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (path, status) in [("/forced/a?b=1", 302), ("/coded/x", 308)] {
        let res = http
            .get(proxy.http_url(path))
            .header("host", "shop.example")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{path}");
        assert_eq!(
            res.headers()["location"],
            format!("https://shop.example{path}").as_str()
        );
    }
    // Over TLS the same route forwards.
    let tls = client::http1_for("shop.example", proxy.https);
    let res = tls
        .get(format!(
            "https://shop.example:{}/forced/a",
            proxy.https.port()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(up.requests(), 1);
}

#[tokio::test]
async fn snis_hold_tls_requests_to_the_server_names_listed() {
    let listed = Upstream::start("listed").await;
    let other = Upstream::start("other").await;
    let manifests = [
        ingress(
            "sni",
            "konghq.com/snis: 'a.example'",
            "/",
            "Prefix",
            "listed",
        ),
        ingress("any", "", "/", "ImplementationSpecific", "other"),
        service_manifests("listed", listed.addr),
        "---\n".into(),
        service_manifests("other", other.addr),
    ]
    .concat();
    let proxy = TestProxy::start(translated(&manifests, &[])).await;
    for (sni, want) in [("a.example", "listed"), ("b.example", "other")] {
        let tls = client::http1_for(sni, proxy.https);
        let url = format!("https://{sni}:{}/x", proxy.https.port());
        let echo = json(tls.get(url).send().await.unwrap()).await;
        assert_eq!(echo["upstream"], want, "{sni}");
    }
    // Plain HTTP is not held to snis (Kong's rule).
    let echo = json(
        client::http1()
            .get(proxy.http_url("/x"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(echo["upstream"], "listed");
}
