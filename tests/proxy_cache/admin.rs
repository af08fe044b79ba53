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

#[tokio::test]
async fn admin_api_and_kong_yml_round_trip() {
    // A route and instance made through the Admin API (form input read by
    // type), applied to the proxy, and read back by a fresh process from
    // the document the Admin API wrote.
    let up = crate::support::upstream::Upstream::start("up").await;
    let dir = tempfile::tempdir().unwrap();
    let k = crate::support::standalone::Standalone::start(dir.path(), &[]).await;
    let url = format!("http://{}", up.addr);
    k.service_and_route(&url, "/cached").await;
    // Kong's per-element array errors.
    let (status, body) = k
        .json(
            Method::POST,
            "/routes/r/plugins",
            json!({"name": "proxy-cache", "config": {"strategy": "memory", "response_code": [99]}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["fields"]["config"]["response_code"],
        json!(["value should be between 100 and 900"])
    );
    let (status, created) = k
        .form(
            Method::POST,
            "/routes/r/plugins",
            "name=proxy-cache&config.strategy=memory&config.storage_ttl=60\
             &config.vary_headers=x-tenant&config.response_headers.age=false",
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let config = &created["config"];
    assert_eq!(config["storage_ttl"], 60);
    assert_eq!(config["vary_headers"], json!(["x-tenant"]));
    assert_eq!(config["vary_query_params"], json!(null));
    assert_eq!(config["response_headers"]["age"], false);
    assert_eq!(config["response_headers"]["X-Cache-Key"], true);
    assert_eq!(config["memory"]["dictionary_name"], "kong_db_cache");
    let id = created["id"].as_str().unwrap().to_string();

    // Applied: a miss, then a hit without Age (switched off).
    let proxy = format!("http://{}/cached", k.http);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let first = loop {
        let r = crate::support::client::http1()
            .get(&proxy)
            .header("x-tenant", "a")
            .send()
            .await
            .unwrap();
        if r.headers().contains_key("x-cache-status") || std::time::Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(first.headers()["x-cache-status"], "Miss");
    let hit = crate::support::client::http1()
        .get(&proxy)
        .header("x-tenant", "a")
        .send()
        .await
        .unwrap();
    assert_eq!(hit.headers()["x-cache-status"], "Hit");
    assert!(!hit.headers().contains_key("age"));

    let (_, before) = k.get(&format!("/plugins/{id}")).await;
    drop(k);
    let again = crate::support::standalone::Standalone::start(dir.path(), &[]).await;
    let (status, after) = again.get(&format!("/plugins/{id}")).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["config"], before["config"]);
}
