//! Kong's `file-log` through the real proxy on loopback, writing a real
//! file. Cases from Kong's `spec/03-plugins/04-file-log/01-log_spec.lua`,
//! named per test.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use support::auth::{get, plugin};
use support::proxy::{TestProxy, route, service, table};
use support::upstream::Upstream;

async fn with(config: Value) -> (Upstream, TestProxy) {
    let up = Upstream::start("api").await;
    let mut r = route("api", &["/"], "api");
    r.plugins = vec![plugin("file-log", &config)];
    let t = table(vec![r], vec![service("api", &[up.addr])]);
    (up, TestProxy::start(t).await)
}

/// The file's JSON lines once it has `n` of them (waits up to 5 s).
async fn lines(path: &Path, n: usize) -> Vec<Value> {
    for _ in 0..100 {
        if let Ok(text) = std::fs::read_to_string(path) {
            let lines: Vec<Value> = text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            if lines.len() >= n {
                return lines;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} never had {n} lines", path.display());
}

#[tokio::test]
async fn logs_to_file() {
    // "logs to file"
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("file.log");
    let (_up, proxy) = with(json!({"path": path.to_str().unwrap()})).await;
    get(&proxy, "/status/200", &[("file-log-uuid", "u1")]).await;
    get(&proxy, "/status/404", &[("file-log-uuid", "u2")]).await;
    let entries = lines(&path, 2).await;
    assert_eq!(entries[0]["request"]["headers"]["file-log-uuid"], "u1");
    assert_eq!(entries[0]["response"]["status"], 200);
    assert_eq!(entries[1]["request"]["headers"]["file-log-uuid"], "u2");
    assert_eq!(entries[1]["response"]["status"], 404);
    assert_eq!(entries[1]["request"]["method"], "GET");
    // Kong creates the file 0644.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
}

#[tokio::test]
async fn reopen_follows_a_rotated_file() {
    // "reopens file on each request": after the file is moved away, the
    // next entry goes to a new file at `path`.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("file.log");
    let (_up, proxy) = with(json!({"path": path.to_str().unwrap(), "reopen": true})).await;
    get(&proxy, "/", &[("file-log-uuid", "before")]).await;
    lines(&path, 1).await;
    let rotated = dir.path().join("file.log.1");
    std::fs::rename(&path, &rotated).unwrap();
    get(&proxy, "/", &[("file-log-uuid", "after")]).await;
    let fresh = lines(&path, 1).await;
    assert_eq!(fresh.len(), 1);
    assert_eq!(fresh[0]["request"]["headers"]["file-log-uuid"], "after");
    let old = lines(&rotated, 1).await;
    assert_eq!(old.len(), 1);
    assert_eq!(old[0]["request"]["headers"]["file-log-uuid"], "before");
}

#[tokio::test]
async fn without_reopen_a_rotated_file_keeps_receiving() {
    // "does not reopen file when reopen is false" (the open descriptor
    // follows the renamed file, as in Kong).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("file.log");
    let (_up, proxy) = with(json!({"path": path.to_str().unwrap()})).await;
    get(&proxy, "/", &[("file-log-uuid", "before")]).await;
    lines(&path, 1).await;
    let rotated = dir.path().join("file.log.1");
    std::fs::rename(&path, &rotated).unwrap();
    get(&proxy, "/", &[("file-log-uuid", "after")]).await;
    let old = lines(&rotated, 2).await;
    assert_eq!(old[1]["request"]["headers"]["file-log-uuid"], "after");
    assert!(!path.exists());
}

#[tokio::test]
async fn the_secrets_of_a_request_are_not_written() {
    // "redacts Authorization" (Kong 3) and kingress's other credentials.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("file.log");
    let (_up, proxy) = with(json!({"path": path.to_str().unwrap()})).await;
    get(
        &proxy,
        "/?apikey=sekrit1",
        &[("authorization", "Basic sekrit2")],
    )
    .await;
    lines(&path, 1).await;
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("sekrit"), "{text}");
}

#[tokio::test]
async fn client_ip_is_the_resolved_client() {
    // Kong's serializer logs `client_ip = $remote_addr`: what a trusted
    // peer's X-Real-IP names, and the peer itself otherwise.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("file.log");
    let up = Upstream::start("api").await;
    let mut r = route("api", &["/"], "api");
    r.plugins = vec![plugin("file-log", &json!({"path": path.to_str().unwrap()}))];
    let settings = support::proxy::Settings {
        trusted_ips: kingress::plugins::TrustedIps::parse(&["127.0.0.1".into()]).unwrap(),
        ..Default::default()
    };
    let proxy = TestProxy::start_with(
        table(vec![r.clone()], vec![service("api", &[up.addr])]),
        settings,
    )
    .await;
    get(&proxy, "/", &[("x-real-ip", "192.0.2.44")]).await;
    // The log phase runs after the answer: its line first, then the next.
    lines(&path, 1).await;
    let untrusted = TestProxy::start(table(vec![r], vec![service("api", &[up.addr])])).await;
    get(&untrusted, "/", &[("x-real-ip", "192.0.2.45")]).await;
    let entries = lines(&path, 2).await;
    assert_eq!(entries[0]["client_ip"], "192.0.2.44");
    assert_eq!(entries[1]["client_ip"], "127.0.0.1");
}
