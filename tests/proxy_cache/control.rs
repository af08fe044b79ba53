//! Kong's `02-access_spec.lua` with `cache_control: true` (route-7, and
//! route-8 with `storage_ttl: 600`): the response's `Cache-Control` and
//! `Expires` decide freshness, the request's may refuse a stored answer.

use super::Kong;
use std::time::{Duration, SystemTime};

/// A path on `route` whose answer carries `Cache-Control: value`.
fn with_cc(route: u32, value: &str) -> String {
    let value = value
        .replace('=', "%3D")
        .replace(',', "%2C")
        .replace(' ', "%20");
    format!("/route-{route}/response-headers?Cache-Control={value}")
}

#[tokio::test]
async fn respects_cache_ttl_via_cache_control() {
    let kong = Kong::start(&[]).await;
    let path = with_cc(7, "public, max-age=1");
    assert_eq!(kong.get(&path, &[]).await.cache(), Some("Miss"));
    assert_eq!(kong.get(&path, &[]).await.cache(), Some("Hit"));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(kong.get(&path, &[]).await.cache(), Some("Miss"));
    assert_eq!(kong.get(&path, &[]).await.cache(), Some("Hit"));
    // "assert that max-age=0 never results in caching"
    let zero = with_cc(7, "public, max-age=0");
    assert_eq!(kong.get(&zero, &[]).await.cache(), Some("Bypass"));
    assert_eq!(kong.get(&zero, &[]).await.cache(), Some("Bypass"));
    // private, no-store, no-cache are never stored either.
    for cc in [
        "private, max-age=60",
        "no-store, max-age=60",
        "no-cache, max-age=60",
    ] {
        let path = with_cc(7, cc);
        assert_eq!(kong.get(&path, &[]).await.cache(), Some("Bypass"), "{cc}");
        assert_eq!(kong.get(&path, &[]).await.cache(), Some("Bypass"), "{cc}");
    }
}

#[tokio::test]
async fn freshness_from_max_age_s_maxage_or_expires() {
    let kong = Kong::start(&[]).await;
    // "public not present in Cache-Control, but max-age is"
    let path = with_cc(7, "max-age=604800");
    assert_eq!(kong.get(&path, &[]).await.cache(), Some("Miss"));
    assert_eq!(kong.get(&path, &[]).await.cache(), Some("Hit"));
    // "Cache-Control contains s-maxage only"
    let path = with_cc(7, "s-maxage=604800");
    assert_eq!(kong.get(&path, &[]).await.cache(), Some("Miss"));
    assert_eq!(kong.get(&path, &[]).await.cache(), Some("Hit"));
    // "Expires present, Cache-Control absent"
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(5000));
    let path = format!(
        "/route-7/response-headers?Expires={}",
        date.replace(' ', "%20").replace(',', "%2C")
    );
    assert_eq!(kong.get(&path, &[]).await.cache(), Some("Miss"));
    assert_eq!(kong.get(&path, &[]).await.cache(), Some("Hit"));
    // Without any freshness information nothing is stored.
    let path = with_cc(7, "public");
    assert_eq!(kong.get(&path, &[]).await.cache(), Some("Bypass"));
}

#[tokio::test]
async fn request_cache_control() {
    let kong = Kong::start(&[]).await;
    // "min-fresh": a stored answer not fresh for long enough.
    let path = with_cc(7, "max-age=2");
    assert_eq!(kong.get(&path, &[]).await.cache(), Some("Miss"));
    let res = kong.get(&path, &[("cache-control", "min-fresh=30")]).await;
    assert_eq!(res.cache(), Some("Refresh"));
    // "max-age": older than the client accepts.
    let path = with_cc(7, "max-age=10");
    let max_age = [("cache-control", "max-age=1")];
    assert_eq!(kong.get(&path, &max_age).await.cache(), Some("Miss"));
    assert_eq!(kong.get(&path, &max_age).await.cache(), Some("Hit"));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(kong.get(&path, &max_age).await.cache(), Some("Refresh"));
    // no-store and no-cache on the request bypass the cache.
    for cc in ["no-store", "no-cache"] {
        let res = kong.get(&path, &[("cache-control", cc)]).await;
        assert_eq!(res.cache(), Some("Bypass"), "{cc}");
    }
    // So does a request with credentials (RFC 7234 3.2).
    let res = kong.get(&path, &[("authorization", "Basic eDp5")]).await;
    assert_eq!(res.cache(), Some("Bypass"));
}

#[tokio::test]
async fn max_stale() {
    // "max-stale": route-8 keeps entries 600 s; served stale unless the
    // client's max-stale is exceeded.
    let kong = Kong::start(&[]).await;
    let path = with_cc(8, "max-age=1");
    assert_eq!(kong.get(&path, &[]).await.cache(), Some("Miss"));
    assert_eq!(kong.get(&path, &[]).await.cache(), Some("Hit"));
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let res = kong.get(&path, &[("cache-control", "max-stale=1")]).await;
    assert_eq!(res.cache(), Some("Refresh"));
}

#[tokio::test]
async fn only_if_cached() {
    // "only-if-cached": nothing stored, 504 without asking the upstream.
    let kong = Kong::start(&[]).await;
    let res = kong
        .get(
            "/route-8/get?not=here",
            &[("cache-control", "only-if-cached")],
        )
        .await;
    assert_eq!(res.status, 504);
    assert!(res.body.is_empty());
    assert_eq!(kong.upstream.requests(), 0);
    // Once stored, it is served.
    let path = with_cc(8, "max-age=60");
    assert_eq!(kong.get(&path, &[]).await.cache(), Some("Miss"));
    let res = kong
        .get(&path, &[("cache-control", "only-if-cached")])
        .await;
    assert_eq!((res.status, res.cache()), (200, Some("Hit")));
}
