//! Upstreams and targets written through the Admin API of `kingress
//! standalone`, as Kong's `07-upstreams_routes_spec.lua` and
//! `08-targets_routes_spec.lua` drive them: Kong's status codes, bodies
//! and schema messages, and the effect on the proxy (a service whose host
//! names the upstream balances over its targets by weight).
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

use reqwest::Method;
use serde_json::json;
use std::collections::BTreeMap;
use support::standalone::Standalone;
use support::upstream::Upstream;

/// Which upstream answered each of `n` proxied GETs of `path`.
async fn tally(k: &Standalone, path: &str, n: usize) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for _ in 0..n {
        let response = support::client::http1()
            .get(format!("http://{}{path}", k.http))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = support::client::json(response).await;
        let who = body["upstream"]
            .as_str()
            .map_or_else(|| status.to_string(), str::to_string);
        *seen.entry(who).or_default() += 1;
    }
    seen
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[tokio::test]
async fn upstreams_and_targets_are_written_as_kong_writes_them_and_served() {
    let a = Upstream::start("a").await;
    let b = Upstream::start("b").await;
    let c = Upstream::start("c").await;
    let dir = tempfile::tempdir().unwrap();
    let k = Standalone::start(dir.path(), &[]).await;

    // POST /upstreams: 201 with Kong's defaults; the same name again: 409.
    let (status, upstream) = k
        .form(Method::POST, "/upstreams", "name=shop.upstream")
        .await;
    assert_eq!(status, 201, "{upstream}");
    assert_eq!(upstream["name"], "shop.upstream");
    assert_eq!(upstream["algorithm"], "round-robin");
    assert_eq!(upstream["slots"], 10000);
    assert!(upstream["id"].as_str().is_some_and(|id| id.len() == 36));
    let (status, body) = k
        .form(Method::POST, "/upstreams", "name=shop.upstream")
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        body["message"],
        "UNIQUE violation detected on '{name=\"shop.upstream\"}'"
    );
    // Schema violations: 400 with Kong's field messages, nothing written.
    let (status, body) = k.form(Method::POST, "/upstreams", "slots=5").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["fields"]["name"], "required field missing");
    assert_eq!(
        body["fields"]["slots"],
        "value should be between 10 and 65536"
    );

    // Targets under the upstream, with weights.
    let post = |target: String, weight: u32| {
        let k = &k;
        async move {
            k.json(
                Method::POST,
                "/upstreams/shop.upstream/targets",
                json!({"target": target, "weight": weight}),
            )
            .await
        }
    };
    let (status, ta) = post(a.addr.to_string(), 1).await;
    assert_eq!(status, 201, "{ta}");
    assert_eq!(ta["weight"], 1);
    assert_eq!(ta["upstream"]["id"], upstream["id"]);
    assert_eq!(post(b.addr.to_string(), 3).await.0, 201);
    assert_eq!(post(c.addr.to_string(), 0).await.0, 201);
    let (status, body) = post(b.addr.to_string(), 100).await;
    assert_eq!(status, 409, "a target once per upstream: {body}");
    let (status, body) = post("10.0.0.9:80".to_string(), 70_000).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["fields"]["weight"],
        "value should be between 0 and 65535"
    );
    let (status, _) = k
        .form(
            Method::POST,
            "/upstreams/nowhere/targets",
            "target=10.0.0.1",
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = k.form(Method::POST, "/targets", "target=10.0.0.1").await;
    assert_eq!(status, 404, "Kong has no top-level /targets");

    // Reads show what was written.
    let (status, list) = k.get("/upstreams/shop.upstream/targets").await;
    assert_eq!(status, 200);
    assert_eq!(list["data"].as_array().unwrap().len(), 3);
    let (_, all) = k.get("/upstreams/shop.upstream/targets/all").await;
    assert_eq!(all["data"], list["data"]);
    let (status, one) = k
        .get(&format!("/upstreams/shop.upstream/targets/{}", b.addr))
        .await;
    assert_eq!(status, 200);
    assert_eq!(one["weight"], 3);
    let (status, by_id) = k
        .get(&format!("/upstreams/{}", upstream["id"].as_str().unwrap()))
        .await;
    assert_eq!((status, &by_id["name"]), (200, &json!("shop.upstream")));

    // A service whose host names the upstream: Kong's balancer, by weight.
    let (status, body) = k
        .form(Method::PUT, "/services/shop", "url=http://shop.upstream")
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = k
        .form(Method::POST, "/services/shop/routes", "paths[]=/shop")
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        tally(&k, "/shop", 40).await,
        counts(&[("a", 10), ("b", 30)])
    );
    assert_eq!(c.requests(), 0, "weight 0 gets nothing");

    // PATCH a target's weight (by address), DELETE one (by id).
    let (status, patched) = k
        .form(
            Method::PATCH,
            &format!("/upstreams/shop.upstream/targets/{}", a.addr),
            "weight=3",
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!((&patched["weight"], &patched["id"]), (&json!(3), &ta["id"]));
    assert_eq!(
        tally(&k, "/shop", 40).await,
        counts(&[("a", 20), ("b", 20)])
    );
    let (status, _) = k
        .form(
            Method::DELETE,
            &format!(
                "/upstreams/shop.upstream/targets/{}",
                one["id"].as_str().unwrap()
            ),
            "",
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = k
        .get(&format!("/upstreams/shop.upstream/targets/{}", b.addr))
        .await;
    assert_eq!(status, 404);
    assert_eq!(tally(&k, "/shop", 6).await, counts(&[("a", 6)]));

    // PUT upserts a target by address, PATCH and PUT upstreams.
    let (status, put) = k
        .form(
            Method::PUT,
            &format!("/upstreams/shop.upstream/targets/{}", b.addr),
            "weight=1",
        )
        .await;
    assert_eq!((status, &put["weight"]), (200, &json!(1)), "{put}");
    let (status, body) = k
        .form(
            Method::PATCH,
            "/upstreams/shop.upstream",
            "algorithm=least-connections",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["algorithm"], "least-connections");
    assert_eq!(body["id"], upstream["id"]);
    // The ids the writes answered work on the runtime paths too.
    let (status, body) = k
        .json(
            Method::PATCH,
            "/upstreams/shop.upstream",
            json!({"healthchecks": {"passive": {"unhealthy": {"tcp_failures": 1}}}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let uid = upstream["id"].as_str().unwrap();
    let (status, health) = k.get(&format!("/upstreams/{uid}/health")).await;
    assert_eq!((status, &health["total"]), (200, &json!(2)), "{health}");
    let (status, body) = k
        .form(
            Method::PUT,
            &format!(
                "/upstreams/{uid}/targets/{}/unhealthy",
                put["id"].as_str().unwrap()
            ),
            "",
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(tally(&k, "/shop", 6).await, counts(&[("a", 6)]));
    let (status, body) = k.form(Method::PUT, "/upstreams/other", "slots=100").await;
    assert_eq!((status, &body["slots"]), (200, &json!(100)), "{body}");
    let (_, list) = k.get("/upstreams").await;
    let names = support::upstream::names(&list);
    assert_eq!(names, ["shop.upstream", "other"]);

    // DELETE an upstream takes its targets with it.
    let (status, _) = k.form(Method::DELETE, "/upstreams/shop.upstream", "").await;
    assert_eq!(status, 204);
    assert_eq!(k.get("/upstreams/shop.upstream").await.0, 404);
    assert_eq!(k.get("/upstreams/shop.upstream/targets").await.0, 404);
    let file = std::fs::read_to_string(dir.path().join(kingress::admin::write::FILE_NAME)).unwrap();
    assert!(!file.contains(&a.addr.to_string()), "{file}");
}
