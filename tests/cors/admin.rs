//! A kong.yml with cors read by the binary, printed by the Admin API with
//! Kong's defaults, Kong's regex refusal, and the preflight answered.

use crate::support::standalone::Standalone;
use crate::support::upstream::Upstream;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn kong_yml_and_admin_api_round_trip() {
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
          - name: cors
            id: 0b3c8a4e-8a51-4d33-9b55-2f1f6e0c9a11
            config:
              origins: ["https://(.*\\.)?example\\.test"]
              max_age: 600
              credentials: true
"#,
            up.addr
        ),
    )
    .unwrap();
    let k = Standalone::start(dir.path(), &[]).await;
    let (status, body) = k.get("/plugins/0b3c8a4e-8a51-4d33-9b55-2f1f6e0c9a11").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["config"],
        json!({"origins": ["https://(.*\\.)?example\\.test"], "headers": null,
               "exposed_headers": null,
               "methods": ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"],
               "max_age": 600, "credentials": true, "private_network": false,
               "preflight_continue": false, "allow_origin_absent": true})
    );
    let client = reqwest::Client::new();
    let r = client
        .request(reqwest::Method::OPTIONS, format!("http://{}/api", k.http))
        .header("origin", "https://app.example.test")
        .header("access-control-request-method", "PUT")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://app.example.test"
    );
    assert_eq!(r.headers()["access-control-max-age"], "600");
    assert_eq!(up.requests(), 0);

    let (status, body) = k
        .json(
            Method::POST,
            "/plugins",
            json!({"name": "cors", "instance_name": "bad", "config": {"origins": ["ok.test", "(unclosed"]}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["fields"]["config"]["origins"][1], "'(unclosed' is not a valid regex",
        "{body}"
    );
    // Form input: one origin becomes a one-element array, max_age a number.
    let (status, created) = k
        .form(
            Method::POST,
            "/plugins",
            "name=cors&config.origins=https://a.test&config.max_age=5&config.methods=GET",
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["config"]["origins"], json!(["https://a.test"]));
    assert_eq!(created["config"]["max_age"], 5);
    assert_eq!(created["config"]["methods"], json!(["GET"]));
    let id = created["id"].as_str().unwrap().to_string();
    drop(k);
    let again = Standalone::start(dir.path(), &[]).await;
    let (status, after) = again.get(&format!("/plugins/{id}")).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["config"], created["config"]);
}
