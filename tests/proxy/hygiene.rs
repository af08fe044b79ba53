//! Header hygiene on the way in: names with `_` are dropped unless
//! `--underscores-in-headers`, and no spelling of an identity header
//! reaches the upstream from a client. Raw requests, so every spelling
//! goes out exactly as written.

use super::*;
use support::proxy::Settings;
use support::raw;

/// Identity headers in the spellings a CGI/WSGI/Rack upstream folds into
/// the same variable.
const FORGED: [&str; 12] = [
    "X_Consumer_Username",
    "X_Consumer_ID",
    "x_authenticated_scope",
    "X-CONSUMER-ID",
    "x-Consumer-Custom_ID",
    "X_Credential_Identifier",
    "x-anonymous_consumer",
    "X-Authenticated-Userid",
    "x_consumer_groups",
    "X-Credential-Username",
    "X_Userinfo",
    "x-id-token",
];

fn request(extra: &[&str]) -> Vec<u8> {
    let mut text = String::from("GET /h HTTP/1.1\r\nHost: hygiene.test\r\nConnection: close\r\n");
    for name in FORGED {
        text.push_str(&format!("{name}: forged\r\n"));
    }
    for line in extra {
        text.push_str(line);
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    text.into_bytes()
}

/// The upstream's view of header names, folded as CGI does.
fn folded_names(echo: &Value) -> Vec<String> {
    echo["headers"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.replace('_', "-").to_ascii_lowercase())
        .collect()
}

fn assert_no_identity(echo: &Value) {
    let names = folded_names(echo);
    for forged in FORGED {
        let folded = forged.replace('_', "-").to_ascii_lowercase();
        assert!(
            !names.contains(&folded),
            "{forged} reached the upstream: {echo}"
        );
    }
    let text = echo["headers"].to_string();
    assert!(
        !text.contains("forged"),
        "a forged value got through: {text}"
    );
}

#[tokio::test]
async fn underscore_headers_are_dropped_by_default() {
    let up = Upstream::start("a").await;
    let proxy = simple(&up).await;
    let reply = raw::exchange(
        proxy.http,
        &request(&["my_header: kept?", "x-normal: yes"]),
        false,
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let echo = reply.json();
    assert_no_identity(&echo);
    assert_eq!(header(&echo, "x-normal"), "yes");
    assert!(echo["headers"]["my_header"].is_null(), "{echo}");
}

#[tokio::test]
async fn the_flag_keeps_underscores_but_never_identity_spellings() {
    let up = Upstream::start("a").await;
    let proxy = TestProxy::start_with(
        table(
            vec![route("r", &["/"], "svc")],
            vec![service("svc", &[up.addr])],
        ),
        Settings {
            underscores_in_headers: true,
            ..Settings::default()
        },
    )
    .await;
    let reply = raw::exchange(proxy.http, &request(&["my_header: kept"]), false).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let echo = reply.json();
    assert_eq!(header(&echo, "my_header"), "kept");
    assert_no_identity(&echo);
}

#[tokio::test]
async fn identity_headers_are_dropped_over_http2_too() {
    let up = Upstream::start("a").await;
    let proxy = simple(&up).await;
    let mut req = client::http2().get(proxy.http_url("/h2"));
    for name in FORGED {
        req = req.header(name, "forged");
    }
    let echo = json(req.header("my_header", "x").send().await.unwrap()).await;
    assert_no_identity(&echo);
    assert!(echo["headers"]["my_header"].is_null(), "{echo}");
}
