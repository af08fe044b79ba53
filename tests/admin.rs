//! The status listener and the Kong-style Admin API over real loopback
//! sockets.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

use kingress::admin::entities;
use kingress::model::plugin::PluginOrdering;
use kingress::model::{
    Certificate, ClientSecret, ClientType, Consumer, ConsumerGroup, Credential, HostMatch,
    Oauth2Credential, PathMatch, PluginConfig, PluginInstance, Sensitive, Table,
};
use kingress::plugins::TrustedIps;
use serde_json::{Value, json};
use support::client::{self, json};
use support::proxy::{TestProxy, route, service, source, table};
use support::upstream::Upstream;

const PROVISION_KEY: &str = "PROVISION-KEY-SECRET-1";
const OIDC_SECRET: &str = "OIDC-CLIENT-SECRET-2";
const IDP_PASSWORD: &str = "IDP-USERINFO-PASSWORD-3";
const CLIENT_SECRET: &str = "OAUTH2-APP-SECRET-4";

async fn get(url: String) -> reqwest::Response {
    client::http1().get(url).send().await.unwrap()
}

#[tokio::test]
async fn readyz_turns_ready_after_the_first_publish() {
    let proxy = TestProxy::start_unpublished(TrustedIps::default()).await;
    assert_eq!(get(proxy.status_url("/healthz")).await.status(), 200);
    for path in ["/readyz", "/status/ready"] {
        let res = get(proxy.status_url(path)).await;
        assert_eq!(res.status(), 503, "{path}");
        assert_eq!(
            res.headers()["content-type"],
            "application/json; charset=utf-8"
        );
    }
    let status = json(get(proxy.status_url("/status")).await).await;
    assert_eq!(status["generation"], 0);
    assert_eq!(status["ready"], false);

    let up = Upstream::start("a").await;
    proxy.table.publish(table(
        vec![route("r", &["/"], "svc")],
        vec![service("svc", &[up.addr])],
    ));
    for path in ["/readyz", "/status/ready", "/healthz"] {
        assert_eq!(get(proxy.status_url(path)).await.status(), 200, "{path}");
    }
    let status = json(get(proxy.status_url("/status")).await).await;
    assert_eq!(status["generation"], 1);
    assert_eq!(status["ready"], true);
    assert_eq!(status["routes"], 1);
    assert_eq!(status["services"], 1);
    assert_eq!(status["consumers"], 0);
    assert!(status["server"]["version"].is_string());
    assert_eq!(get(proxy.status_url("/nope")).await.status(), 404);
    let res = client::http1()
        .post(proxy.status_url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
}

#[tokio::test]
async fn metrics_count_proxied_requests() {
    let up = Upstream::start("a").await;
    let proxy = TestProxy::start(table(
        vec![route("counted", &["/in"], "svc")],
        vec![service("svc", &[up.addr])],
    ))
    .await;
    let client = client::http1();
    for _ in 0..2 {
        assert_eq!(
            client
                .get(proxy.http_url("/in"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    assert_eq!(
        client
            .get(proxy.http_url("/out"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let res = get(proxy.status_url("/metrics")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let text = res.text().await.unwrap();
    for line in [
        "kingress_requests_total{route=\"counted\",status=\"200\"} 2",
        "kingress_requests_total{route=\"none\",status=\"404\"} 1",
        "kingress_request_duration_seconds_count 3",
        "kingress_table_generation 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing from:\n{text}"
        );
    }
}

fn plugin(id: &str, name: &str, config: Value) -> PluginInstance {
    PluginInstance {
        id: id.to_string(),
        name: name.to_string(),
        instance_name: Some(format!("{name}-instance")),
        source: source("KongPlugin", name),
        protocols: Vec::new(),
        ordering: PluginOrdering::default(),
        config: PluginConfig::parse(name, &config).unwrap(),
        scope: Default::default(),
    }
}

/// A table with one of everything, secrets included.
fn full_table(up: &Upstream) -> Table {
    let oauth2 = plugin(
        "11111111-1111-4111-8111-111111111111",
        "oauth2",
        json!({
            "enable_authorization_code": true,
            "enable_client_credentials": true,
            "provision_key": PROVISION_KEY,
            "scopes": ["read"],
        }),
    );
    let oidc = plugin(
        "22222222-2222-4222-8222-222222222222",
        "openid-connect",
        json!({
            "issuer": format!("https://admin:{IDP_PASSWORD}@idp.example/realms/x"),
            "client_id": "kingress",
            "client_secret": OIDC_SECRET,
        }),
    );
    let mut api = route(
        "default.api.svc.api.example.80",
        &["/api"],
        "default.svc.80",
    );
    api.hosts = vec![HostMatch::parse("api.example")];
    api.paths.push(PathMatch::Prefix("/v2".into()));
    api.methods = vec!["GET".into()];
    api.strip_path = true;
    api.plugins = vec![oauth2.clone(), oidc.clone()];
    let mut other = route("default.other.svc.80", &["/other"], "default.svc.80");
    other.plugins = vec![oidc.clone()];
    let mut svc = service("default.svc.80", &[up.addr]);
    svc.path = Some("/base".into());
    let mut t = table(vec![api, other], vec![svc]);
    let consumer = Consumer {
        id: "33333333-3333-4333-8333-333333333333".into(),
        username: Some("jane@example.com".into()),
        custom_id: Some("jane-1".into()),
        groups: Vec::new(),
        source: source("KongConsumer", "jane"),
        header_values: Default::default(),
    };
    t.credentials
        .insert(Credential::Oauth2(Oauth2Credential {
            id: "44444444-4444-4444-8444-444444444444".into(),
            consumer_id: consumer.id.clone(),
            name: "app".into(),
            client_id: "app-client".into(),
            client_secret: ClientSecret::Plain(Sensitive::new(CLIENT_SECRET)),
            redirect_uris: vec!["https://app.example/cb".into()],
            client_type: ClientType::Confidential,
            hash_secret: false,
            source: source("Secret", "app-credential"),
        }))
        .unwrap();
    t.consumers.insert(consumer.id.clone(), consumer.into());
    t.plugins = [oauth2, oidc]
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    let generated = rcgen::generate_simple_self_signed(vec!["api.example".to_string()]).unwrap();
    t.certificates.push(Certificate {
        source: source("Secret", "api-tls"),
        hosts: vec!["api.example".into()],
        cert_pem: generated.cert.pem(),
        key_pem: Sensitive::new(generated.signing_key.serialize_pem()),
    });
    t
}

#[tokio::test]
async fn admin_api_shows_entities_in_kong_shapes() {
    let up = Upstream::start("a").await;
    let proxy = TestProxy::start(full_table(&up)).await;
    let admin = |path: &str| get(proxy.admin_url(path));

    let node = json(admin("/").await).await;
    assert!(node["version"].is_string());
    assert_eq!(node["configuration"]["database"], "off");
    assert_eq!(node["configuration"]["token_store"], "memory");
    assert_eq!(
        node["plugins"]["enabled_in_cluster"],
        json!(["oauth2", "openid-connect"])
    );
    assert_eq!(json(admin("/status").await).await["generation"], 1);

    let routes = json(admin("/routes").await).await;
    assert_eq!(routes["next"], Value::Null);
    assert_eq!(routes["data"].as_array().unwrap().len(), 2);
    let api = &routes["data"][0];
    let route_id = entities::route_id("default.api.svc.api.example.80");
    let service_id = entities::service_id("default.svc.80");
    assert_eq!(api["id"], route_id.as_str());
    assert_eq!(api["name"], "default.api.svc.api.example.80");
    assert_eq!(api["hosts"], json!(["api.example"]));
    assert_eq!(api["paths"], json!(["/api", "~/v2$", "/v2/"]));
    assert_eq!(api["methods"], json!(["GET"]));
    assert_eq!(api["protocols"], json!(["http", "https"]));
    assert_eq!(api["strip_path"], true);
    assert_eq!(api["preserve_host"], false);
    assert_eq!(api["https_redirect_status_code"], 426);
    assert_eq!(api["regex_priority"], 0);
    assert_eq!(api["service"], json!({ "id": service_id }));
    assert_eq!(routes["data"][1]["methods"], Value::Null);
    for key in ["default.api.svc.api.example.80", route_id.as_str()] {
        assert_eq!(&json(admin(&format!("/routes/{key}")).await).await, api);
    }
    let route_plugins = json(admin(&format!("/routes/{route_id}/plugins")).await).await;
    assert_eq!(route_plugins["data"].as_array().unwrap().len(), 2);

    let svc = json(admin("/services/default.svc.80").await).await;
    assert_eq!(svc["id"], service_id.as_str());
    assert_eq!(svc["protocol"], "http");
    assert_eq!(svc["host"], "127.0.0.1");
    assert_eq!(svc["port"], up.addr.port());
    assert_eq!(svc["path"], "/base");
    assert_eq!(
        json(admin(&format!("/services/{service_id}")).await).await,
        svc
    );
    assert_eq!(json(admin("/services").await).await["data"], json!([svc]));
    let svc_routes = json(admin("/services/default.svc.80/routes").await).await;
    assert_eq!(svc_routes["data"].as_array().unwrap().len(), 2);
    let targets = json(admin("/upstreams/default.svc.80/targets").await).await;
    assert_eq!(targets["data"][0]["target"], up.addr.to_string());

    let jane = json!({
        "id": "33333333-3333-4333-8333-333333333333",
        "username": "jane@example.com",
        "custom_id": "jane-1",
    });
    for key in ["jane%40example.com", "33333333-3333-4333-8333-333333333333"] {
        let consumer = json(admin(&format!("/consumers/{key}")).await).await;
        for field in ["id", "username", "custom_id"] {
            assert_eq!(consumer[field], jane[field], "{key} {field}");
        }
    }

    let plugins = json(admin("/plugins").await).await;
    assert_eq!(plugins["data"].as_array().unwrap().len(), 2);
    let oauth2 = json(admin("/plugins/11111111-1111-4111-8111-111111111111").await).await;
    assert_eq!(oauth2["name"], "oauth2");
    assert_eq!(oauth2["instance_name"], "oauth2-instance");
    assert_eq!(oauth2["route"], json!({ "id": route_id }));
    assert_eq!(oauth2["config"]["enable_client_credentials"], true);
    assert_eq!(oauth2["config"]["scopes"], json!(["read"]));
    let oidc = json(admin("/plugins/22222222-2222-4222-8222-222222222222").await).await;
    assert_eq!(oidc["route"], Value::Null, "runs on two routes");
    assert_eq!(oidc["config"]["client_id"], "kingress");

    let certificates = json(admin("/certificates").await).await;
    assert_eq!(certificates["data"][0]["snis"], json!(["api.example"]));
    assert!(certificates["data"][0].get("key").is_none());

    for missing in [
        "/routes/nope",
        "/services/nope",
        "/consumers/nope",
        "/plugins/nope",
        "/nope",
        "/routes/a/b/c",
    ] {
        let res = admin(missing).await;
        assert_eq!(res.status(), 404, "{missing}");
        assert_eq!(json(res).await, json!({"message": "Not found"}));
    }
    for (method, path) in [
        (reqwest::Method::POST, "/routes"),
        (reqwest::Method::PUT, "/routes/r"),
        (reqwest::Method::PATCH, "/routes/r"),
        (reqwest::Method::DELETE, "/routes/r"),
    ] {
        let res = client::http1()
            .request(method.clone(), proxy.admin_url(path))
            .send()
            .await
            .unwrap();
        // Without writes (cluster mode) every write is 405 and says where
        // configuration comes from instead.
        assert_eq!(res.status(), 405, "{method}");
        let body = json(res).await;
        assert_eq!(body["name"], "operation unsupported", "{body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("managed through Kubernetes objects"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn admin_api_never_shows_a_secret() {
    let up = Upstream::start("a").await;
    let t = full_table(&up);
    let key_pem = t.certificates[0].key_pem.expose().to_string();
    let proxy = TestProxy::start(t).await;
    let mut everything = String::new();
    for path in [
        "/",
        "/status",
        "/routes",
        "/services",
        "/upstreams",
        "/upstreams/default.svc.80/targets",
        "/consumers",
        "/plugins",
        "/plugins/11111111-1111-4111-8111-111111111111",
        "/plugins/22222222-2222-4222-8222-222222222222",
        "/certificates",
        "/oauth2",
        "/consumers/jane@example.com/oauth2",
        "/oauth2_tokens",
    ] {
        let res = get(proxy.admin_url(path)).await;
        assert_eq!(res.status(), 200, "{path}");
        everything.push_str(&res.text().await.unwrap());
    }
    everything.push_str(&get(proxy.status_url("/status")).await.text().await.unwrap());
    everything.push_str(
        &get(proxy.status_url("/metrics"))
            .await
            .text()
            .await
            .unwrap(),
    );
    for secret in [PROVISION_KEY, OIDC_SECRET, IDP_PASSWORD, CLIENT_SECRET] {
        assert!(!everything.contains(secret), "{secret} was shown");
    }
    let key_body: String = key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert!(
        !everything.contains(&key_body[..40]),
        "a private key was shown"
    );
    // Set secrets are shown as masked, not as absent, so operators can see
    // that they are configured.
    assert!(everything.contains("\"provision_key\":\"[redacted]\""));
    assert!(everything.contains("\"client_secret\":\"[redacted]\""));
}

#[tokio::test]
async fn oauth2_credentials_and_tokens_are_listed_with_values_masked() {
    use kingress::tokens::IssuedToken;
    let up = Upstream::start("a").await;
    let proxy = TestProxy::start(full_table(&up)).await;
    let token = "AbCdEfGhIjKlMnOpQrStUvWxYz012345";
    proxy
        .runtime
        .tokens
        .insert_token(&IssuedToken {
            access_token: Sensitive::new(token),
            refresh_token: Some(Sensitive::new("RefreshRefreshRefreshRefresh0123")),
            credential_id: "44444444-4444-4444-8444-444444444444".into(),
            service: None,
            scope: Some("read".into()),
            authenticated_userid: Some("u1".into()),
            expires_in: 7200,
            created_at: kingress::tokens::unix_now(),
            ttl: None,
        })
        .await
        .unwrap();

    let creds: Value = get(proxy.admin_url("/consumers/jane@example.com/oauth2"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(creds["data"].as_array().unwrap().len(), 1);
    assert_eq!(creds["data"][0]["client_id"], "app-client");
    assert_eq!(creds["data"][0]["client_secret"], "[redacted]");
    assert_eq!(
        creds["data"][0]["consumer"]["id"],
        "33333333-3333-4333-8333-333333333333"
    );
    let missing = get(proxy.admin_url("/consumers/nobody/oauth2")).await;
    assert_eq!(missing.status(), 404);

    let res = get(proxy.admin_url("/oauth2_tokens")).await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(!text.contains(token), "a token value was shown");
    assert!(
        !text.contains("RefreshRefresh"),
        "a refresh token was shown"
    );
    let tokens: Value = serde_json::from_str(&text).unwrap();
    let row = &tokens["data"][0];
    assert_eq!(row["access_token"], "[redacted]");
    assert_eq!(row["scope"], "read");
    assert_eq!(row["authenticated_userid"], "u1");
    assert_eq!(
        row["credential"]["id"],
        "44444444-4444-4444-8444-444444444444"
    );
    assert!(row["service"].is_null());
}

#[tokio::test]
async fn consumer_groups_are_listed_with_their_members() {
    let up = Upstream::start("a").await;
    let mut t = full_table(&up);
    let jane = t.consumers.values().next().unwrap().id.clone();
    std::sync::Arc::make_mut(t.consumers.get_mut(&jane).unwrap()).groups = vec!["gold".into()];
    for (id, name) in [
        ("55555555-5555-4555-8555-555555555555", "gold"),
        ("66666666-6666-4666-8666-666666666666", "silver"),
    ] {
        let group = ConsumerGroup {
            id: id.into(),
            name: name.into(),
            tags: vec!["paid".into()],
            source: source("KongConsumerGroup", name),
        };
        t.consumer_groups.insert(name.into(), group);
    }
    let proxy = TestProxy::start(t).await;
    let admin = |path: &str| get(proxy.admin_url(path));

    let list = json(admin("/consumer_groups").await).await;
    let names: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["gold", "silver"]);
    assert_eq!(
        list["data"][0]["tags"],
        json!([
            "k8s-name:gold",
            "k8s-kind:KongConsumerGroup",
            "k8s-namespace:default",
            "paid"
        ])
    );
    // By name or id: the group, its members and its plugins, as Kong.
    for key in ["gold", "55555555-5555-4555-8555-555555555555"] {
        let gold = json(admin(&format!("/consumer_groups/{key}")).await).await;
        assert_eq!(gold["consumer_group"], list["data"][0]);
        assert_eq!(gold["consumers"][0]["id"], jane.as_str());
        assert_eq!(gold["plugins"], json!([]));
    }
    let silver = json(admin("/consumer_groups/silver").await).await;
    assert_eq!(silver["consumers"], json!([]));
    let mine = json(admin(&format!("/consumers/{jane}/consumer_groups")).await).await;
    assert_eq!(mine["data"], json!([list["data"][0]]));
    assert_eq!(admin("/consumer_groups/bronze").await.status(), 404);
    assert_eq!(
        admin("/consumers/nobody/consumer_groups").await.status(),
        404
    );
}
