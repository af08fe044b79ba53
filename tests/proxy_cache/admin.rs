//! Kong's `03-api_spec.lua`: the `/proxy-cache` Admin API (DB-less Kong
//! serves it too), and the plugin through the Admin API and kong.yml.

use super::{Kong, PLUGIN1};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn delete_a_cache_entry() {
    let kong = Kong::start(&[]).await;
    let debug = [("kong-debug", "1")];
    let res = kong.get("/route-1/get", &debug).await;
    assert_eq!(res.cache(), Some("Miss"));
    let key = res.key();
    assert_eq!(kong.get("/route-1/get", &debug).await.cache(), Some("Hit"));
    // Delete the key under its instance.
    let (status, _) = kong
        .k
        .form(
            Method::DELETE,
            &format!("/proxy-cache/{PLUGIN1}/caches/{key}"),
            "",
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(kong.get("/route-1/get", &debug).await.cache(), Some("Miss"));
    // Delete directly, looking through every proxy-cache instance.
    let (status, _) = kong
        .k
        .form(Method::DELETE, &format!("/proxy-cache/{key}"), "")
        .await;
    assert_eq!(status, 204);
    assert_eq!(kong.get("/route-1/get", &debug).await.cache(), Some("Miss"));
}

#[tokio::test]
async fn purge_all_the_cache_entries() {
    let kong = Kong::start(&[]).await;
    for route in ["/route-1/get", "/route-2/get"] {
        assert_eq!(kong.get(route, &[]).await.cache(), Some("Miss"));
        assert_eq!(kong.get(route, &[]).await.cache(), Some("Hit"));
    }
    let (status, body) = kong.k.form(Method::DELETE, "/proxy-cache", "").await;
    assert_eq!((status, body), (204, serde_json::Value::Null));
    for route in ["/route-1/get", "/route-2/get"] {
        assert_eq!(kong.get(route, &[]).await.cache(), Some("Miss"));
    }
}

#[tokio::test]
async fn missing_keys_and_instances_are_404() {
    let kong = Kong::start(&[]).await;
    // "delete a non-existing cache key"
    let (status, _) = kong.k.form(Method::DELETE, "/proxy-cache", "").await;
    assert_eq!(status, 204);
    let (status, _) = kong
        .k
        .form(
            Method::DELETE,
            &format!("/proxy-cache/{PLUGIN1}/caches/123"),
            "",
        )
        .await;
    assert_eq!(status, 404);
    // "delete a non-existing plugins's cache key"
    let (status, _) = kong
        .k
        .form(
            Method::DELETE,
            "/proxy-cache/00000000-0000-4000-8000-000000000000/caches/123",
            "",
        )
        .await;
    assert_eq!(status, 404);
    // "get a non-existing cache"
    let res = kong.get("/route-1/get", &[]).await;
    let key = res.key();
    kong.k.form(Method::DELETE, "/proxy-cache", "").await;
    let (status, _) = kong
        .k
        .get(&format!("/proxy-cache/{PLUGIN1}/caches/{key}"))
        .await;
    assert_eq!(status, 404);
    let (status, _) = kong.k.get(&format!("/proxy-cache/{key}")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn get_an_existing_cache() {
    let kong = Kong::start(&[]).await;
    let res = kong.get("/route-1/get", &[("kong-debug", "1")]).await;
    let key = res.key();
    for path in [
        format!("/proxy-cache/{PLUGIN1}/caches/{key}"),
        format!("/proxy-cache/{key}"),
    ] {
        let (status, body) = kong.k.get(&path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(body["headers"]["X-Cache-Key"], key.as_str());
        assert_eq!(body["status"], 200);
        assert_eq!(body["version"], 1);
        assert_eq!(body["body"], String::from_utf8_lossy(&res.body).as_ref());
        assert_eq!(body["body_len"], res.body.len());
        assert_eq!(body["ttl"], 300);
    }
}

#[tokio::test]
async fn the_plugin_through_the_admin_api() {
    let kong = Kong::start(&[]).await;
    // kong.yml's instance as the Admin API prints it, Kong's defaults
    // filled in.
    let (status, body) = kong.k.get(&format!("/plugins/{PLUGIN1}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "proxy-cache");
    assert_eq!(body["config"]["strategy"], "memory");
    assert_eq!(body["config"]["response_code"], json!([200, 301, 404]));
    assert_eq!(body["config"]["cache_ttl"], 300);
    assert_eq!(body["config"]["memory"]["dictionary_name"], "kong");
    assert_eq!(body["config"]["response_headers"]["X-Cache-Status"], true);
    // "accepts an array of numbers as strings" / "casts an array of
    // response_code values to number types"
    let (status, body) = kong
        .k
        .json(
            Method::POST,
            "/plugins",
            json!({"name": "proxy-cache", "config": {
                "strategy": "memory", "memory": {"dictionary_name": "kong"},
                "response_code": [123, 200], "cache_ttl": 600,
                "request_method": ["GET"], "content_type": ["text/json"]}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["config"]["response_code"], json!([123, 200]));
    // "errors if response_code is an empty array"
    let (status, body) = kong
        .k
        .json(
            Method::POST,
            "/plugins",
            json!({"name": "proxy-cache", "config": {
                "strategy": "memory", "response_code": []}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["fields"]["config"]["response_code"],
        "length must be at least 1"
    );
    // A strategy kingress does not have is refused, naming it.
    let (status, body) = kong
        .k
        .json(
            Method::POST,
            "/plugins",
            json!({"name": "proxy-cache", "config": {"strategy": "redis"}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["fields"]["config"]["strategy"],
        "expected one of: memory"
    );
}
