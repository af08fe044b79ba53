//! Who may change the configuration through the Admin API of `kingress
//! standalone`: the real binary on loopback ports, requests written on raw
//! TCP where a client library would correct the `Host` header. A write a
//! browser could be tricked into sending (DNS rebinding, a cross-site
//! form) is refused with 403 and changes nothing; curl-style writes still
//! work; with `--admin-token` every request needs `Kong-Admin-Token`, and
//! the token never reaches the log.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

use serde_json::Value;
use std::path::Path;
use support::standalone::{Standalone, exchange};

const FORM: &str = "Content-Type: application/x-www-form-urlencoded";
const ADMIN_FILE: &str = "kingress-admin.kong.yaml";

/// A form POST creating consumer `name`, with extra header lines.
async fn create_consumer(k: &Standalone, name: &str, headers: &[&str]) -> (u16, Value) {
    let mut head = format!("POST /consumers HTTP/1.1\r\n{FORM}");
    for h in headers {
        head.push_str("\r\n");
        head.push_str(h);
    }
    let answer = exchange(k.admin, &head, &format!("username={name}")).await;
    let body = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
    (answer.status, body)
}

/// The usernames the Admin API lists.
async fn usernames(k: &Standalone, headers: &[&str]) -> Vec<String> {
    let mut head = "GET /consumers HTTP/1.1".to_string();
    for h in headers {
        head.push_str("\r\n");
        head.push_str(h);
    }
    let answer = exchange(k.admin, &head, "").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body: Value = serde_json::from_str(&answer.body).unwrap();
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["username"].as_str().unwrap().to_string())
        .collect()
}

fn admin_file(dir: &Path) -> Option<String> {
    std::fs::read_to_string(dir.join(ADMIN_FILE)).ok()
}

#[tokio::test]
async fn forged_hosts_and_cross_site_writes_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let k = Standalone::start(dir.path(), &[]).await;
    let own = format!("Host: {}", k.admin);

    // DNS rebinding: the browser sends the attacker's name as Host.
    for host in ["Host: evil.test", "Host: evil.test:8001", "Host: 10.9.8.7"] {
        let (status, body) = create_consumer(&k, "mallory", &[host]).await;
        assert_eq!(status, 403, "{host}: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("--admin-allowed-hosts"),
            "{body}"
        );
    }
    // No Host at all (HTTP/1.0 style).
    let answer = exchange(
        k.admin,
        &format!("POST /consumers HTTP/1.0\r\n{FORM}"),
        "username=x",
    )
    .await;
    assert_eq!(answer.status, 403, "{}", answer.body);

    // A cross-site form POST (no preflight in a browser), and the same as
    // JSON, and a browser's Sec-Fetch-Site without an Origin.
    let (status, body) = create_consumer(&k, "mallory", &[&own, "Origin: http://evil.test"]).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["message"],
        "Admin API writes from another origin are not allowed"
    );
    let json = exchange(
        k.admin,
        &format!("PUT /consumers/mallory HTTP/1.1\r\n{own}\r\nOrigin: http://evil.test\r\nContent-Type: application/json"),
        "{}",
    )
    .await;
    assert_eq!(json.status, 403, "{}", json.body);
    let (status, _) = create_consumer(&k, "mallory", &[&own, "Sec-Fetch-Site: cross-site"]).await;
    assert_eq!(status, 403);
    // A page on another port of localhost is another origin too.
    let (status, _) = create_consumer(
        &k,
        "mallory",
        &["Host: localhost", "Origin: http://localhost:3000"],
    )
    .await;
    assert_eq!(status, 403);

    // Nothing was written: no file, no consumer.
    assert_eq!(admin_file(dir.path()), None);
    assert!(usernames(&k, &[&own]).await.is_empty());
    k.eventually_logged("Admin API request refused").await;
    let log = k.log();
    assert!(log.contains("WARN"), "{log}");

    // Curl-style (no Origin), same-origin, and localhost writes work.
    let (status, body) = create_consumer(&k, "curl", &[&own]).await;
    assert_eq!(status, 201, "{body}");
    let origin = format!("Origin: http://{}", k.admin);
    let (status, body) = create_consumer(&k, "browser", &[&own, &origin]).await;
    assert_eq!(status, 201, "{body}");
    let host = format!("Host: localhost:{}", k.admin.port());
    let (status, body) = create_consumer(&k, "local", &[&host]).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = create_consumer(&k, "v6", &["Host: [::1]"]).await;
    assert_eq!(status, 201, "{body}");
    let mut names = usernames(&k, &[&own]).await;
    names.sort();
    assert_eq!(names, ["browser", "curl", "local", "v6"]);
    assert!(admin_file(dir.path()).unwrap().contains("curl"));

    // Reads are not refused for their Host.
    assert_eq!(usernames(&k, &["Host: elsewhere.test"]).await.len(), 4);
}

#[tokio::test]
async fn allowed_hosts_accept_writes_under_an_operators_name() {
    let dir = tempfile::tempdir().unwrap();
    let k = Standalone::start(dir.path(), &["--admin-allowed-hosts", "admin.example"]).await;
    let (status, body) = create_consumer(&k, "ops", &["Host: admin.example:8001"]).await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = create_consumer(&k, "evil", &["Host: evil.example"]).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn with_a_token_every_request_needs_it_and_it_is_never_logged() {
    const TOKEN: &str = "Zq8-admin-token-4f1c9a";
    let dir = tempfile::tempdir().unwrap();
    let k = Standalone::start(dir.path(), &["--admin-token", TOKEN]).await;
    let own = format!("Host: {}", k.admin);
    let good = format!("Kong-Admin-Token: {TOKEN}");
    let wrong = format!("Kong-Admin-Token: {TOKEN}x");

    for token in [None, Some(wrong.as_str()), Some("Kong-Admin-Token: ")] {
        let mut head = format!("GET /consumers HTTP/1.1\r\n{own}");
        if let Some(t) = token {
            head = format!("{head}\r\n{t}");
        }
        let read = exchange(k.admin, &head, "").await;
        assert_eq!(read.status, 401, "{token:?}: {}", read.body);
        let body: Value = serde_json::from_str(&read.body).unwrap();
        assert_eq!(
            body["message"],
            "Invalid credentials. Token or User credentials required"
        );
        let headers: Vec<&str> = token.into_iter().collect();
        let (status, _) =
            create_consumer(&k, "nobody", &[&[own.as_str()], &headers[..]].concat()).await;
        assert_eq!(status, 401, "{token:?}");
    }
    assert_eq!(admin_file(dir.path()), None);

    let (status, body) = create_consumer(&k, "jane", &[&own, &good]).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(usernames(&k, &[&own, &good]).await, ["jane"]);
    // The token does not lift the Host rule.
    let (status, _) = create_consumer(&k, "evil", &["Host: evil.test", &good]).await;
    assert_eq!(status, 403);

    k.eventually_logged("Admin API request refused").await;
    let log = k.settled_log().await;
    assert!(
        !log.contains("admin-token-4f1c9a"),
        "the token is in the log:\n{log}"
    );
}

#[tokio::test]
async fn the_token_can_come_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = tempfile::tempdir().unwrap();
    let file = secrets.path().join("admin-token");
    std::fs::write(&file, "from-a-file-7d2e\n").unwrap();
    let k = Standalone::start(dir.path(), &["--admin-token-file", file.to_str().unwrap()]).await;
    let own = format!("Host: {}", k.admin);
    let read = exchange(k.admin, &format!("GET / HTTP/1.1\r\n{own}"), "").await;
    assert_eq!(read.status, 401);
    let read = exchange(
        k.admin,
        &format!("GET / HTTP/1.1\r\n{own}\r\nKong-Admin-Token: from-a-file-7d2e"),
        "",
    )
    .await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert!(!k.settled_log().await.contains("from-a-file-7d2e"));
}

#[tokio::test]
async fn the_read_only_admin_api_of_cluster_mode_checks_the_token_too() {
    use kingress::admin::AdminServer;
    use kingress::model::Sensitive;
    use kingress::plugins::{Runtime, TrustedIps};
    use kingress::publish::TableHandle;
    use kingress::tokens::TokenStore;

    // Cluster mode's Admin API: no writes attached, a token set.
    let table = TableHandle::new();
    table.publish(kingress::model::Table::default());
    let runtime = Runtime::new(TokenStore::memory(), TrustedIps::default());
    let metrics = kingress::metrics::Metrics::new();
    let limits = kingress::listen::Limits::default();
    let admin = AdminServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        table,
        runtime,
        &metrics,
        limits,
    )
    .await
    .unwrap()
    .guarded(Some(&Sensitive::new("cluster-token")), &[])
    .unwrap();
    let addr = admin.local_addr();
    let task = tokio::spawn(admin.serve());
    let own = format!("Host: {addr}");

    let read = exchange(addr, &format!("GET /routes HTTP/1.1\r\n{own}"), "").await;
    assert_eq!(read.status, 401, "{}", read.body);
    let write = exchange(
        addr,
        &format!("POST /routes HTTP/1.1\r\n{own}\r\n{FORM}"),
        "name=a",
    )
    .await;
    assert_eq!(write.status, 401, "{}", write.body);
    let token = "Kong-Admin-Token: cluster-token";
    let read = exchange(
        addr,
        &format!("GET /routes HTTP/1.1\r\n{own}\r\n{token}"),
        "",
    )
    .await;
    assert_eq!(read.status, 200, "{}", read.body);
    // Past the token, a cluster-mode write is still 405.
    let write = exchange(
        addr,
        &format!("POST /routes HTTP/1.1\r\n{own}\r\n{token}\r\n{FORM}"),
        "name=a",
    )
    .await;
    assert_eq!(write.status, 405, "{}", write.body);
    task.abort();
}
