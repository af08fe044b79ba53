//! The binary: a kong.yml with correlation-id, the id as the JSON access
//! log's `request_id` (Kong's "Plugin: correlation-id (access) … contains
//! the Correlation ID" of the log serializer), and the Admin API round trip.

use crate::support::standalone::Standalone;
use crate::support::upstream::Upstream;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[tokio::test]
async fn the_access_log_request_id_is_the_correlation_id() {
    let up = Upstream::start("api").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kong.yml"),
        format!(
            r#"_format_version: "3.0"
services:
  - name: api
    url: http://{}
    routes:
      - name: api
        paths: [/api]
        plugins:
          - name: correlation-id
            config:
              header_name: X-Trace
              generator: uuid
              echo_downstream: true
"#,
            up.addr
        ),
    )
    .unwrap();
    let k = Standalone::start(dir.path(), &["--log-format", "json"]).await;
    let r = reqwest::get(format!("http://{}/api/generated", k.http))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let generated = r.headers()["x-trace"].to_str().unwrap().to_string();
    let client = reqwest::Client::new();
    let r = client
        .get(format!("http://{}/api/sent", k.http))
        .header("x-trace", "client-7")
        .header("kong-request-id", "ignored-here")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-trace"], "client-7");
    let lines = access_lines(&k, 2).await;
    let id_of = |path: &str| {
        lines
            .iter()
            .find(|l| l["fields"]["path"] == path)
            .unwrap_or_else(|| panic!("no line for {path}: {lines:?}"))["fields"]["request_id"]
            .clone()
    };
    assert_eq!(id_of("/api/generated"), generated.as_str());
    assert_eq!(id_of("/api/sent"), "client-7");

    // The Admin API prints the kong.yml instance with Kong's defaults, and
    // refuses what Kong refuses.
    let (status, body) = k.get("/plugins").await;
    assert_eq!(status, 200, "{body}");
    let config = &body["data"][0]["config"];
    assert_eq!(
        *config,
        json!({"header_name": "X-Trace", "generator": "uuid", "echo_downstream": true})
    );
    let (status, body) = k
        .json(
            Method::POST,
            "/plugins",
            json!({"name": "correlation-id", "config": {"generator": "uuid4"}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["fields"]["config"]["generator"],
        "expected one of: uuid, uuid#counter, tracker"
    );
    let (status, created) = k
        .form(
            Method::POST,
            "/plugins",
            "name=correlation-id&instance_name=second&config.echo_downstream=true",
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["config"]["generator"], "uuid#counter");
    assert_eq!(created["config"]["header_name"], "Kong-Request-ID");
    assert_eq!(created["config"]["echo_downstream"], true);
    let id = created["id"].as_str().unwrap().to_string();
    drop(k);
    // A fresh process on the stored document prints the same plugin.
    let again = Standalone::start(dir.path(), &[]).await;
    let (status, after) = again.get(&format!("/plugins/{id}")).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["config"], created["config"]);
}

/// The JSON access lines, once there are `want` of them.
async fn access_lines(k: &Standalone, want: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines: Vec<Value> = k
            .log()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["target"] == "kingress::access")
            .collect();
        if lines.len() >= want {
            return lines;
        }
        assert!(Instant::now() < deadline, "no access lines:\n{}", k.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
