//! Kong's `acl` through the real proxy on loopback, after key-auth,
//! following Kong's `spec/03-plugins/18-acl/02-access_spec.lua`.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

use kingress::model::{CredentialType, Table};
use serde_json::{Value, json};
use support::auth::{consumer, credential, get, plugin, start, upstream_header};

fn people(t: &mut Table) {
    let admin = consumer(t, "admin");
    credential(
        t,
        CredentialType::KeyAuth,
        &admin,
        json!({"key": "admin-key"}),
    );
    credential(t, CredentialType::Acl, &admin, json!({"group": "admin"}));
    credential(t, CredentialType::Acl, &admin, json!({"group": "pro"}));
    let plain = consumer(t, "nogroups");
    credential(
        t,
        CredentialType::KeyAuth,
        &plain,
        json!({"key": "plain-key"}),
    );
    consumer(t, "anon");
}

async fn with(
    acl: Value,
    key_auth: Value,
) -> (support::upstream::Upstream, support::proxy::TestProxy) {
    start(
        vec![plugin("key-auth", &key_auth), plugin("acl", &acl)],
        people,
    )
    .await
}

#[tokio::test]
async fn allow_deny_and_the_groups_header() {
    let (_up, proxy) = with(json!({"allow": ["admin"]}), json!({})).await;
    // "should work when in allowed groups"
    let r = get(
        &proxy,
        "/api?apikey=admin-key",
        &[("x-consumer-groups", "forged")],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(upstream_header(&r, "x-consumer-groups"), Some("admin, pro"));
    // "should fail when not in allowed groups" / no groups at all
    let r = get(&proxy, "/api?apikey=plain-key", &[]).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.body,
        json!({"message": "You cannot consume this service"})
    );
    let (_up, proxy) = with(json!({"deny": ["admin"]}), json!({})).await;
    // "should fail when in denied groups" / "should work when not in denied groups"
    let r = get(&proxy, "/api?apikey=admin-key", &[]).await;
    assert_eq!(r.status, 403);
    let r = get(&proxy, "/api?apikey=plain-key", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(upstream_header(&r, "x-consumer-groups"), None);
    // "hide_groups_header"
    let (_up, proxy) = with(
        json!({"allow": ["pro"], "hide_groups_header": true}),
        json!({}),
    )
    .await;
    let r = get(&proxy, "/api?apikey=admin-key", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(upstream_header(&r, "x-consumer-groups"), None);
}

#[tokio::test]
async fn no_consumer_and_anonymous() {
    // "should fail when an authentication plugin is missing": only acl.
    let (_up, proxy) = start(vec![plugin("acl", &json!({"allow": ["admin"]}))], people).await;
    let r = get(&proxy, "/api", &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body, json!({"message": "Unauthorized"}));
    // Anonymous consumer without groups under `allow`: 401 (no credential).
    let (_up, proxy) = with(json!({"allow": ["admin"]}), json!({"anonymous": "anon"})).await;
    let r = get(&proxy, "/api", &[]).await;
    assert_eq!(r.status, 401);
    let r = get(&proxy, "/api?apikey=admin-key", &[]).await;
    assert_eq!(r.status, 200);
}

/// `include_consumer_groups`: a consumer's KongConsumerGroups count as acl
/// groups only when asked.
#[tokio::test]
async fn consumer_groups_count_when_included() {
    let grouped = |t: &mut Table| {
        people(t);
        let member = consumer(t, "member");
        credential(
            t,
            CredentialType::KeyAuth,
            &member,
            json!({"key": "member-key"}),
        );
        std::sync::Arc::make_mut(t.consumers.get_mut(&member).unwrap()).groups =
            vec!["gold".to_string()];
    };
    let acl = plugin(
        "acl",
        &json!({"allow": ["gold"], "include_consumer_groups": true}),
    );
    let (_up, proxy) = start(vec![plugin("key-auth", &json!({})), acl], grouped).await;
    let r = get(&proxy, "/api?apikey=member-key", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(upstream_header(&r, "x-consumer-groups"), Some("gold"));
    let acl = plugin("acl", &json!({"allow": ["gold"]}));
    let (_up, proxy) = start(vec![plugin("key-auth", &json!({})), acl], grouped).await;
    let r = get(&proxy, "/api?apikey=member-key", &[]).await;
    assert_eq!(r.status, 403);
}
