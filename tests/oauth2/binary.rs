//! The running `kingress standalone` binary with a kong.yml, as an operator
//! meets items of issue 21: Go's x/oauth2 client against the token endpoint
//! with a secret that form encoding changes, a multipart token request, and
//! a configured `anonymous` consumer that does not exist (Kong's 500 naming
//! it; which plugin and route asked is in the log, not the body).

use super::client_auth::go_token;
use crate::support::client;
use crate::support::oauth2::multipart_body;
use crate::support::standalone::Standalone;
use crate::support::upstream::Upstream;
use serde_json::json;
use std::time::{Duration, Instant};

const SECRET: &str = "a b+c:d%e ✓";

fn kong_yml(upstream: &Upstream) -> String {
    format!(
        r#"_format_version: "3.0"
services:
  - name: api
    url: http://{addr}
    routes:
      - name: open
        paths: [/open]
        plugins:
          - name: oauth2
            config:
              enable_client_credentials: true
              anonymous: ghost
      - name: checked
        paths: [/checked]
        plugins:
          - name: openid-connect
            config:
              issuer: "http://idp.invalid/realms/x"
              auth_methods: [kong_oauth2]
              anonymous: phantom
consumers:
  - username: jane
    oauth2_credentials:
      - name: go app
        client_id: go-app
        client_secret: "{SECRET}"
        hash_secret: true
"#,
        addr = upstream.addr
    )
}

#[tokio::test]
async fn go_client_multipart_and_a_missing_anonymous_consumer() {
    let upstream = Upstream::start("echo").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kong.yml"), kong_yml(&upstream)).unwrap();
    let kingress = Standalone::start(dir.path(), &[]).await;
    let base = format!("https://127.0.0.1:{}", kingress.https.port());
    let http = client::http1();

    // Go's x/oauth2 form-encodes the secret into Basic; argon2id-hashed.
    let token = go_token(&format!("{base}/open/oauth2/token"), "go-app", SECRET)
        .await
        .unwrap_or_else(|e| panic!("{e}\nlog:\n{}", kingress.log()));
    let r = http
        .get(format!("{base}/open/x"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        client::json(r).await["headers"]["x-consumer-username"],
        "jane"
    );

    // A multipart token request, as curl -F sends one.
    let (content_type, body) = multipart_body(
        "------------------------2b8f0e7c1d5a3e4f",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "go-app"),
            ("client_secret", SECRET),
        ],
    );
    let r = http
        .post(format!("{base}/open/oauth2/token"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(client::json(r).await["token_type"], "bearer");

    // No token, and the anonymous consumer does not exist: Kong's answer.
    for (path, name) in [("/open/x", "ghost"), ("/checked/x", "phantom")] {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 500);
        let message = format!("anonymous consumer {name} is configured but doesn't exist");
        assert_eq!(client::json(r).await, json!({ "message": message }));
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let log = kingress.log();
            let line = log
                .lines()
                .find(|l| l.contains("anonymous consumer") && l.contains(name));
            if let Some(line) = line {
                let route = if name == "ghost" { "open" } else { "checked" };
                assert!(line.contains(&format!("route={route}")), "{line}");
                assert!(line.contains("plugin="), "{line}");
                break;
            }
            assert!(Instant::now() < deadline, "not logged:\n{log}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
