//! What kingress adds to Kong's behaviour: a streamed response is stored
//! once complete ("caches a streaming request" in Kong's spec), a body
//! larger than `--proxy-cache-max-entry` streams through uncached, and a
//! hit replays every value of a repeated header.

use super::Kong;

#[tokio::test]
async fn caches_a_streaming_request() {
    // Kong's "caches a streaming request": chunked, no Content-Length.
    let kong = Kong::start(&[]).await;
    let path = "/route-1/stream?chunks=3&delay_ms=20&content_type=application/json";
    let res = kong.get(path, &[]).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.cache(), Some("Miss"));
    assert_eq!(res.header("content-length"), None);
    assert_eq!(&res.body[..], b"chunk-0\nchunk-1\nchunk-2\n");
    let res2 = kong.get(path, &[]).await;
    assert_eq!(res2.cache(), Some("Hit"));
    assert_eq!(res.body, res2.body);
    assert_eq!(kong.upstream.requests(), 1);
}

#[tokio::test]
async fn a_body_over_the_entry_bound_streams_through_uncached() {
    let kong = Kong::start(&["--proxy-cache-max-entry", "64KiB"]).await;
    // route-17 caches any content type; /bytes/N is N bytes of text/plain.
    let big = "/route-17/bytes/200000";
    for _ in 0..2 {
        let res = kong.get(big, &[]).await;
        assert_eq!(res.status, 200);
        assert_eq!(res.cache(), Some("Miss"));
        // The client got all of it.
        assert_eq!(res.body.len(), 200_000);
        assert!(res.body.iter().all(|b| *b == b'x'));
    }
    // Exactly at the bound is still stored.
    let small = "/route-17/bytes/65536";
    assert_eq!(kong.get(small, &[]).await.cache(), Some("Miss"));
    let res = kong.get(small, &[]).await;
    assert_eq!(res.cache(), Some("Hit"));
    assert_eq!(res.body.len(), 65_536);
    assert_eq!(res.header("content-length"), Some("65536"));
    assert_eq!(kong.upstream.requests(), 3);
}

#[tokio::test]
async fn a_hit_replays_repeated_headers() {
    let kong = Kong::start(&[]).await;
    let path = "/route-1/response-headers?Set-Cookie=a%3D1&Set-Cookie=b%3D2";
    let res = kong.get(path, &[]).await;
    assert_eq!(res.cache(), Some("Miss"));
    let res = kong.get(path, &[]).await;
    assert_eq!(res.cache(), Some("Hit"));
    let cookies: Vec<&str> = res
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
}

#[tokio::test]
async fn head_requests_are_cached_apart_from_get() {
    let kong = Kong::start(&[]).await;
    let head = || kong.send(reqwest::Method::HEAD, "/route-1/get", &[]);
    let res = head().await;
    assert_eq!((res.status, res.cache()), (200, Some("Miss")));
    let res = head().await;
    assert_eq!((res.status, res.cache()), (200, Some("Hit")));
    assert!(res.body.is_empty());
    // GET has its own key.
    assert_eq!(kong.get("/route-1/get", &[]).await.cache(), Some("Miss"));
}
