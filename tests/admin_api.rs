//! The Admin API's answers compared with Kong's exact bodies, against the
//! real binary in standalone mode on loopback: per-element errors of array
//! fields, pagination of every list, and the `/oauth2_tokens` endpoint.

mod support;

use reqwest::Method;
use serde_json::json;
use support::standalone::Standalone;

#[tokio::test]
async fn array_field_errors_are_per_element_as_kong_answers() {
    let dir = tempfile::tempdir().unwrap();
    let k = Standalone::start(dir.path(), &[]).await;
    assert_eq!(
        k.form(Method::POST, "/consumers", "username=jane").await.0,
        201
    );

    let (status, body) = k
        .json(
            Method::POST,
            "/consumers/jane/oauth2",
            json!({"name": "app", "redirect_uris": ["not-valid"]}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["fields"],
        json!({"redirect_uris": ["cannot parse 'not-valid'"]})
    );
    assert_eq!(
        body["message"],
        "schema violation (redirect_uris.1: cannot parse 'not-valid')"
    );

    let (status, body) = k
        .json(
            Method::POST,
            "/consumers/jane/oauth2",
            json!({"name": "app", "redirect_uris": ["https://a.example/cb", "https://a.example/cb#x"]}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["fields"],
        json!({"redirect_uris": [null, "fragment not allowed in 'https://a.example/cb#x'"]})
    );

    let (status, body) = k
        .json(
            Method::POST,
            "/routes",
            json!({"paths": ["/ok", "bad"], "methods": ["GET", "get"], "protocols": ["http", "tcp"]}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["fields"],
        json!({
            "paths": [null, "should start with: / (fixed path) or ~/ (regex path)"],
            "methods": [null, "invalid value: get"],
            "protocols": [null, "expected one of: http, https"],
        })
    );
    assert_eq!(
        body["message"].as_str().unwrap().split(' ').next(),
        Some("3")
    );

    // A non-string element is named by its position too.
    let (status, body) = k
        .json(Method::POST, "/routes", json!({"hosts": ["a.example", 7]}))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["fields"],
        json!({"hosts": [null, "expected a string"]})
    );
    // kingress's reason for refusing a protocol Kong knows goes to the log.
    assert!(
        k.log().contains("kingress serves http and https only"),
        "{}",
        k.log()
    );
}
