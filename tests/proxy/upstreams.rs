//! The upstream side: round-robin, connect retries, and Kong's 502, 503
//! and 504 answers.

use super::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[tokio::test]
async fn round_robin_across_two_upstreams() {
    let a = Upstream::start("a").await;
    let b = Upstream::start("b").await;
    let proxy = TestProxy::start(table(
        vec![route("r", &["/"], "svc")],
        vec![service("svc", &[a.addr, b.addr])],
    ))
    .await;
    let client = client::http1();
    let mut names = Vec::new();
    for _ in 0..6 {
        let echo = json(client.get(proxy.http_url("/rr")).send().await.unwrap()).await;
        names.push(echo["upstream"].as_str().unwrap().to_string());
    }
    for pair in names.windows(2) {
        assert_ne!(pair[0], pair[1], "{names:?}");
    }
    assert_eq!(names.iter().filter(|n| *n == "a").count(), 3);
}

#[tokio::test]
async fn a_refused_connection_moves_on_to_the_next_target() {
    let up = Upstream::start("a").await;
    let dead = closed_port().await;
    let with_retries = service("retrying", &[dead, up.addr]);
    let mut without = service("once", &[dead, up.addr]);
    without.retries = 0;
    let proxy = TestProxy::start(table(
        vec![
            route("retrying", &["/retry"], "retrying"),
            route("once", &["/once"], "once"),
        ],
        vec![with_retries, without],
    ))
    .await;
    let client = client::http1();
    for _ in 0..4 {
        let res = client
            .post(proxy.http_url("/retry"))
            .body("payload")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(
            json(res).await["body"],
            "payload",
            "the body survives a failed attempt"
        );
    }
    // Without retries, every other request lands on the dead target.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            client
                .get(proxy.http_url("/once"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    statuses.sort();
    assert_eq!(statuses, [200, 200, 502, 502]);
}

#[tokio::test]
async fn an_invalid_upstream_answer_is_502() {
    let (broken, _task) = start_broken().await;
    let proxy = TestProxy::start(table(
        vec![route("r", &["/"], "svc")],
        vec![service("svc", &[broken])],
    ))
    .await;
    let res = client::http1()
        .get(proxy.http_url("/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 502);
    assert_eq!(
        json(res).await,
        json!({"message": "An invalid response was received from the upstream server"})
    );
}

#[tokio::test]
async fn a_slow_upstream_is_504() {
    let up = Upstream::start("a").await;
    let mut svc = service("svc", &[up.addr]);
    svc.read_timeout_ms = 200;
    let proxy = TestProxy::start(table(vec![route("r", &["/"], "svc")], vec![svc])).await;
    let client = client::http1();
    let res = client
        .get(proxy.http_url("/delay/3000"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 504);
    assert_eq!(
        json(res).await,
        json!({"message": "The upstream server is timing out"})
    );
    assert_eq!(
        client
            .get(proxy.http_url("/delay/0"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn kong_503s_for_no_targets_no_service_and_faults() {
    let mut orphan = route("orphan", &["/orphan"], "none");
    orphan.service = None;
    let mut broken = route("broken", &["/broken"], "empty");
    broken.fault = Some("KongPlugin default/auth not found".into());
    let proxy = TestProxy::start(table(
        vec![route("empty", &["/empty"], "empty"), orphan, broken],
        vec![service("empty", &[])],
    ))
    .await;
    let client = client::http1();
    let cases = [
        ("/empty", "failure to get a peer from the ring-balancer"),
        ("/orphan", "no Service found with those values"),
        ("/broken", "KongPlugin default/auth not found"),
    ];
    for (path, message) in cases {
        let res = client.get(proxy.http_url(path)).send().await.unwrap();
        assert_eq!(res.status(), 503, "{path}");
        assert_eq!(json(res).await, json!({ "message": message }), "{path}");
    }
}

/// A raw keep-alive upstream that answers every request with `ok`, counts
/// the connections it accepted, and closes a connection after its second
/// response without saying so (as an upstream's keep-alive limit does).
async fn start_counting() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                for _ in 0..2 {
                    // Requests here are small and headers-only: one read each.
                    match stream.read(&mut buf).await {
                        Ok(n) if n > 0 => {}
                        _ => return,
                    }
                    let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                    if stream.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, accepted)
}

#[tokio::test]
async fn upstream_connections_are_reused_and_replaced_when_closed() {
    let (addr, accepted) = start_counting().await;
    let proxy = TestProxy::start(table(
        vec![route("r", &["/"], "svc")],
        vec![service("svc", &[addr])],
    ))
    .await;
    let client = client::http1();
    for i in 0..6 {
        let res = client.get(proxy.http_url("/k")).send().await.unwrap();
        assert_eq!(res.status(), 200, "request {i}");
        assert_eq!(res.text().await.unwrap(), "ok");
        // Time for the proxy to notice an upstream close while idle.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Two requests per connection: reused once, then replaced.
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
}

/// A raw upstream that answers every request on its connections with
/// `reply`.
async fn start_scripted(reply: &'static [u8]) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                // Requests here are small and headers-only: one read each.
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 || stream.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn an_upstream_answer_reaches_the_client_without_its_hop_fields_on_every_path() {
    // Kept as bytes (no plugin; a plugin without a response phase), or put
    // in a header map (a plugin that sets a response field): the same
    // fields reach the client.
    let plain = start_scripted(
        b"HTTP/1.1 200 OK\r\nServer: up\r\nConnection: Keep-Alive\r\nX-Up: One\r\n\
          Content-Length: 2\r\n\r\nok",
    )
    .await;
    let hops = start_scripted(
        b"HTTP/1.1 200 OK\r\nServer: up\r\nConnection: x-drop\r\nX-Drop: 1\r\n\
          Keep-Alive: timeout=5\r\nProxy-Thing: 1\r\nX-Up: One\r\nContent-Length: 2\r\n\r\nok",
    )
    .await;
    let plugin = |name: &str, config: Value| support::auth::plugin(name, &config);
    let mut routes = Vec::new();
    for (svc, prefix) in [("plain", "/p"), ("hops", "/h")] {
        routes.push(route(
            &format!("{svc}-none"),
            &[&format!("{prefix}/none")],
            svc,
        ));
        let mut r = route(&format!("{svc}-rt"), &[&format!("{prefix}/rt")], svc);
        r.plugins = vec![plugin(
            "request-transformer",
            json!({"add": {"headers": ["x-a:1"]}}),
        )];
        routes.push(r);
        let mut r = route(&format!("{svc}-cid"), &[&format!("{prefix}/cid")], svc);
        r.plugins = vec![plugin("correlation-id", json!({"echo_downstream": true}))];
        routes.push(r);
    }
    let proxy = TestProxy::start(table(
        routes,
        vec![service("plain", &[plain]), service("hops", &[hops])],
    ))
    .await;
    let client = client::http1();
    for prefix in ["/p", "/h"] {
        for path in ["none", "rt", "cid"] {
            let res = client
                .get(proxy.http_url(&format!("{prefix}/{path}")))
                .send()
                .await
                .unwrap();
            let at = format!("{prefix}/{path}");
            assert_eq!(res.status(), 200, "{at}");
            let h = res.headers();
            assert_eq!(h["x-up"], "One", "{at}");
            assert_eq!(h["server"], "up", "{at}");
            assert_eq!(h["content-length"], "2", "{at}");
            assert!(
                h["via"].to_str().unwrap().starts_with("1.1 kingress/"),
                "{at}"
            );
            for gone in ["x-drop", "keep-alive", "proxy-thing"] {
                assert!(
                    !h.contains_key(gone),
                    "{gone} reached the client at {at}: {h:?}"
                );
            }
            // correlation-id's field, set through the map.
            assert_eq!(h.contains_key("kong-request-id"), path == "cid", "{at}");
            assert_eq!(res.text().await.unwrap(), "ok", "{at}");
        }
    }
}
