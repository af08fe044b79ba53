//! KongIngress overrides end to end: manifests through `translate` into
//! the real proxy on loopback. The Service's KongIngress sets the upstream
//! read timeout, the Ingress's restricts methods; an annotation on the
//! Ingress wins over its KongIngress.

use crate::support::client::{self, json};
use crate::support::proxy::{TestProxy, service_manifests, translated};
use crate::support::upstream::Upstream;
use serde_json::json;

/// An Ingress `name` with `annotations` (YAML map entries) routing `path`
/// to Service `svc`.
fn ingress(name: &str, annotations: &str, path: &str, svc: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}\n  \
         annotations: {{{annotations}}}\nspec:\n  ingressClassName: kong\n  rules:\n  \
         - http:\n      paths:\n      - path: '{path}'\n        pathType: Prefix\n        \
         backend: {{service: {{name: {svc}, port: {{number: 80}}}}}}\n---\n"
    )
}

const OVERRIDES: &str = "apiVersion: configuration.konghq.com/v1\nkind: KongIngress\n\
    metadata: {name: get-only}\nroute: {methods: [GET]}\n---\n\
    apiVersion: configuration.konghq.com/v1\nkind: KongIngress\n\
    metadata: {name: impatient}\nproxy: {read_timeout: 300}\n---\n";

#[tokio::test]
async fn kong_ingress_overrides_take_effect_and_annotations_win() {
    let up = Upstream::start("up").await;
    let service = service_manifests("slow", up.addr).replace(
        "metadata: {name: slow}",
        "metadata: {name: slow, annotations: {konghq.com/override: impatient}}",
    );
    let manifests = [
        ingress("reads", "konghq.com/override: get-only", "/", "slow"),
        ingress(
            "writes",
            "konghq.com/override: get-only, konghq.com/methods: POST",
            "/writes",
            "slow",
        ),
        OVERRIDES.to_string(),
        service,
    ]
    .concat();
    let table = translated(&manifests, &["KongIngressDeprecated"]);
    let proxy = TestProxy::start(table).await;
    let http = client::http1();

    // proxy.read_timeout: 300 ms, where Kong's default would wait a minute.
    let started = std::time::Instant::now();
    let res = http
        .get(proxy.http_url("/delay/3000"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 504);
    assert_eq!(
        json(res).await,
        json!({"message": "The upstream server is timing out"})
    );
    assert!(started.elapsed() < std::time::Duration::from_millis(2500));
    let res = http.get(proxy.http_url("/delay/0")).send().await.unwrap();
    assert_eq!(res.status(), 200);

    // route.methods: [GET]; another method finds no route.
    let res = http
        .delete(proxy.http_url("/delay/0"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        json(res).await,
        json!({"message": "no Route matched with those values"})
    );

    // konghq.com/methods: POST wins over the KongIngress's GET.
    let res = http.post(proxy.http_url("/writes/x")).send().await.unwrap();
    assert_eq!(json(res).await["method"], "POST");
    // GET /writes/x falls back to the GET-only `/` route.
    let res = http.get(proxy.http_url("/writes/x")).send().await.unwrap();
    let echo = json(res).await;
    assert_eq!(
        (&echo["method"], &echo["path"]),
        (&json!("GET"), &json!("/writes/x"))
    );
    // The timed-out request reached the upstream; the DELETE did not.
    assert_eq!(up.requests(), 4);
}
