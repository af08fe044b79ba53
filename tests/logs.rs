//! What operators read: kingress's log as `kubectl logs`, a file or a log
//! shipper gets it (the real binary, stderr a pipe or a file), and the
//! JSON access log's fields.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

use serde_json::Value;
use std::time::{Duration, Instant};
use support::standalone::Standalone;
use support::upstream::Upstream;

/// A Kong declarative file: one service on `upstream`, a route `/api`
/// with the oauth2 plugin, and a consumer with a client-credentials app.
fn kong_yml(upstream: &Upstream) -> String {
    format!(
        r#"_format_version: "3.0"
services:
  - name: api
    url: http://{addr}
    routes:
      - name: api
        paths: [/api]
        plugins:
          - name: oauth2
            config:
              enable_client_credentials: true
              accept_http_if_already_terminated: true
consumers:
  - username: jane
    oauth2_credentials:
      - name: app
        client_id: the-client
        client_secret: the-secret
"#,
        addr = upstream.addr
    )
}

/// The log's lines once `want` of them satisfy `pick` (the writer thread
/// writes lines out shortly after they are logged).
async fn lines_where(kingress: &Standalone, want: usize, pick: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = kingress.log();
        if log.lines().filter(|l| pick(l)).count() >= want {
            return log;
        }
        assert!(Instant::now() < deadline, "no such log lines:\n{log}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_text_log_written_to_a_pipe_has_no_colour_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = Upstream::start("api").await;
    std::fs::write(dir.path().join("kong.yml"), kong_yml(&upstream)).unwrap();
    // A TERM that asks for colour: only a terminal on stderr may get it.
    let kingress = Standalone::start_piped(dir.path(), &[], &[("TERM", "xterm-256color")]).await;
    let miss = reqwest::get(format!("http://{}/nowhere", kingress.http))
        .await
        .unwrap();
    assert_eq!(miss.status(), 404);
    let log = lines_where(&kingress, 1, |l| l.contains("kingress::access")).await;
    assert!(log.contains("listening"), "{log}");
    assert!(
        !log.as_bytes().contains(&0x1b),
        "ESC byte in a piped log:\n{log:?}"
    );
}

#[tokio::test]
async fn json_access_lines_carry_route_service_consumer_upstream_and_request_id_never_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = Upstream::start("api").await;
    std::fs::write(dir.path().join("kong.yml"), kong_yml(&upstream)).unwrap();
    let kingress = Standalone::start(dir.path(), &["--log-format", "json"]).await;
    let client = support::client::http1();

    let token: Value = client
        .post(format!("https://{}/api/oauth2/token", kingress.https))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "the-client"),
            ("client_secret", "the-secret"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().expect("a token").to_string();

    // The token in the query string, and a correlation id from the client.
    let ok = client
        .get(format!(
            "http://{}/api/items?access_token={token}",
            kingress.http
        ))
        .header("Kong-Request-ID", "corr-42")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    // The token as a bearer header, no correlation id: one is generated.
    let ok = client
        .get(format!("http://{}/api/other", kingress.http))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    let log = lines_where(&kingress, 3, |l| l.contains("\"kingress::access\"")).await;
    assert!(!log.contains(&token), "the token was logged:\n{log}");
    assert!(!log.contains("the-secret"), "the secret was logged:\n{log}");
    assert!(!log.as_bytes().contains(&0x1b), "{log:?}");
    let access: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("every line is JSON"))
        .filter(|v| v["target"] == "kingress::access")
        .collect();
    let by_path = |path: &str| {
        access
            .iter()
            .find(|v| v["fields"]["path"] == path)
            .unwrap_or_else(|| panic!("no access line for {path}: {access:#?}"))["fields"]
            .clone()
    };

    let items = by_path("/api/items");
    assert_eq!(items["status"], 200);
    assert_eq!(items["method"], "GET");
    assert_eq!(items["route"], "api");
    assert_eq!(items["service"], "api");
    assert_eq!(items["consumer"], "jane");
    assert_eq!(items["upstream"], upstream.addr.to_string());
    assert_eq!(items["request_id"], "corr-42");
    assert!(
        items["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{items}"
    );

    let other = by_path("/api/other");
    assert_eq!(other["consumer"], "jane");
    let generated = other["request_id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(generated).is_ok(), "{generated}");

    // The token endpoint answers locally: no upstream, no consumer yet.
    let issued = by_path("/api/oauth2/token");
    assert_eq!(issued["status"], 200);
    assert_eq!(issued["upstream"], "-");
    assert_ne!(issued["request_id"], generated);
}
