//! Kong's `02-access_spec.lua`: hits, misses, bypasses, keys and TTLs.

use super::Kong;
use reqwest::Method;
use std::time::Duration;

#[tokio::test]
async fn caches_a_simple_request() {
    let kong = Kong::start(&[]).await;
    let res = kong.get("/route-1/get", &[]).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.cache(), Some("Miss"));
    let key1 = res.key();
    let res2 = kong.get("/route-1/get", &[]).await;
    assert_eq!(res2.status, 200);
    assert_eq!(res2.cache(), Some("Hit"));
    assert_eq!(res2.key(), key1);
    // Same bytes, and the upstream saw one request only.
    assert_eq!(res.body, res2.body);
    assert_eq!(kong.upstream.requests(), 1);
    assert_eq!(res2.header("content-type"), Some("application/json"));
    assert_eq!(res2.header("age"), Some("0"));
}

#[tokio::test]
async fn no_x_cache_headers_nor_age_without_kong_debug() {
    // "No X-Cache* neither age headers on the response without debug header
    // in the query"
    let kong = Kong::start(&[]).await;
    let res = kong.get("/route-22/get", &[]).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.cache(), None);
    let res = kong.get("/route-22/get", &[]).await;
    assert_eq!(res.cache(), None);
    assert_eq!(res.header("x-cache-key"), None);
    assert_eq!(res.header("age"), None);
    // Still a hit: the upstream was asked once.
    assert_eq!(kong.upstream.requests(), 1);
    let res = kong.get("/route-22/get", &[("kong-debug", "1")]).await;
    assert_eq!(res.cache(), Some("Hit"));
    assert!(res.header("age").is_some());
    res.key();
}

#[tokio::test]
async fn response_headers_when_configured_and_by_default() {
    // "response_headers headers on the response when configured" and
    // "... when set to default"
    let kong = Kong::start(&[]).await;
    for route in ["/route-23/get", "/route-24/get"] {
        let res = kong.get(route, &[]).await;
        assert_eq!(res.cache(), Some("Miss"));
        res.key();
        assert_eq!(res.header("age"), None);
        let res = kong.get(route, &[]).await;
        assert_eq!(res.cache(), Some("Hit"));
        assert!(res.header("age").is_some());
        res.key();
    }
}

#[tokio::test]
async fn respects_cache_ttl() {
    let kong = Kong::start(&[]).await;
    // route-6: cache_ttl 1, so the entry is gone after it.
    assert_eq!(kong.get("/route-6/get", &[]).await.cache(), Some("Miss"));
    assert_eq!(kong.get("/route-6/get", &[]).await.cache(), Some("Hit"));
    // route-9: cache_ttl 1 and storage_ttl 60: kept, but stale.
    assert_eq!(kong.get("/route-9/get", &[]).await.cache(), Some("Miss"));
    assert_eq!(kong.get("/route-9/get", &[]).await.cache(), Some("Hit"));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(kong.get("/route-6/get", &[]).await.cache(), Some("Miss"));
    assert_eq!(kong.get("/route-6/get", &[]).await.cache(), Some("Hit"));
    assert_eq!(kong.get("/route-9/get", &[]).await.cache(), Some("Refresh"));
    assert_eq!(kong.get("/route-9/get", &[]).await.cache(), Some("Hit"));
    assert_eq!(kong.upstream.requests(), 4);
}

#[tokio::test]
async fn separate_keys_for_the_same_consumer_between_routes() {
    // "uses a separate cache key for the same consumer between routes" and
    // "... between routes/services" (both through the global instance).
    let kong = Kong::start(&[]).await;
    let bob = [("apikey", "bob")];
    let key13 = kong.get("/route-13/get", &bob).await.key();
    let key14 = kong.get("/route-14/get", &bob).await.key();
    assert_ne!(key13, key14);
    let key15 = kong.get("/route-15/get", &bob).await.key();
    let key16 = kong.get("/route-16/get", &bob).await.key();
    assert_ne!(key15, key16);
}

#[tokio::test]
async fn separate_keys_between_route_specific_and_global_instances() {
    // "uses an separate cache key between routes-specific and a global
    // plugin" and "differentiates caches between instances"
    let kong = Kong::start(&[]).await;
    let res3 = kong.get("/route-3/get", &[]).await;
    assert_eq!(res3.cache(), Some("Miss"));
    let res4 = kong.get("/route-4/get", &[]).await;
    assert_eq!(res4.cache(), Some("Miss"));
    assert_ne!(res3.key(), res4.key());
    let res = kong.get("/route-2/get", &[]).await;
    assert_eq!(res.cache(), Some("Miss"));
    let again = kong.get("/route-2/get", &[]).await;
    assert_eq!(again.cache(), Some("Hit"));
    assert_eq!(res.key(), again.key());
}

#[tokio::test]
async fn request_params_are_part_of_the_key() {
    // "uses request params as part of the cache key"
    let kong = Kong::start(&[]).await;
    let status = |path: &'static str| {
        let kong = &kong;
        async move { kong.get(path, &[]).await.cache().map(str::to_string) }
    };
    assert_eq!(
        status("/route-1/get?a=b&b=c").await.as_deref(),
        Some("Miss")
    );
    assert_eq!(status("/route-1/get?a=c").await.as_deref(), Some("Miss"));
    assert_eq!(status("/route-1/get?b=c&a=b").await.as_deref(), Some("Hit"));
    assert_eq!(status("/route-1/get?a&b").await.as_deref(), Some("Miss"));
    assert_eq!(status("/route-1/get?a&b").await.as_deref(), Some("Hit"));
    // "can focus only in a subset of the query arguments"
    assert_eq!(
        status("/route-12/get?foo=b&b=c").await.as_deref(),
        Some("Miss")
    );
    assert_eq!(
        status("/route-12/get?b=d&foo=b").await.as_deref(),
        Some("Hit")
    );
}

#[tokio::test]
async fn uses_headers_if_instructed_to() {
    // "uses headers if instructed to do so"
    let kong = Kong::start(&[]).await;
    let kong = &kong;
    let get = |foo: &'static str| async move { kong.get("/route-11/get", &[("foo", foo)]).await };
    assert_eq!(get("bar").await.cache(), Some("Miss"));
    assert_eq!(get("bar").await.cache(), Some("Hit"));
    assert_eq!(get("baz").await.cache(), Some("Miss"));
}

#[tokio::test]
async fn authenticated_routes_cache_per_consumer() {
    let kong = Kong::start(&[]).await;
    // "by ignoring cache if the request is unauthenticated": key-auth
    // refuses first (higher priority), proxy-cache never runs.
    let res = kong.get("/route-5/get", &[]).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.cache(), None);
    // "by maintaining a separate cache per consumer"
    for who in ["bob", "alice"] {
        let res = kong.get("/route-5/get", &[("apikey", who)]).await;
        assert_eq!(res.status, 200);
        assert_eq!(res.cache(), Some("Miss"), "{who}");
        let res = kong.get("/route-5/get", &[("apikey", who)]).await;
        assert_eq!(res.cache(), Some("Hit"), "{who}");
    }
    assert_eq!(kong.upstream.requests(), 2);
}

#[tokio::test]
async fn bypasses_uncacheable_requests_and_responses() {
    let kong = Kong::start(&[]).await;
    // "bypasses cache for uncacheable requests: request method"
    let res = kong.send(Method::POST, "/route-1/post", &[]).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.cache(), Some("Bypass"));
    // "... uncacheable responses: response status"
    let res = kong.get("/route-1/status/418", &[]).await;
    assert_eq!(res.status, 418);
    assert_eq!(res.cache(), Some("Bypass"));
    // "... response content type"
    let xml = "/route-1/response-headers?Content-Type=application/xml";
    let res = kong.get(xml, &[]).await;
    assert_eq!(res.cache(), Some("Bypass"));
    assert_eq!(kong.get(xml, &[]).await.cache(), Some("Bypass"));
    assert_eq!(kong.upstream.requests(), 4);
}

#[tokio::test]
async fn caches_non_default_methods_and_statuses() {
    // "caches non-default request methods" and "response status"
    let kong = Kong::start(&[]).await;
    let post = || kong.send(Method::POST, "/route-10/post", &[]);
    assert_eq!(post().await.cache(), Some("Miss"));
    assert_eq!(post().await.cache(), Some("Hit"));
    let res = kong.get("/route-10/status/417", &[]).await;
    assert_eq!((res.status, res.cache()), (417, Some("Miss")));
    let res = kong.get("/route-10/status/417", &[]).await;
    assert_eq!((res.status, res.cache()), (417, Some("Hit")));
}

#[tokio::test]
async fn content_type_rules() {
    let kong = Kong::start(&[]).await;
    let xml = "/response-headers?Content-Type=application/xml";
    // "should cache a request with wildcard content_type(*/*)"
    let path = format!("/route-17{xml}");
    let res = kong.get(&path, &[]).await;
    assert_eq!(res.header("content-type"), Some("application/xml"));
    assert_eq!(res.cache(), Some("Miss"));
    let res = kong.get(&path, &[]).await;
    assert_eq!(res.header("content-type"), Some("application/xml"));
    assert_eq!(res.cache(), Some("Hit"));
    // "should not cache a request while parameter is not match"
    let res = kong.get(&format!("/route-18{xml}"), &[]).await;
    assert_eq!(res.cache(), Some("Bypass"));
    // "should not cause error while upstream returns a invalid content type"
    let res = kong
        .get(
            "/route-18/response-headers?Content-Type=application/xml;",
            &[],
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("application/xml;"));
    assert_eq!(res.cache(), Some("Bypass"));
    // "should not cause error while config.content_type has invalid element"
    let res = kong.get(&format!("/route-19{xml}"), &[]).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.cache(), Some("Bypass"));
}

#[tokio::test]
async fn uri_case_in_the_key() {
    let kong = Kong::start(&[]).await;
    // "ignore uri case in cache_key"
    let res = kong.get("/route-20/ignore-case/kong", &[]).await;
    assert_eq!(res.cache(), Some("Miss"));
    let res2 = kong.get("/route-20/ignore-case/KONG", &[]).await;
    assert_eq!(res2.cache(), Some("Hit"));
    assert_eq!(res.key(), res2.key());
    assert_eq!(res.body, res2.body);
    // "acknowledge uri case in cache_key"
    let res = kong.get("/route-21/acknowledge-case/kong", &[]).await;
    assert_eq!(res.cache(), Some("Miss"));
    let res2 = kong.get("/route-21/acknowledge-case/KONG", &[]).await;
    assert_eq!(res2.cache(), Some("Miss"));
    assert_ne!(res.key(), res2.key());
}
