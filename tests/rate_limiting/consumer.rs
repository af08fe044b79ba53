//! Consumer scoping (Kong 3's precedence): after oauth2 identifies the
//! consumer, the consumer's own rate-limiting instance replaces the
//! route's; other consumers keep the route's limit. The limit is counted by
//! consumer (Kong's default `limit_by`), not by IP.

use super::{get, within_one_window};
use crate::support::client;
use crate::support::standalone::Standalone;
use crate::support::upstream::Upstream;

fn kong_yml(upstream: &Upstream) -> String {
    format!(
        r#"_format_version: "3.0"
services:
  - name: api
    url: http://{addr}
    routes:
      - name: limited
        paths: [/limited]
        plugins:
          - name: oauth2
            config:
              enable_client_credentials: true
          - name: rate-limiting
            config:
              hour: 3
consumers:
  - username: jane
    oauth2_credentials:
      - name: jane app
        client_id: jane-app
        client_secret: jane-secret-1234
  - username: joe
    oauth2_credentials:
      - name: joe app
        client_id: joe-app
        client_secret: joe-secret-12345
plugins:
  - name: rate-limiting
    consumer: jane
    config:
      hour: 1
"#,
        addr = upstream.addr
    )
}

async fn token(k: &Standalone, id: &str, secret: &str) -> String {
    let res = client::http1()
        .post(format!(
            "https://127.0.0.1:{}/limited/oauth2/token",
            k.https.port()
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    body["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {body}"))
        .to_string()
}

#[tokio::test]
async fn a_consumer_scoped_instance_overrides_the_routes() {
    within_one_window(3600, 15).await;
    let up = Upstream::start("up").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kong.yml"), kong_yml(&up)).unwrap();
    let k = Standalone::start(dir.path(), &[]).await;
    let url = format!("https://127.0.0.1:{}/limited", k.https.port());
    let jane = format!("Bearer {}", token(&k, "jane-app", "jane-secret-1234").await);
    let joe = format!("Bearer {}", token(&k, "joe-app", "joe-secret-12345").await);

    // Jane: her own instance, one an hour.
    let r = get(&url, &[("authorization", &jane)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.number("x-ratelimit-limit-hour"), 1);
    assert_eq!(r.number("x-ratelimit-remaining-hour"), 0);
    let r = get(&url, &[("authorization", &jane)]).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.body["message"], "API rate limit exceeded");

    // Joe, from the same address: the route's instance, three an hour,
    // counted for him alone.
    for remaining in [2, 1, 0] {
        let r = get(&url, &[("authorization", &joe)]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.number("x-ratelimit-limit-hour"), 3);
        assert_eq!(r.number("x-ratelimit-remaining-hour"), remaining);
    }
    assert_eq!(get(&url, &[("authorization", &joe)]).await.status, 429);
}
