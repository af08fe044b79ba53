//! The running `kingress standalone` binary with a kong.yml holding one
//! jwt route and HS256 and RS256 `jwt_secrets` (the shape the bench uses),
//! printed back by the Admin API's `/consumers/{c}/jwt` and `/jwts`.

use crate::support::client;
use crate::support::jwt::{encode, payload, pem};
use crate::support::standalone::Standalone;
use crate::support::upstream::Upstream;
use serde_json::json;

fn kong_yml(upstream: &Upstream) -> String {
    let public = pem("rsa_public").replace('\n', "\n          ");
    format!(
        r#"_format_version: "3.0"
services:
  - name: api
    url: http://{addr}
    routes:
      - name: jwt
        paths: [/jwt]
        plugins:
          - name: jwt
consumers:
  - username: jane
    jwt_secrets:
      - key: jane-hs
        secret: jane-secret
      - key: jane-rs
        algorithm: RS256
        rsa_public_key: |
          {public}
"#,
        addr = upstream.addr
    )
}

async fn get(kingress: &Standalone, bearer: &str) -> (u16, serde_json::Value) {
    let r = client::http1()
        .get(format!("http://{}/jwt/x", kingress.http))
        .header("authorization", format!("Bearer {bearer}"))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, client::json(r).await)
}

#[tokio::test]
async fn a_kong_yml_jwt_route_with_hs256_and_rs256_secrets() {
    let upstream = Upstream::start("echo").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kong.yml"), kong_yml(&upstream)).unwrap();
    let kingress = Standalone::start(dir.path(), &[]).await;

    let hs = encode(&payload("jane-hs"), "jane-secret", "HS256");
    let (status, body) = get(&kingress, &hs).await;
    assert_eq!(status, 200, "{body}\nlog:\n{}", kingress.log());
    assert_eq!(body["headers"]["x-consumer-username"], "jane");
    assert_eq!(body["headers"]["x-credential-identifier"], "jane-hs");
    let rs = encode(&payload("jane-rs"), &pem("rsa_private"), "RS256");
    let (status, body) = get(&kingress, &rs).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["headers"]["x-credential-identifier"], "jane-rs");
    let wrong = encode(&payload("jane-hs"), "not-the-secret", "HS256");
    let (status, body) = get(&kingress, &wrong).await;
    assert_eq!(
        (status, body),
        (401, json!({"message": "Invalid signature"}))
    );

    // The Admin API prints them as Kong does.
    let (status, body) = kingress.get("/consumers/jane/jwt").await;
    assert_eq!(status, 200, "{body}");
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 2, "{body}");
    let rsa = data.iter().find(|c| c["key"] == "jane-rs").unwrap();
    assert_eq!(rsa["algorithm"], "RS256");
    assert_eq!(rsa["rsa_public_key"], pem("rsa_public"));

    let (status, body) = kingress.get("/jwts").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"].as_array().unwrap().len(), 2, "{body}");
}
