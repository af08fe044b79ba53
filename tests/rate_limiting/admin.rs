//! The Admin API and kong.yml round trip of `rate-limiting` with the real
//! binary: form input read by type, Kong's defaults printed, Kong's errors,
//! the stored document read back by a fresh process, and the limit applied.

use super::{get, within_one_window};
use crate::support::standalone::Standalone;
use crate::support::upstream::Upstream;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn admin_api_and_kong_yml_round_trip() {
    within_one_window(3600, 15).await;
    let up = Upstream::start("up").await;
    let dir = tempfile::tempdir().unwrap();
    let k = Standalone::start(dir.path(), &[]).await;
    let url = format!("http://{}", up.addr);
    k.service_and_route(&url, "/test").await;

    // Kong's refusals, with Kong's words.
    let (status, body) = k
        .json(
            Method::POST,
            "/routes/r/plugins",
            json!({"name": "rate-limiting", "config": {"minute": 5, "policy": "cluster"}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["fields"]["config"]["policy"],
        "expected one of: local, redis"
    );
    let (status, body) = k
        .json(
            Method::POST,
            "/routes/r/plugins",
            json!({"name": "rate-limiting", "config": {"limit_by": "ip"}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string()
            .contains("at least one of these fields must be non-empty: 'config.second'"),
        "{body}"
    );
    let (status, body) = k
        .json(
            Method::POST,
            "/routes/r/plugins",
            json!({"name": "rate-limiting", "config": {"second": 5, "minute": 2}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string()
            .contains("The limit for minute(2.0) cannot be lower than the limit for second(5.0)"),
        "{body}"
    );

    // Form input: numbers read by the field's type (null defaults too).
    let (status, created) = k
        .form(
            Method::POST,
            "/routes/r/plugins",
            "name=rate-limiting&config.hour=2&config.limit_by=ip&config.error_message=slow+down",
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let config = &created["config"];
    assert_eq!(config["hour"], 2);
    assert_eq!(config["minute"], json!(null));
    assert_eq!(config["limit_by"], "ip");
    assert_eq!(config["policy"], "local");
    assert_eq!(config["fault_tolerant"], true);
    assert_eq!(config["error_code"], 429);
    assert_eq!(config["error_message"], "slow down");
    assert_eq!(config["sync_rate"], -1);
    assert_eq!(config["redis"]["port"], 6379);
    assert_eq!(config["redis"]["timeout"], 2000);
    let id = created["id"].as_str().unwrap().to_string();

    // Applied to the proxy.
    let proxy = format!("http://{}/test", k.http);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let first = loop {
        let r = get(&proxy, &[]).await;
        if r.header("x-ratelimit-limit-hour").is_some() || std::time::Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(first.status, 200);
    assert_eq!(first.number("x-ratelimit-remaining-hour"), 1);
    assert_eq!(get(&proxy, &[]).await.status, 200);
    let refused = get(&proxy, &[]).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.body, json!({"message": "slow down"}));

    // A fresh process on the stored document prints the same plugin.
    let (_, before) = k.get(&format!("/plugins/{id}")).await;
    drop(k);
    let again = Standalone::start(dir.path(), &[]).await;
    let (status, after) = again.get(&format!("/plugins/{id}")).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["config"], before["config"]);
}

#[tokio::test]
async fn legacy_redis_fields_print_under_both_names() {
    // 06-shorthand_fields_spec "POST/PATCH/GET request returns legacy
    // fields": a kong.yml with the flat fields is printed with both names,
    // the password masked.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kong.yml"),
        r#"_format_version: "3.0"
plugins:
  - id: 5d2f7c43-3f4e-4a59-9f3c-1d1b6c1e8a01
    name: rate-limiting
    config:
      minute: 100
      policy: redis
      redis_host: custom-host.example.test
      redis_port: 55000
      redis_username: test1
      redis_password: testXpassword
      redis_database: 1
      redis_timeout: 1100
      redis_server_name: example.test
"#,
    )
    .unwrap();
    let k = Standalone::start(dir.path(), &[]).await;
    let (status, body) = k.get("/plugins/5d2f7c43-3f4e-4a59-9f3c-1d1b6c1e8a01").await;
    assert_eq!(status, 200, "{body}");
    let c = &body["config"];
    assert_eq!(c["redis"]["host"], "custom-host.example.test", "{body}");
    assert_eq!(c["redis_host"], "custom-host.example.test", "{body}");
    assert_eq!(c["redis"]["port"], 55000);
    assert_eq!(c["redis_port"], 55000);
    assert_eq!(c["redis"]["database"], 1);
    assert_eq!(c["redis_timeout"], 1100);
    assert_eq!(c["redis"]["server_name"], "example.test");
    assert_eq!(c["redis_password"], "[redacted]");
    assert!(!body.to_string().contains("testXpassword"), "{body}");

    // Through the Admin API: accepted, and a conflict is Kong's error.
    let (status, body) = k
        .json(
            Method::POST,
            "/plugins",
            json!({"name": "rate-limiting", "instance_name": "second", "config": {
                "minute": 1, "redis_port": 7000, "redis_host": "r.example"
            }}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["config"]["redis"]["port"], 7000, "{body}");
    assert_eq!(body["config"]["redis"]["host"], "r.example", "{body}");
    let (status, body) = k
        .json(
            Method::POST,
            "/plugins",
            json!({"name": "rate-limiting", "config": {
                "minute": 1, "redis_port": 7000, "redis": {"port": 7001}
            }}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string().contains(
            "both deprecated and new field are used but their values mismatch: \
             redis_port = 7000 vs redis.port = 7001"
        ),
        "{body}"
    );
}
