//! The Admin API and kong.yml round trip of `request-termination` with the
//! real binary: Kong's cross-field messages, defaults, the answer applied,
//! and the stored document read back by a fresh process.

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
    for (config, field, message) in [
        (
            json!({"message": "error", "body": "test"}),
            None,
            "message cannot be used with content_type or body",
        ),
        (
            json!({"content_type": "text/html"}),
            None,
            "content_type requires a body",
        ),
        (
            json!({"status_code": 600}),
            Some("status_code"),
            "value should be between 100 and 599",
        ),
    ] {
        let (status, body) = k
            .json(
                Method::POST,
                "/routes/r/plugins",
                json!({"name": "request-termination", "config": config}),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        let at = match field {
            Some(f) => &body["fields"]["config"][f],
            None => &body["fields"]["config"],
        };
        assert_eq!(at, message, "{body}");
    }
    let (status, created) = k
        .form(
            Method::POST,
            "/routes/r/plugins",
            "name=request-termination&config.status_code=403&config.trigger=x-stop",
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["config"],
        json!({"status_code": 403, "message": null, "content_type": null, "body": null,
               "echo": false, "trigger": "x-stop"})
    );
    let id = created["id"].as_str().unwrap().to_string();
    let client = reqwest::Client::new();
    let url = format!("http://{}/test", k.http);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = client.get(&url).header("x-stop", "1").send().await.unwrap();
        if r.status() == 403 {
            assert_eq!(r.text().await.unwrap(), "");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never terminated: {}",
            r.status()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    drop(k);
    let again = Standalone::start(dir.path(), &[]).await;
    let (status, after) = again.get(&format!("/plugins/{id}")).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["config"], created["config"]);
}
