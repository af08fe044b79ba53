//! acl after openid-connect (Kong's `authenticated_groups`): the groups
//! named by `authenticated_groups_claim` are what acl checks when no
//! consumer was mapped, and instead of a mapped consumer's acl groups only
//! with `always_use_authenticated_groups`. Allowed requests carry them as
//! `X-Authenticated-Groups`.

use super::support::auth::plugin;
use super::support::idp::TestKey;
use super::{Env, add_consumer, send};
use kingress::model::{CredentialType, Table, plugin::order_plugins};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// openid-connect (bearer, groups from the `groups` claim, `extra` merged
/// in) then acl with `acl` on the one route; consumer `alice` has acl group
/// `gold`.
async fn start(extra: Value, acl: Value) -> (Env, TestKey) {
    let mut config = json!({
        "auth_methods": ["bearer"],
        "authenticated_groups_claim": ["groups"],
    });
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    let edit = move |t: &mut Table| {
        add_consumer(t, "alice-id", Some("alice"), None);
        super::support::auth::credential(
            t,
            CredentialType::Acl,
            "alice-id",
            json!({"group": "gold"}),
        );
        let route = &mut t.routes[0];
        route.plugins.push(plugin("acl", &acl));
        order_plugins(&mut route.plugins);
    };
    let env = Env::start_with(config, edit).await;
    let key = TestKey::p256("k1");
    env.idp.set_keys(&[&key]);
    (env, key)
}

#[tokio::test]
async fn without_a_consumer_the_token_groups_are_checked() {
    let (env, key) = start(json!({}), json!({"allow": ["staff"]})).await;
    let token = key.sign(&env.idp.claims(json!({"groups": ["staff", "dev"]})));
    let reply = send(
        env.get("/")
            .bearer_auth(&token)
            .header("x-authenticated-groups", "forged")
            .header("x-consumer-groups", "forged"),
    )
    .await;
    reply.assert_ok();
    assert_eq!(
        reply.upstream_header("x-authenticated-groups"),
        Some("staff, dev")
    );
    assert_eq!(reply.upstream_header("x-consumer-groups"), None);
    // A space-separated claim is a list too.
    let token = key.sign(&env.idp.claims(json!({"groups": "dev staff"})));
    env.call(&token).await.assert_ok();
    // Not in an allowed group: acl's 403.
    let token = key.sign(&env.idp.claims(json!({"groups": ["dev"]})));
    let reply = env.call(&token).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reply.body,
        json!({"message": "You cannot consume this service"})
    );
    // No groups claim and no consumer: nobody acl can check, Kong's 401.
    let token = key.sign(&env.idp.claims(json!({})));
    let reply = env.call(&token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body, json!({"message": "Unauthorized"}));
}

#[tokio::test]
async fn deny_lists_apply_to_token_groups() {
    let (env, key) = start(
        json!({}),
        json!({"deny": ["contractors"], "hide_groups_header": true}),
    )
    .await;
    let token = key.sign(&env.idp.claims(json!({"groups": ["contractors"]})));
    assert_eq!(env.call(&token).await.status, StatusCode::FORBIDDEN);
    let token = key.sign(&env.idp.claims(json!({"groups": ["staff"]})));
    let reply = env.call(&token).await;
    reply.assert_ok();
    assert_eq!(reply.upstream_header("x-authenticated-groups"), None);
}

#[tokio::test]
async fn a_mapped_consumers_groups_win_unless_told_otherwise() {
    // alice is mapped from `preferred_username`; her acl group is gold,
    // her token says staff.
    let mapped = json!({"consumer_claim": "preferred_username"});
    let claims = json!({"preferred_username": "alice", "groups": ["staff"]});
    let (env, key) = start(mapped.clone(), json!({"allow": ["gold"]})).await;
    let token = key.sign(&env.idp.claims(claims.clone()));
    let reply = env.call(&token).await;
    reply.assert_ok();
    assert_eq!(reply.upstream_header("x-consumer-groups"), Some("gold"));
    assert_eq!(reply.upstream_header("x-authenticated-groups"), None);

    // `always_use_authenticated_groups`: the token's groups decide.
    let acl = json!({"allow": ["gold"], "always_use_authenticated_groups": true});
    let (env, key) = start(mapped, acl).await;
    let token = key.sign(&env.idp.claims(claims));
    let reply = env.call(&token).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{:?}", reply.body);
    let token = key.sign(&env.idp.claims(json!({"preferred_username": "alice",
                                                 "groups": ["gold"]})));
    let reply = env.call(&token).await;
    reply.assert_ok();
    assert_eq!(
        reply.upstream_header("x-authenticated-groups"),
        Some("gold")
    );
    assert_eq!(reply.upstream_header("x-consumer-groups"), None);
}
