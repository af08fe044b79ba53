//! The `redis` policy against a real redis-server: two `kingress
//! standalone` binaries with the same kong.yml hold one limit between them,
//! with `sync_rate` -1 (every request in Redis) and batched; and Kong's
//! `fault_tolerant` answers when Redis is down.

use super::{get, within_one_window};
use crate::support::redis_server::RedisServer;
use crate::support::standalone::Standalone;
use crate::support::upstream::Upstream;
use std::time::Duration;

fn kong_yml(upstream: &Upstream, redis_port: u16, extra: &str) -> String {
    format!(
        r#"_format_version: "3.0"
services:
  - name: api
    url: http://{addr}
    routes:
      - name: limited
        paths: [/test]
        plugins:
          - name: rate-limiting
            config:
              hour: 4
              policy: redis
              redis:
                host: 127.0.0.1
                port: {redis_port}
                timeout: 500
{extra}"#,
        addr = upstream.addr
    )
}

async fn two_kingresses(yml: &str) -> (tempfile::TempDir, Standalone, Standalone) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kong.yml"), yml).unwrap();
    let a = Standalone::start(dir.path(), &[]).await;
    let b = Standalone::start(dir.path(), &[]).await;
    (dir, a, b)
}

fn url(k: &Standalone) -> String {
    format!("http://{}/test", k.http)
}

#[tokio::test]
async fn two_processes_share_the_limit_through_redis() {
    // "blocks if exceeding limit" with policy redis, the requests spread
    // over two kingress processes: the fifth is refused wherever it lands.
    within_one_window(3600, 10).await;
    let redis = RedisServer::start();
    let up = Upstream::start("up").await;
    let (_dir, a, b) = two_kingresses(&kong_yml(&up, redis.port, "")).await;
    let expected_remaining = [3, 2, 1, 0];
    for (i, k) in [&a, &b, &a, &b].into_iter().enumerate() {
        let r = get(&url(k), &[]).await;
        assert_eq!(r.status, 200, "request {i}: {}", r.body);
        assert_eq!(r.number("x-ratelimit-limit-hour"), 4);
        assert_eq!(
            r.number("x-ratelimit-remaining-hour"),
            expected_remaining[i]
        );
    }
    for k in [&a, &b] {
        let r = get(&url(k), &[]).await;
        assert_eq!(r.status, 429, "{}", r.body);
        assert_eq!(r.body["message"], "API rate limit exceeded");
        assert!(r.number("retry-after") >= 1);
    }
    // Redis 7 counted with INCR and EXPIRE NX (no Lua), and the key
    // expires with its window as Kong's script would have set it.
    let mut conn = redis_client(&redis).await;
    let stats = command_stats(&mut conn).await;
    assert_eq!(calls(&stats, "incr"), 6, "{stats}");
    assert_eq!(calls(&stats, "evalsha"), 0, "{stats}");
    assert_hour_key_expires(&mut conn).await;
}

#[tokio::test]
async fn batched_sync_rate_counts_locally_then_shares() {
    // `sync_rate` 0.1: each process counts locally between writes; after a
    // write the other process reads the total from Redis.
    within_one_window(3600, 10).await;
    let redis = RedisServer::start();
    let up = Upstream::start("up").await;
    let yml = kong_yml(&up, redis.port, "              sync_rate: 0.1\n");
    let (_dir, a, b) = two_kingresses(&yml).await;
    assert_eq!(get(&url(&a), &[]).await.status, 200);
    assert_eq!(get(&url(&a), &[]).await.status, 200);
    // A's second request is written to Redis within sync_rate.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = get(&url(&b), &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.number("x-ratelimit-remaining-hour"), 1);
    assert_eq!(get(&url(&b), &[]).await.status, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Four counted across both; A reads Redis again after its write.
    let r = get(&url(&a), &[]).await;
    assert_eq!(r.status, 429, "{}", r.body);
    // The key lives in Redis with the window's expiry.
    assert_hour_key_expires(&mut redis_client(&redis).await).await;
}

#[tokio::test]
async fn a_server_refusing_expire_nx_counts_with_kongs_script() {
    // A server that refuses `EXPIRE … NX` (older than Redis 7; here an ACL
    // user whose keys are the windows' only, so the probe key is refused)
    // counts with Kong's script, sent by its hash; after `SCRIPT FLUSH`
    // (a restarted Redis) it is given the script again and still counts.
    within_one_window(3600, 10).await;
    let port = crate::support::redis_server::free_port();
    let redis = RedisServer::spawn(
        port,
        &[
            "--port".into(),
            port.to_string(),
            "--user".into(),
            "limiter".into(),
            "on".into(),
            ">s3cret".into(),
            "~ratelimit:*:*:*:*".into(),
            "+@all".into(),
        ],
    );
    let up = Upstream::start("up").await;
    let auth = "                username: limiter\n                password: s3cret\n";
    let (_dir, a, _b) = two_kingresses(&kong_yml(&up, redis.port, auth)).await;
    let mut conn = redis_client(&redis).await;
    for (i, remaining) in [3, 2, 1].into_iter().enumerate() {
        let () = ::redis::cmd("SCRIPT")
            .arg("FLUSH")
            .query_async(&mut conn)
            .await
            .unwrap();
        let r = get(&url(&a), &[]).await;
        assert_eq!(r.status, 200, "request {i}: {}", r.body);
        assert_eq!(r.number("x-ratelimit-remaining-hour"), remaining);
    }
    let stats = command_stats(&mut conn).await;
    assert_eq!(calls(&stats, "evalsha"), 6, "{stats}"); // 3 × NOSCRIPT + 3
    assert_eq!(calls(&stats, "incr"), 3, "{stats}"); // the script's own
    assert!(stats.contains("cmdstat_expire:calls=1,"), "{stats}"); // the script's first
    assert_hour_key_expires(&mut conn).await;
}

/// `INFO commandstats`: which commands the server ran, and how often.
async fn command_stats(conn: &mut ::redis::aio::MultiplexedConnection) -> String {
    ::redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await
        .unwrap()
}

/// Top-level calls of `command` in `INFO commandstats` (0 when never run).
fn calls(stats: &str, command: &str) -> u64 {
    let prefix = format!("cmdstat_{command}:calls=");
    stats
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |rest| rest.split(',').next().unwrap().parse().unwrap())
}

/// The one hour window's key exists and expires within the hour.
async fn assert_hour_key_expires(conn: &mut ::redis::aio::MultiplexedConnection) {
    let keys: Vec<String> = ::redis::cmd("KEYS")
        .arg("ratelimit:*:hour")
        .query_async(conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let ttl: i64 = ::redis::cmd("TTL")
        .arg(&keys[0])
        .query_async(conn)
        .await
        .unwrap();
    assert!((1..=3600).contains(&ttl), "{ttl}");
}

async fn redis_client(redis: &RedisServer) -> ::redis::aio::MultiplexedConnection {
    ::redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

#[tokio::test]
async fn redis_down_fault_tolerant_proxies_without_limits() {
    // "keeps working if an error occurs" (fault_tolerant true, the
    // default): no limiting and no headers while Redis is away.
    let mut redis = RedisServer::start();
    let up = Upstream::start("up").await;
    let (_dir, a, _b) = two_kingresses(&kong_yml(&up, redis.port, "")).await;
    assert_eq!(get(&url(&a), &[]).await.status, 200);
    redis.stop();
    for _ in 0..6 {
        let r = get(&url(&a), &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.header("x-ratelimit-limit-hour").is_none());
        assert!(r.header("ratelimit-remaining").is_none());
    }
}

#[tokio::test]
async fn redis_down_not_fault_tolerant_is_a_500() {
    // "does not work if an error occurs" (fault_tolerant false): Kong's
    // 500 with its generic message; the Redis error stays in the log.
    let mut redis = RedisServer::start();
    let up = Upstream::start("up").await;
    let yml = kong_yml(&up, redis.port, "              fault_tolerant: false\n");
    let (_dir, a, _b) = two_kingresses(&yml).await;
    assert_eq!(get(&url(&a), &[]).await.status, 200);
    redis.stop();
    let r = get(&url(&a), &[]).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.body["message"], "An unexpected error occurred");
    // The log is written off the request path; give it a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !a.log().contains("rate-limiting") && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(a.log().contains("rate-limiting"), "{}", a.log());
}
