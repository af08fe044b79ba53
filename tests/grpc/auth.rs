//! Bearer tokens on gRPC calls: Kong's oauth2 plugin verifies the
//! `authorization` metadata like the header of any request, a refused call
//! is UNAUTHENTICATED, and the consumer's headers reach the upstream as
//! metadata.

use super::grpc_service;
use crate::support::grpc::{EchoClient, GrpcServer, Msg};
use crate::support::oauth2::{cc_token, config_with, oauth_route, oauth_table};
use crate::support::proxy::TestProxy;
use crate::support::upstream::Upstream;
use kingress::model::{Scheme, Shared};
use serde_json::json;
use tonic::Code;

fn bearer(token: &str) -> tonic::Request<Msg> {
    let mut request = tonic::Request::new(Msg::text("secret work"));
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

#[tokio::test]
async fn oauth2_bearer_tokens_on_grpc_calls() {
    let grpc = GrpcServer::start("protected").await;
    let http = Upstream::start("echo").await;
    let config = config_with(json!({"global_credentials": true}));
    let mut t = oauth_table(&http, &config);
    let mut route = oauth_route("grpc", "/test.Echo/", "grpc-svc", "p-grpc", &config);
    route.protocols = vec!["grpc".into(), "grpcs".into()];
    t.routes.insert(0, Shared::new(route));
    let mut svc = grpc_service(&[grpc.addr], Scheme::Grpc);
    svc.name = "grpc-svc".into();
    t.services.insert(svc.name.clone(), svc);
    let proxy = TestProxy::start(t).await;
    let mut client = EchoClient::tls(proxy.https, "grpc.example").await;

    let status = client
        .unary(tonic::Request::new(Msg::text("x")))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert_eq!(status.metadata().get("www-authenticate").unwrap(), "Bearer");
    let status = client.unary(bearer("not-a-token")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");

    // A token from the (HTTP) token endpoint of a route sharing the
    // credentials (`global_credentials`).
    let token = cc_token(&proxy, "/global-a", &[]).await;
    let msg = client
        .unary(bearer(token.str("access_token")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(msg.text, "secret work");
    assert_eq!(msg.seen["x-consumer-username"], "jane");
    assert_eq!(msg.seen["x-consumer-id"], "jane-id");
    assert!(
        msg.seen.contains_key("x-authenticated-userid")
            || msg.seen.contains_key("x-credential-identifier"),
        "{:?}",
        msg.seen
    );
}

/// openid-connect `bearer` on gRPC calls: a missing token is
/// UNAUTHENTICATED, a verified token without the required scope
/// PERMISSION_DENIED (Kong's 403 → 7), a good one reaches the upstream with
/// its `authorization` metadata.
#[tokio::test]
async fn openid_connect_bearer_tokens_on_grpc_calls() {
    use crate::support::auth::plugin;
    use crate::support::idp::{Idp, TestKey};
    let grpc = GrpcServer::start("oidc").await;
    let idp = Idp::start().await;
    let key = TestKey::rsa("k1", jsonwebtoken::Algorithm::RS256);
    idp.set_keys(&[&key]);
    let config = json!({
        "issuer": idp.issuer, "auth_methods": ["bearer"], "scopes_required": ["admin"],
    });
    let mut route = super::grpc_route(&["grpc", "grpcs"]);
    route.plugins = vec![plugin("openid-connect", &config)];
    let t =
        crate::support::proxy::table(vec![route], vec![grpc_service(&[grpc.addr], Scheme::Grpc)]);
    let proxy = TestProxy::start(t).await;
    let mut client = EchoClient::plain(proxy.http).await;

    let status = client
        .unary(tonic::Request::new(Msg::text("x")))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let reader = key.sign(&idp.claims(json!({"scope": "read"})));
    let status = client.unary(bearer(&reader)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let admin = key.sign(&idp.claims(json!({"scope": "admin"})));
    let msg = client.unary(bearer(&admin)).await.unwrap().into_inner();
    assert_eq!(msg.seen["authorization"], format!("Bearer {admin}"));
}
