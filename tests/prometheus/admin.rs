//! The Admin API and kong.yml round trip of prometheus, http-log and
//! file-log with the real binary: form input read by type, Kong's defaults
//! printed, Kong's refusals, the plugins applied (series on `/metrics`, an
//! entry at the log server, a line in the file), and the stored document
//! read back by a fresh process.

use crate::support::log_receiver::LogReceiver;
use crate::support::standalone::Standalone;
use crate::support::upstream::Upstream;
use prometheus_parse::Scrape;
use reqwest::Method;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn admin_api_and_kong_yml_round_trip() {
    let up = Upstream::start("up").await;
    let mut server = LogReceiver::start(0).await;
    let dir = tempfile::tempdir().unwrap();
    let k = Standalone::start(dir.path(), &[]).await;
    let url = format!("http://{}", up.addr);
    k.service_and_route(&url, "/test").await;

    // Kong's refusals, in Kong's words; Lua refused clearly.
    let (status, body) = k
        .json(
            Method::POST,
            "/routes/r/plugins",
            json!({"name": "http-log", "config": {"http_endpoint": server.url("/"),
                   "custom_fields_by_lua": {"a": "return 1"}}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["fields"]["config"]["custom_fields_by_lua"]
            .as_str()
            .unwrap()
            .contains("Lua code is not supported"),
        "{body}"
    );
    let (status, body) = k
        .json(
            Method::POST,
            "/routes/r/plugins",
            json!({"name": "file-log", "config": {"path": "/tmp/a*b"}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["fields"]["config"]["path"], "not a valid filename");

    // Form input read by type; Kong's defaults printed.
    let (status, created) = k
        .form(
            Method::POST,
            "/routes/r/plugins",
            "name=prometheus&config.status_code_metrics=true&config.latency_metrics=true",
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["config"]["status_code_metrics"], true);
    assert_eq!(created["config"]["per_consumer"], false);
    assert_eq!(created["config"]["bandwidth_metrics"], false);
    let prometheus = created["id"].as_str().unwrap().to_string();
    let (status, created) = k
        .json(
            Method::POST,
            "/routes/r/plugins",
            json!({"name": "http-log", "config": {"http_endpoint": server.url("/log"),
                   "headers": {"X-Token": "s3cret"}}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["config"]["method"], "POST");
    assert_eq!(created["config"]["queue"]["max_batch_size"], 1, "{created}");
    // The write's answer shows what was written (as Kong's).
    assert_eq!(created["config"]["headers"]["X-Token"], "s3cret");
    let http_log = created["id"].as_str().unwrap().to_string();
    // Not in the manifest directory: kingress would read it as a manifest.
    let logs = tempfile::tempdir().unwrap();
    let file = logs.path().join("access.json");
    let (status, created) = k
        .form(
            Method::POST,
            "/routes/r/plugins",
            &format!(
                "name=file-log&config.path={}&config.reopen=true",
                file.display()
            ),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["config"]["reopen"], true);
    let file_log = created["id"].as_str().unwrap().to_string();

    // Applied to the proxy.
    let proxy = format!("http://{}/test", k.http);
    let deadline = Instant::now() + Duration::from_secs(10);
    let got = loop {
        let _ = reqwest::get(&proxy).await;
        if let Ok(Some(r)) = tokio::time::timeout(Duration::from_millis(200), async {
            Some(server.next().await)
        })
        .await
        {
            break r;
        }
        assert!(Instant::now() < deadline, "no log entry arrived");
    };
    assert_eq!(got.json()["route"]["name"], "r");
    assert_eq!(got.headers["x-token"], "s3cret");
    let text = reqwest::get(format!("http://{}/metrics", k.status))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let m = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    assert!(
        m.samples
            .iter()
            .any(|s| s.metric == "kong_http_requests_total"
                && s.labels.get("route") == Some("r")
                && s.labels.get("service") == Some("api")),
        "{text}"
    );
    let line = std::fs::read_to_string(&file).unwrap();
    assert!(line.contains("\"route\""), "{line}");

    // A fresh process on the stored document prints the same plugins.
    let mut before = Vec::new();
    for id in [&prometheus, &http_log, &file_log] {
        before.push(k.get(&format!("/plugins/{id}")).await.1["config"].clone());
    }
    drop(k);
    let again = Standalone::start(dir.path(), &[]).await;
    for (id, config) in [&prometheus, &http_log, &file_log].iter().zip(before) {
        let (status, after) = again.get(&format!("/plugins/{id}")).await;
        assert_eq!(status, 200, "{after}");
        assert_eq!(after["config"], config);
    }
}
