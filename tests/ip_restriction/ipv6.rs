//! The IPv6 blocks of Kong's `02-access_spec.lua`: the second one reads the
//! client from `X-Real-IP`, the third from `X-Forwarded-For`, both
//! recursive with every address trusted.

use super::{allowed, refused, routes, trusting};
use crate::support::auth::get;
use crate::support::proxy::TestProxy;
use crate::support::upstream::Upstream;
use serde_json::json;

#[tokio::test]
async fn x_real_ip_block() {
    let up = Upstream::start("up").await;
    let configs = [
        json!({"deny": ["::1", "::2"]}),
        json!({"deny": ["::2"]}),
        json!({"deny": ["fe80::/8"]}),
        json!({"allow": ["::2"]}),
        json!({"allow": ["::1"]}),
        json!({"allow": ["::/0"]}),
        json!({"allow": ["::1"], "deny": ["::1"]}),
        json!({"allow": ["::1/128"], "deny": ["::1"]}),
        json!({"allow": ["::1/128"], "deny": ["::1/128"]}),
    ];
    let p = TestProxy::start_with(routes(&up, &configs), trusting("X-Real-IP")).await;
    let real = |ip| [("x-real-ip", ip)];
    // "blocks a request when the IPv6 is denied"
    refused(&get(&p, "/r1", &real("::1")).await, "::1", &up, 0);
    // "allows a request when the IPv6 is not denied"
    allowed(&get(&p, "/r2", &real("::1")).await, "::1");
    // "blocks the IPv6 with CIDR"
    refused(&get(&p, "/r3", &real("fe80::1")).await, "fe80::1", &up, 1);
    // "blocks an IPv6 on a allowed IPv6 CIDR range"
    refused(&get(&p, "/r8", &real("::1")).await, "::1", &up, 1);
    // "takes precedence over an allowed IPv6"
    refused(&get(&p, "/r7", &real("::1")).await, "::1", &up, 1);
    // "takes precedence over an allowed IPv6 CIDR range": without X-Real-IP
    // the IPv4 peer is the client, outside the IPv6 allow list.
    refused(&get(&p, "/r9", &[]).await, "127.0.0.1", &up, 1);
    // "blocks a request when the IPv6 is not allowed"
    refused(&get(&p, "/r4", &real("::1")).await, "::1", &up, 1);
    // "allows a allowed IPv6"
    allowed(&get(&p, "/r5", &real("::1")).await, "::1");
    // "#regression handles a CIDR entry with ::/0"
    allowed(&get(&p, "/r6", &real("::1")).await, "::1");
    // An IPv4 client is not in ::/0.
    refused(&get(&p, "/r6", &[]).await, "127.0.0.1", &up, 3);
}

#[tokio::test]
async fn x_forwarded_for_block() {
    let up = Upstream::start("up").await;
    let configs = [json!({"deny": ["::4"]}), json!({"allow": ["::4"]})];
    let p = TestProxy::start_with(routes(&up, &configs), trusting("X-Forwarded-For")).await;
    let xff = |chain| [("x-forwarded-for", chain)];
    // deny: "allows with allowed X-Forwarded-For header"
    allowed(&get(&p, "/r1", &xff("::3")).await, "::3");
    // "blocks with not allowed X-Forwarded-For header"
    refused(&get(&p, "/r1", &xff("::4")).await, "::4", &up, 1);
    // "blocks with blocked complex X-Forwarded-For header"
    refused(&get(&p, "/r1", &xff("::4, ::3")).await, "::4", &up, 1);
    // "allows with allowed complex X-Forwarded-For header"
    allowed(&get(&p, "/r1", &xff("::3, ::4")).await, "::3");
    // allow: "block with not allowed X-Forwarded-For header"
    refused(&get(&p, "/r2", &xff("::3")).await, "::3", &up, 2);
    // "allows with allowed X-Forwarded-For header"
    allowed(&get(&p, "/r2", &xff("::4")).await, "::4");
    // "allows with allowed complex X-Forwarded-For header"
    allowed(&get(&p, "/r2", &xff("::4, ::3")).await, "::4");
    // "blocks with blocked complex X-Forwarded-For header"
    refused(&get(&p, "/r2", &xff("::3, ::4")).await, "::3", &up, 4);
}
