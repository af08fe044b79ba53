//! ip-restriction in the real binary: the Admin API and kong.yml round
//! trip (Kong's words for refused configurations, form input, PATCH applied
//! without a restart, the stored document read back by a fresh process),
//! the `--real-ip-header` / `--real-ip-recursive` flags, and Kong's
//! precedence between consumer, consumer-group and route instances.

use crate::support::auth::get_url;
use crate::support::standalone::Standalone;
use crate::support::upstream::Upstream;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// GETs `url` until `done` holds (the table swaps a moment after a write),
/// at most 10 s; the last answer.
async fn until(url: &str, headers: &[(&str, &str)], done: impl Fn(u16) -> bool) -> (u16, Value) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = get_url(url, headers).await;
        let status = r.status.as_u16();
        if done(status) || Instant::now() > deadline {
            return (status, r.body);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn admin_api_and_kong_yml_round_trip() {
    let up = Upstream::start("up").await;
    let dir = tempfile::tempdir().unwrap();
    let k = Standalone::start(dir.path(), &[]).await;
    k.service_and_route(&format!("http://{}", up.addr), "/test")
        .await;
    let post = |body: Value| k.json(Method::POST, "/routes/r/plugins", body);

    // Kong's refusals ("allow should not accept invalid IPs", "should not
    // accept both empty allow and deny"), and stream protocols, which
    // kingress does not serve.
    let (status, body) = post(json!({"name": "ip-restriction",
        "config": {"allow": ["127.0.0.1/32", "127.0.0.2/32", "hello"]}}))
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string()
            .contains("invalid ip or cidr range: 'hello'"),
        "{body}"
    );
    let (status, body) =
        post(json!({"name": "ip-restriction", "config": {"allow": [], "deny": []}})).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string().contains(
            "at least one of these fields must be non-empty: 'config.allow', 'config.deny'"
        ),
        "{body}"
    );
    let (status, body) = post(
        json!({"name": "ip-restriction", "protocols": ["http", "tcp"],
        "config": {"deny": ["10.0.0.1"]}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["fields"]["protocols"],
        "expected one of: grpc, grpcs, http, https (got 'tcp')"
    );

    // Form input: a one-value list and a number read by the field's type.
    let (status, created) = k
        .form(
            Method::POST,
            "/routes/r/plugins",
            "name=ip-restriction&config.deny=127.0.0.1&config.status=401",
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["config"],
        json!({"allow": null, "deny": ["127.0.0.1"], "status": 401, "message": null})
    );
    let id = created["id"].as_str().unwrap().to_string();

    // Applied to the proxy, with the configured status.
    let url = format!("http://{}/test", k.http);
    let (status, body) = until(&url, &[], |s| s == 401).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        body,
        json!({"message": "IP address not allowed: 127.0.0.1"})
    );
    assert_eq!(up.requests(), 0);

    // "supports config changes without restarting", through PATCH.
    let (status, body) = k
        .json(
            Method::PATCH,
            &format!("/plugins/{id}"),
            json!({"config": {"deny": ["127.0.0.2", "127.0.0.3"]}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = until(&url, &[], |s| s == 200).await;
    assert_eq!(status, 200, "{body}");

    // A fresh process on the stored document prints the same plugin.
    let (_, before) = k.get(&format!("/plugins/{id}")).await;
    drop(k);
    let again = Standalone::start(dir.path(), &[]).await;
    let (status, after) = again.get(&format!("/plugins/{id}")).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["config"], before["config"]);
    assert_eq!(after["config"]["deny"], json!(["127.0.0.2", "127.0.0.3"]));
}

fn denying_kong_yml(up: &Upstream) -> String {
    format!(
        r#"_format_version: "3.0"
services:
  - name: api
    url: http://{addr}
    routes:
      - name: guarded
        paths: [/guarded]
        plugins:
          - name: ip-restriction
            config:
              deny: [203.0.113.9]
"#,
        addr = up.addr
    )
}

#[tokio::test]
async fn the_real_ip_flags_choose_the_client() {
    let up = Upstream::start("up").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kong.yml"), denying_kong_yml(&up)).unwrap();
    let chain = [("x-forwarded-for", "203.0.113.9, 127.0.0.1")];

    // Recursive: the trusted 127.0.0.1 hop is skipped, the denied client
    // behind it is found.
    let k = Standalone::start(
        dir.path(),
        &[
            "--trusted-ips=127.0.0.1",
            "--real-ip-header=X-Forwarded-For",
            "--real-ip-recursive",
        ],
    )
    .await;
    let url = format!("http://{}/guarded", k.http);
    let r = get_url(&url, &chain).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"message": "IP address not allowed: 203.0.113.9"})
    );
    let r = get_url(&url, &[("x-forwarded-for", "198.51.100.1")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["headers"]["x-real-ip"], "198.51.100.1");
    drop(k);

    // Not recursive: only the last hop is read, and it is 127.0.0.1.
    let k = Standalone::start(
        dir.path(),
        &[
            "--trusted-ips=127.0.0.1",
            "--real-ip-header=X-Forwarded-For",
        ],
    )
    .await;
    let url = format!("http://{}/guarded", k.http);
    let r = get_url(&url, &chain).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["headers"]["x-real-ip"], "127.0.0.1");
    let r = get_url(&url, &[("x-forwarded-for", "203.0.113.9")]).await;
    assert_eq!(r.status, 403, "{}", r.body);
}

#[tokio::test]
async fn kong_precedence_across_consumer_group_and_route() {
    // Kong 3's precedence, each step through the binary: consumer+route
    // (outsider) over route; consumer (vip) over consumer group; consumer
    // group (member) over route; the route's own instance for the rest
    // (insider). Each scoped instance runs after key-auth found the
    // consumer.
    let up = Upstream::start("up").await;
    let dir = tempfile::tempdir().unwrap();
    let yml = format!(
        r#"_format_version: "3.0"
services:
  - name: api
    url: http://{addr}
    routes:
      - name: keyed
        paths: [/keyed]
        plugins:
          - name: key-auth
          - name: ip-restriction
            config:
              allow: [127.0.0.0/8]
consumers:
  - username: insider
    keyauth_credentials:
      - key: insider-key
  - username: outsider
    keyauth_credentials:
      - key: outsider-key
  - username: member
    keyauth_credentials:
      - key: member-key
  - username: vip
    keyauth_credentials:
      - key: vip-key
    plugins:
      - name: ip-restriction
        config:
          allow: [127.0.0.1]
consumer_groups:
  - name: partners
    consumers: [member, vip]
    plugins:
      - name: ip-restriction
        config:
          deny: [127.0.0.1]
          message: Partners are blocked today
plugins:
  - name: ip-restriction
    consumer: outsider
    route: keyed
    config:
      allow: [10.0.0.0/8]
      message: Partners connect from their network
"#,
        addr = up.addr
    );
    std::fs::write(dir.path().join("kong.yml"), yml).unwrap();
    let k = Standalone::start(dir.path(), &[]).await;
    let url = format!("http://{}/keyed", k.http);
    let call = |key: &'static str| {
        let url = url.clone();
        async move { get_url(&url, &[("apikey", key)]).await }
    };
    let r = call("insider-key").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call("outsider-key").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"message": "Partners connect from their network"})
    );
    let r = call("member-key").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body, json!({"message": "Partners are blocked today"}));
    let r = call("vip-key").await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Authentication still comes first: no key is key-auth's 401.
    let r = get_url(&url, &[]).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(up.requests(), 2);
}
