//! Kong's most common use of request-termination: blocking one consumer.
//! An instance held by consumer `jane` (kong.yml `consumer:`) runs after
//! key-auth identified her; `joe` is proxied. key-auth is the route's last
//! plugin: the consumer's instances still follow it.

use crate::support::standalone::Standalone;
use crate::support::upstream::Upstream;

#[tokio::test]
async fn a_consumer_scoped_instance_blocks_only_its_consumer() {
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
          - name: key-auth
consumers:
  - username: jane
    keyauth_credentials:
      - key: jane-key
  - username: joe
    keyauth_credentials:
      - key: joe-key
plugins:
  - name: request-termination
    consumer: jane
    config:
      status_code: 403
      message: "Account suspended"
"#,
            up.addr
        ),
    )
    .unwrap();
    let k = Standalone::start(dir.path(), &[]).await;
    let client = reqwest::Client::new();
    let url = format!("http://{}/api", k.http);
    let r = client
        .get(&url)
        .header("apikey", "jane-key")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"message": "Account suspended"})
    );
    let r = client
        .get(&url)
        .header("apikey", "joe-key")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(up.requests(), 1);
}
