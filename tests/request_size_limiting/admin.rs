//! The Admin API and kong.yml round trip of `request-size-limiting` with
//! the real binary: Kong's defaults and errors, the limit applied, and the
//! stored document read back by a fresh process.

use crate::support::standalone::Standalone;
use crate::support::upstream::Upstream;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn admin_api_and_kong_yml_round_trip() {
    let up = Upstream::start("up").await;
    let dir = tempfile::tempdir().unwrap();
    let k = Standalone::start(dir.path(), &[]).await;
    k.service_and_route(&format!("http://{}", up.addr), "/test")
        .await;
    let (status, body) = k
        .json(
            Method::POST,
            "/routes/r/plugins",
            json!({"name": "request-size-limiting", "config": {"size_unit": "gigabytes"}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["fields"]["config"]["size_unit"],
        "expected one of: megabytes, kilobytes, bytes"
    );
    let (status, created) = k
        .form(
            Method::POST,
            "/routes/r/plugins",
            "name=request-size-limiting&config.allowed_payload_size=10&config.size_unit=bytes",
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["config"],
        json!({"allowed_payload_size": 10, "size_unit": "bytes", "require_content_length": false})
    );
    let id = created["id"].as_str().unwrap().to_string();
    let client = reqwest::Client::new();
    let url = format!("http://{}/test", k.http);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = client.post(&url).body("x".repeat(11)).send().await.unwrap();
        if r.status() == 413 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never limited: {}",
            r.status()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let r = client.post(&url).body("x".repeat(10)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    drop(k);
    let again = Standalone::start(dir.path(), &[]).await;
    let (status, after) = again.get(&format!("/plugins/{id}")).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["config"], created["config"]);
}
