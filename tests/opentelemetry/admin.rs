//! kong.yml and the Admin API with the real binary: Kong's defaults and
//! errors, the header secret masked when printed yet sent to the collector,
//! and the stored document read back by a fresh process.

use crate::support::otlp::Collector;
use crate::support::standalone::Standalone;
use crate::support::upstream::Upstream;
use reqwest::Method;
use serde_json::json;
use std::time::{Duration, Instant};

const ID: &str = "6a1d6c3e-8f7a-4d7e-9a51-0c3b5a7f2e10";
const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";

#[tokio::test]
async fn kong_yml_and_admin_api_round_trip() {
    let up = Upstream::start("up").await;
    let collector = Collector::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kong.yml"),
        format!(
            r#"_format_version: "3.0"
services:
  - name: api
    url: http://{up}
    routes:
      - name: r
        paths: ["/traced"]
plugins:
  - id: {ID}
    name: opentelemetry
    route: r
    config:
      endpoint: {traces}
      headers:
        Authorization: Bearer s3cret-token
      batch_flush_delay: 0
      propagation:
        extract: [w3c]
        inject: [preserve]
"#,
            up = up.addr,
            traces = collector.traces_url(),
        ),
    )
    .unwrap();
    let k = Standalone::start(dir.path(), &[]).await;
    let (status, body) = k.get(&format!("/plugins/{ID}")).await;
    assert_eq!(status, 200, "{body}");
    let c = &body["config"];
    assert_eq!(c["traces_endpoint"], collector.traces_url().as_str());
    assert_eq!(c["headers"]["Authorization"], "[redacted]");
    assert!(!body.to_string().contains("s3cret-token"), "{body}");
    assert_eq!(c["queue"]["max_batch_size"], 200);
    assert_eq!(c["batch_flush_delay"], 0);
    assert_eq!(c["connect_timeout"], 1000);
    assert_eq!(c["header_type"], "preserve");
    assert_eq!(c["propagation"]["default_format"], "w3c");
    assert_eq!(c["propagation"]["extract"], json!(["w3c"]));

    // The proxy traces, and the collector gets the real header value.
    let url = format!("http://{}/traced", k.http);
    let deadline = Instant::now() + Duration::from_secs(10);
    while collector.spans().is_empty() && Instant::now() < deadline {
        let _ = crate::support::client::http1()
            .get(&url)
            .header("traceparent", format!("00-{TRACE}-b7ad6b7169203331-01"))
            .send()
            .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let spans = collector.spans();
    assert!(!spans.is_empty(), "no span exported");
    assert_eq!(hex::encode(&spans[0].trace_id), TRACE);
    let export = &collector.trace_exports()[0];
    assert_eq!(export.headers["authorization"], "Bearer s3cret-token");

    // Kong's refusals, in Kong's words.
    let (status, body) = k
        .json(
            Method::POST,
            "/plugins",
            json!({"name": "opentelemetry", "config": {}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string()
            .contains("at least one of these fields must be non-empty"),
        "{body}"
    );
    let (status, body) = k
        .json(
            Method::POST,
            "/plugins",
            json!({"name": "opentelemetry", "config": {
                "traces_endpoint": "http://c/v1/traces", "sampling_rate": 2}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["fields"]["config"]["sampling_rate"],
        "value should be between 0 and 1"
    );
    // Form input, numbers read by the field's type.
    let (status, created) = k
        .form(
            Method::POST,
            "/plugins",
            "name=opentelemetry&instance_name=form&config.logs_endpoint=http%3A%2F%2Fc%2Fv1%2Flogs&config.sampling_rate=0.5",
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["config"]["sampling_rate"], 0.5);
    assert_eq!(created["config"]["logs_endpoint"], "http://c/v1/logs");
    let form_id = created["id"].as_str().unwrap().to_string();

    // A fresh process on the stored document prints the same plugins.
    let (_, before) = k.get(&format!("/plugins/{ID}")).await;
    let (_, form_before) = k.get(&format!("/plugins/{form_id}")).await;
    drop(k);
    let again = Standalone::start(dir.path(), &[]).await;
    let (status, after) = again.get(&format!("/plugins/{ID}")).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["config"], before["config"]);
    let (_, form_after) = again.get(&format!("/plugins/{form_id}")).await;
    assert_eq!(form_after["config"], form_before["config"]);
}
