//! Kong's `ip-restriction` through the real proxy on loopback (the peer is
//! 127.0.0.1), each test naming the case of Kong's
//! `spec/03-plugins/17-ip-restriction/02-access_spec.lua` it mirrors.
//!
//! - here: the first block of Kong's spec (IPv4, `real_ip_header =
//!   X-Forwarded-For`, recursive, every address trusted), and untrusted
//!   peers, whose headers name no one;
//! - `ip_restriction/ipv6.rs`: the IPv6 blocks (`X-Real-IP`, then
//!   `X-Forwarded-For`);
//! - `ip_restriction/admin.rs`: the binary: Admin API and kong.yml round
//!   trip, the real-IP flags, consumer scoping and precedence.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

#[path = "ip_restriction/admin.rs"]
mod admin;
#[path = "ip_restriction/ipv6.rs"]
mod ipv6;

use kingress::model::plugin::Scope;
use kingress::model::{Route, Table};
use kingress::plugins::{RealIp, TrustedIps};
use serde_json::{Value, json};
use support::auth::{get, plugin};
use support::oauth2::Reply;
use support::proxy::{Settings, TestProxy, route, service, table};
use support::upstream::Upstream;

/// One route per config, at `/r1`, `/r2`, … in order, each with an
/// ip-restriction instance attached to the route.
pub fn routes(up: &Upstream, configs: &[Value]) -> Table {
    let routes: Vec<Route> = configs
        .iter()
        .enumerate()
        .map(|(i, config)| {
            let mut r = route(&format!("r{}", i + 1), &[&format!("/r{}", i + 1)], "svc");
            let mut p = plugin("ip-restriction", config);
            p.scope = Scope {
                route: true,
                ..Scope::GLOBAL
            };
            r.plugins.push(p);
            r
        })
        .collect();
    table(routes, vec![service("svc", &[up.addr])])
}

/// Everything trusted, the client read from `header`, recursively (the
/// `start_kong` settings of Kong's spec).
pub fn trusting(header: &str) -> Settings {
    Settings {
        trusted_ips: TrustedIps::parse(&["0.0.0.0/0".into(), "::/0".into()]).unwrap(),
        real_ip: RealIp::new(header, true).unwrap(),
        ..Settings::default()
    }
}

/// Asserts Kong's default refusal naming `ip`: 403, JSON, nothing proxied.
pub fn refused(r: &Reply, ip: &str, up: &Upstream, proxied: usize) {
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"message": format!("IP address not allowed: {ip}")})
    );
    assert_eq!(r.headers["content-type"], "application/json; charset=utf-8");
    assert_eq!(
        up.requests(),
        proxied,
        "a refused request reached the upstream"
    );
}

/// Asserts the request was proxied and the upstream was told `ip` is the
/// client (Kong's `X-Real-IP: $remote_addr`).
pub fn allowed(r: &Reply, ip: &str) {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["headers"]["x-real-ip"], ip, "{}", r.body);
}

fn first_block() -> Vec<Value> {
    vec![
        json!({"deny": ["127.0.0.1", "127.0.0.2"]}),
        json!({"deny": ["127.0.0.2"]}),
        json!({"allow": ["127.0.0.2"]}),
        json!({"allow": ["127.0.0.1"]}),
        json!({"deny": ["127.0.0.0/24"]}),
        json!({"allow": ["127.0.0.4"]}),
        json!({"deny": ["127.0.0.4"]}),
        json!({"allow": ["0.0.0.0/0"]}),
        json!({"allow": ["127.0.0.1"], "deny": ["127.0.0.1"]}),
        json!({"allow": ["127.0.0.0/24"], "deny": ["127.0.0.1"]}),
        json!({"allow": ["127.0.0.0/24"], "deny": ["127.0.0.0/24"]}),
        json!({"deny": ["127.0.0.0/24"], "status": 401, "message": "Forbidden"}),
    ]
}

async fn first_block_proxy() -> (Upstream, TestProxy) {
    let up = Upstream::start("up").await;
    let proxy =
        TestProxy::start_with(routes(&up, &first_block()), trusting("X-Forwarded-For")).await;
    (up, proxy)
}

#[tokio::test]
async fn deny() {
    let (up, p) = first_block_proxy().await;
    // "blocks a request when the IP is denied"
    refused(&get(&p, "/r1", &[]).await, "127.0.0.1", &up, 0);
    // "blocks a request when the IP is denied with status/message"
    let r = get(&p, "/r12", &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body, json!({"message": "Forbidden"}));
    assert!(r.headers.get("www-authenticate").is_none());
    // "allows a request when the IP is not denied"
    allowed(&get(&p, "/r2", &[]).await, "127.0.0.1");
    // "blocks IP with CIDR"
    refused(&get(&p, "/r5", &[]).await, "127.0.0.1", &up, 1);
    // "blocks an IP on a allowed CIDR range"
    refused(&get(&p, "/r10", &[]).await, "127.0.0.1", &up, 1);
    // "takes precedence over an allowed IP"
    refused(&get(&p, "/r9", &[]).await, "127.0.0.1", &up, 1);
    // "takes precedence over an allowed CIDR range"
    refused(&get(&p, "/r11", &[]).await, "127.0.0.1", &up, 1);
}

#[tokio::test]
async fn deny_with_x_forwarded_for() {
    let (up, p) = first_block_proxy().await;
    // "allows without any X-Forwarded-For and allowed IP"
    allowed(&get(&p, "/r7", &[]).await, "127.0.0.1");
    // "allows with allowed X-Forwarded-For header"
    allowed(
        &get(&p, "/r7", &[("x-forwarded-for", "127.0.0.3")]).await,
        "127.0.0.3",
    );
    // "blocks with not allowed X-Forwarded-For header": the message names
    // the forwarded client, not the peer.
    let r = get(&p, "/r7", &[("x-forwarded-for", "127.0.0.4")]).await;
    refused(&r, "127.0.0.4", &up, 2);
}

#[tokio::test]
async fn allow() {
    let (up, p) = first_block_proxy().await;
    // "blocks a request when the IP is not allowed"
    refused(&get(&p, "/r3", &[]).await, "127.0.0.1", &up, 0);
    // "allows a allowed IP"
    allowed(&get(&p, "/r4", &[]).await, "127.0.0.1");
    // "#regression handles a CIDR entry with 0.0.0.0/0"
    allowed(&get(&p, "/r8", &[]).await, "127.0.0.1");
}

#[tokio::test]
async fn allow_with_x_forwarded_for() {
    let (up, p) = first_block_proxy().await;
    // "blocks without any X-Forwarded-For and not allowed IP"
    refused(&get(&p, "/r6", &[]).await, "127.0.0.1", &up, 0);
    // "block with not allowed X-Forwarded-For header"
    let r = get(&p, "/r6", &[("x-forwarded-for", "127.0.0.3")]).await;
    refused(&r, "127.0.0.3", &up, 0);
    // "allows with allowed X-Forwarded-For header"
    allowed(
        &get(&p, "/r6", &[("x-forwarded-for", "127.0.0.4")]).await,
        "127.0.0.4",
    );
    // "allows with allowed complex X-Forwarded-For header": recursive,
    // every hop trusted, so the leftmost address is the client.
    let r = get(&p, "/r6", &[("x-forwarded-for", "127.0.0.4, 127.0.0.3")]).await;
    allowed(&r, "127.0.0.4");
    // The upstream's chain is the client's plus the peer.
    assert_eq!(
        r.body["headers"]["x-forwarded-for"],
        "127.0.0.4, 127.0.0.3, 127.0.0.1"
    );
}

#[tokio::test]
async fn over_http2() {
    // "blocks a request when the IP is denied #grpc" / "allows … #grpc":
    // the same decision on an HTTP/2 connection (kingress answers gRPC
    // clients with HTTP statuses, not grpc-status).
    let (up, p) = first_block_proxy().await;
    let client = support::client::http2();
    let res = client.get(p.http_url("/r1")).send().await.unwrap();
    assert_eq!(res.version(), reqwest::Version::HTTP_2);
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"message": "IP address not allowed: 127.0.0.1"})
    );
    let res = client
        .get(p.http_url("/r6"))
        .header("x-forwarded-for", "127.0.0.4")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(up.requests(), 1);
}

#[tokio::test]
async fn supports_config_changes_without_restarting() {
    // "supports config changes without restarting": a new table swaps the
    // lists in; nothing is cached from the old ones.
    let up = Upstream::start("up").await;
    let mut configs = first_block();
    let p = TestProxy::start_with(routes(&up, &configs), trusting("X-Forwarded-For")).await;
    allowed(&get(&p, "/r2", &[]).await, "127.0.0.1");
    configs[1] = json!({"deny": ["127.0.0.1", "127.0.0.2"]});
    p.table.publish(routes(&up, &configs));
    refused(&get(&p, "/r2", &[]).await, "127.0.0.1", &up, 1);
    configs[1] = json!({"deny": ["127.0.0.2", "127.0.0.3"]});
    p.table.publish(routes(&up, &configs));
    allowed(&get(&p, "/r2", &[]).await, "127.0.0.1");
}

#[tokio::test]
async fn untrusted_peers_cannot_choose_their_address() {
    // Kong's default trusted_ips is empty: the realip module then ignores
    // X-Real-IP and X-Forwarded-For, and so must we.
    let up = Upstream::start("up").await;
    let configs = [
        json!({"deny": ["127.0.0.1"]}),
        json!({"allow": ["10.0.0.1"]}),
    ];
    let p = TestProxy::start(routes(&up, &configs)).await;
    for spoof in [("x-real-ip", "10.0.0.1"), ("x-forwarded-for", "10.0.0.1")] {
        refused(&get(&p, "/r1", &[spoof]).await, "127.0.0.1", &up, 0);
        refused(&get(&p, "/r2", &[spoof]).await, "127.0.0.1", &up, 0);
    }
    // Trusted peers other than this one do not help either.
    let settings = Settings {
        trusted_ips: TrustedIps::parse(&["10.0.0.0/8".into()]).unwrap(),
        ..Settings::default()
    };
    let p = TestProxy::start_with(routes(&up, &configs), settings).await;
    refused(
        &get(&p, "/r2", &[("x-real-ip", "10.0.0.1")]).await,
        "127.0.0.1",
        &up,
        0,
    );
    // A trusted peer's X-Real-IP (Kong's default real_ip_header) is the
    // client: the deny list no longer matches the peer.
    let settings = Settings {
        trusted_ips: TrustedIps::parse(&["127.0.0.1".into()]).unwrap(),
        ..Settings::default()
    };
    let p = TestProxy::start_with(routes(&up, &configs), settings).await;
    allowed(
        &get(&p, "/r1", &[("x-real-ip", "10.0.0.2")]).await,
        "10.0.0.2",
    );
    allowed(
        &get(&p, "/r2", &[("x-real-ip", "10.0.0.1")]).await,
        "10.0.0.1",
    );
}
