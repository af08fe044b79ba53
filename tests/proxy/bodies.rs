//! A request body that breaks on the client's side (bad chunked encoding,
//! fewer bytes than `Content-Length`) is the client's error: 400 with
//! Kong's body, logged and counted as a client error. An upstream that
//! breaks is still a 502.

use super::*;
use support::raw;
use tokio::io::AsyncReadExt;

/// The proxy's request counter for `route` and `status`, from `/metrics`.
async fn requests_counted(proxy: &TestProxy, route: &str, status: u16) -> u64 {
    let text = client::http1()
        .get(proxy.status_url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series = format!("kingress_requests_total{{route=\"{route}\",status=\"{status}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(series.as_str()))
        .map(|n| n.trim().parse().unwrap())
        .unwrap_or(0)
}

fn assert_bad_request(reply: &raw::RawResponse) {
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(reply.json(), json!({ "message": "Bad request" }));
    assert!(
        reply
            .head
            .to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{}",
        reply.head
    );
}

#[tokio::test]
async fn a_bad_chunked_body_is_a_400_not_a_502() {
    let logs = captured_logs();
    let up = Upstream::start("a").await;
    let proxy = simple(&up).await;
    let reply = raw::exchange(
        proxy.http,
        b"POST /echo-body HTTP/1.1\r\nHost: b.test\r\nConnection: close\r\n\
          Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\nzz-not-hex\r\nxx\r\n0\r\n\r\n",
        false,
    )
    .await;
    assert_bad_request(&reply);
    assert_eq!(requests_counted(&proxy, "r", 400).await, 1);
    assert_eq!(requests_counted(&proxy, "r", 502).await, 0);
    let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains("client error") && l.contains("client request body")),
        "no client-error line:\n{text}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.contains("upstream failure") && l.contains("client request body")),
        "logged as an upstream failure:\n{text}"
    );
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_is_a_400() {
    let up = Upstream::start("a").await;
    let proxy = simple(&up).await;
    let reply = raw::exchange(
        proxy.http,
        b"POST /echo-body HTTP/1.1\r\nHost: b.test\r\nConnection: close\r\n\
          Content-Length: 100\r\n\r\nonly-twenty-bytes...",
        true,
    )
    .await;
    assert_bad_request(&reply);
    assert_eq!(requests_counted(&proxy, "r", 400).await, 1);
    assert_eq!(requests_counted(&proxy, "r", 502).await, 0);
}

#[tokio::test]
async fn an_upstream_that_resets_is_still_a_502() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let resetter = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 64];
            let _ = stream.read(&mut buf).await;
            // RST instead of FIN: the request dies mid-body.
            let _ = stream.set_zero_linger();
            drop(stream);
        }
    });
    let proxy = TestProxy::start(table(
        vec![route("r", &["/"], "svc")],
        vec![service("svc", &[addr])],
    ))
    .await;
    let res = client::http1()
        .post(proxy.http_url("/upload"))
        .body(vec![b'x'; 256 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 502);
    assert_eq!(requests_counted(&proxy, "r", 502).await, 1);
    assert_eq!(requests_counted(&proxy, "r", 400).await, 0);
    resetter.abort();
}
