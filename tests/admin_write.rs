//! The writable Admin API of `kingress standalone`, as a user drives it:
//! the real binary on loopback ports serving a temporary directory, Admin
//! API requests with form and JSON bodies, and the proxy answering the
//! result at once. Also: persistence across a restart, and the 405 every
//! write gets where writes are not accepted (cluster mode).
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

use reqwest::Method;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use support::client::{self, json};
use support::standalone::{Standalone, answer};
use support::upstream::Upstream;

const FORM: &str = "application/x-www-form-urlencoded";

/// A running `kingress standalone` with Admin API helpers.
struct Kingress(Standalone);

impl std::ops::Deref for Kingress {
    type Target = Standalone;
    fn deref(&self) -> &Standalone {
        &self.0
    }
}

/// Starts kingress on `dir` and waits until it is ready.
async fn start(dir: &Path) -> Kingress {
    Kingress(Standalone::start(dir, &[]).await)
}

impl Kingress {
    /// The seed's token request over HTTPS.
    async fn token(&self, path: &str) -> (u16, Value) {
        let res = client::http1()
            .post(format!("https://{}{path}", self.https))
            .header("content-type", FORM)
            .body("client_id=client&client_secret=secret&grant_type=client_credentials")
            .send()
            .await
            .unwrap();
        answer(res).await
    }

    /// A proxied GET, with a bearer token when given.
    async fn proxy(&self, path: &str, token: Option<&str>) -> u16 {
        let mut request = client::http1().get(format!("http://{}{path}", self.http));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap().status().as_u16()
    }
}

/// The seed's prerequisite: service `openid-connect` (the upstream) with a
/// route on `/`, created through the Admin API.
async fn openid_connect_service(k: &Kingress, upstream: SocketAddr) {
    let (status, service) = k
        .form(
            Method::PUT,
            "/services/openid-connect",
            &format!("url=http://{upstream}"),
        )
        .await;
    assert_eq!(status, 200, "{service}");
    let (status, route) = k
        .form(
            Method::POST,
            "/services/openid-connect/routes",
            "name=openid-connect&paths[]=/",
        )
        .await;
    assert_eq!(status, 201, "{route}");
    assert_eq!(route["service"]["id"], service["id"]);
}

/// The seed's four Admin API commands, verbatim as form bodies; returns the
/// credential's answer.
async fn seed_commands(k: &Kingress) -> Value {
    let (status, jane) = k.form(Method::PUT, "/consumers/jane", "").await;
    assert_eq!(status, 200, "{jane}");
    assert_eq!(jane["username"], "jane");

    let (status, credential) = k
        .form(
            Method::PUT,
            "/consumers/jane/oauth2/client",
            "name=demo&client_secret=secret&hash_secret=true",
        )
        .await;
    assert_eq!(status, 200, "{credential}");
    assert_eq!(credential["client_id"], "client");
    assert_eq!(credential["consumer"]["id"], jane["id"]);

    let (status, route) = k.form(Method::PUT, "/routes/mock", "paths=/mock").await;
    assert_eq!(status, 200, "{route}");
    assert_eq!(route["paths"], json!(["/mock"]));
    assert_eq!(route["service"], Value::Null);

    let (status, plugin) = k
        .form(
            Method::POST,
            "/routes/mock/plugins",
            "name=oauth2&config.global_credentials=true&config.enable_client_credentials=true",
        )
        .await;
    assert_eq!(status, 201, "{plugin}");
    assert_eq!(plugin["route"]["id"], route["id"]);
    assert_eq!(plugin["config"]["global_credentials"], true);
    assert_eq!(plugin["config"]["enable_client_credentials"], true);
    credential
}

/// The seed's openid-connect plugin, enabled on the service.
async fn openid_connect_plugin(k: &Kingress) {
    let (status, plugin) = k
        .form(
            Method::POST,
            "/services/openid-connect/plugins",
            "name=openid-connect\
             &config.issuer=http://keycloak.test:8080/auth/realms/master\
             &config.client_id=kong&config.client_auth=private_key_jwt\
             &config.auth_methods=kong_oauth2&config.bearer_token_param_type=header",
        )
        .await;
    assert_eq!(status, 201, "{plugin}");
    assert_eq!(plugin["config"]["auth_methods"], json!(["kong_oauth2"]));
}

#[tokio::test]
async fn the_seed_commands_then_a_token_and_a_bearer_request() {
    let upstream = Upstream::start("openid-connect").await;
    let dir = tempfile::tempdir().unwrap();
    let k = start(dir.path()).await;

    openid_connect_service(&k, upstream.addr).await;
    assert_eq!(k.proxy("/anything", None).await, 200);

    let credential = seed_commands(&k).await;
    // hash_secret: only the argon2id hash is kept and shown.
    let secret = credential["client_secret"].as_str().unwrap();
    assert!(secret.starts_with("$argon2id$"), "{secret}");
    assert_eq!(credential["hash_secret"], true);
    let stored = std::fs::read_to_string(dir.path().join("kingress-admin.kong.yaml")).unwrap();
    assert!(stored.contains("$argon2id$"), "{stored}");
    assert!(
        !stored.contains("secret\n") && !stored.contains(": secret"),
        "{stored}"
    );
    let (_, listed) = k.get("/consumers/jane/oauth2").await;
    assert_eq!(listed["data"][0]["client_secret"], secret);

    // Step 5 at once: the write answered after the table was published.
    let (status, token) = k.token("/mock/oauth2/token").await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["expires_in"], 7200);
    assert_eq!(token["token_type"], "bearer");
    let access_token = token["access_token"].as_str().unwrap().to_string();

    openid_connect_plugin(&k).await;
    assert_eq!(k.proxy("/", None).await, 401);
    assert_eq!(k.proxy("/", Some(&access_token)).await, 200);
    assert_eq!(k.proxy("/", Some("not-a-token")).await, 401);

    // The reads show what was written.
    let (status, route) = k.get("/routes/mock").await;
    assert_eq!((status, &route["paths"]), (200, &json!(["/mock"])));
    let (_, plugins) = k.get("/routes/mock/plugins").await;
    assert_eq!(plugins["data"][0]["name"], "oauth2");
    let (_, consumer) = k.get("/consumers/jane").await;
    assert_eq!(consumer["username"], "jane");
}

#[tokio::test]
async fn writes_persist_across_a_restart() {
    let upstream = Upstream::start("openid-connect").await;
    let dir = tempfile::tempdir().unwrap();
    let k = start(dir.path()).await;
    openid_connect_service(&k, upstream.addr).await;
    let credential = seed_commands(&k).await;
    openid_connect_plugin(&k).await;
    let (_, before) = k.get("/routes/mock").await;
    drop(k);

    let k = start(dir.path()).await;
    let (status, after) = k.get("/routes/mock").await;
    assert_eq!(status, 200);
    assert_eq!(after["id"], before["id"]);
    let (_, listed) = k.get("/oauth2").await;
    assert_eq!(
        listed["data"][0]["client_secret"],
        credential["client_secret"]
    );
    // The hashed secret still verifies after the restart.
    let (status, token) = k.token("/mock/oauth2/token").await;
    assert_eq!(status, 200, "{token}");
    let access_token = token["access_token"].as_str().unwrap();
    assert_eq!(k.proxy("/", Some(access_token)).await, 200);
    assert_eq!(k.proxy("/", None).await, 401);

    // A further write starts from the persisted file.
    let (status, _) = k.form(Method::DELETE, "/routes/mock", "").await;
    assert_eq!(status, 204);
    let (status, token) = k.token("/mock/oauth2/token").await;
    assert_ne!(status, 200, "{token}");
}

#[tokio::test]
async fn create_update_delete_with_kongs_status_codes() {
    let upstream = Upstream::start("web").await;
    let dir = tempfile::tempdir().unwrap();
    let k = start(dir.path()).await;

    // POST 201 (JSON), PUT 200, PATCH 200, GET 200.
    let (status, service) = k
        .json(
            Method::POST,
            "/services",
            json!({"name": "web", "host": upstream.addr.ip().to_string(), "port": upstream.addr.port()}),
        )
        .await;
    assert_eq!(status, 201, "{service}");
    assert_eq!(service["protocol"], "http");
    assert_eq!(service["retries"], 5);
    let (status, route) = k
        .json(
            Method::POST,
            "/routes",
            json!({"name": "a", "paths": ["/a", "/b"], "service": {"name": "web"}}),
        )
        .await;
    assert_eq!(status, 201, "{route}");
    assert_eq!(route["service"]["id"], service["id"]);
    assert_eq!(k.proxy("/b/x", None).await, 200);

    let (status, patched) = k.form(Method::PATCH, "/routes/a", "paths[]=/c").await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["paths"], json!(["/c"]));
    assert_eq!(patched["id"], route["id"]);
    assert_eq!(patched["service"]["id"], service["id"]);
    assert_eq!(k.proxy("/c/x", None).await, 200);
    assert_eq!(k.proxy("/a/x", None).await, 404);

    // Arrays three ways in a form body.
    for body in [
        "name=f&paths=/f1&paths=/f2",
        "name=f&paths[]=/f1&paths[]=/f2",
        "name=f&paths[2]=/f2&paths[1]=/f1",
    ] {
        let (status, route) = k.form(Method::PUT, "/routes/f", body).await;
        assert_eq!(status, 200, "{body}: {route}");
        assert_eq!(route["paths"], json!(["/f1", "/f2"]), "{body}");
    }

    // PUT by id replaces the entity and keeps the id.
    let id = route["id"].as_str().unwrap();
    let (status, replaced) = k
        .json(
            Method::PUT,
            &format!("/routes/{id}"),
            json!({"name": "a", "paths": ["/d"], "service": {"id": service["id"]}}),
        )
        .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["id"], route["id"]);
    assert_eq!(k.proxy("/d", None).await, 200);

    // 404: unknown entity or parent.
    let (status, body) = k.form(Method::PATCH, "/routes/nope", "paths=/x").await;
    assert_eq!((status, body), (404, json!({"message": "Not found"})));
    let (status, _) = k
        .form(Method::POST, "/consumers/nobody/oauth2", "name=x")
        .await;
    assert_eq!(status, 404);
    let (status, _) = k.get("/routes/nope").await;
    assert_eq!(status, 404);

    // 405 for a method an endpoint does not take.
    let (status, _) = k.form(Method::POST, "/routes/a", "paths=/x").await;
    assert_eq!(status, 405);

    // DELETE 204, then the route is gone from reads and the proxy.
    let (status, body) = k.form(Method::DELETE, "/routes/a", "").await;
    assert_eq!((status, body), (204, Value::Null));
    assert_eq!(k.get("/routes/a").await.0, 404);
    assert_eq!(k.proxy("/d", None).await, 404);
    // Kong answers 204 for an entity that is already gone.
    assert_eq!(k.form(Method::DELETE, "/routes/a", "").await.0, 204);
}

#[tokio::test]
async fn refusals_name_the_field_and_persist_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let k = start(dir.path()).await;
    let file = dir.path().join("kingress-admin.kong.yaml");

    // Schema violations: 400 with `fields`.
    let (status, body) = k
        .json(Method::POST, "/services", json!({"name": "s"}))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], 2);
    assert_eq!(body["name"], "schema violation");
    assert_eq!(body["fields"]["host"], "required field missing");
    assert_eq!(
        body["message"],
        "schema violation (host: required field missing)"
    );
    assert!(!file.exists(), "a refused write must not be persisted");

    let (status, body) = k
        .form(
            Method::PUT,
            "/routes/r",
            "paths=/r&strip_path=maybe&bogus=1",
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["fields"]["strip_path"].is_string(), "{body}");
    assert_eq!(body["fields"]["bogus"], "unknown field");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("2 schema violations")
    );

    // Plugin configuration is checked by the plugin's own parser.
    k.form(Method::PUT, "/routes/r", "paths=/r").await;
    let (status, body) = k
        .form(
            Method::POST,
            "/routes/r/plugins",
            "name=oauth2&config.global_credentials=true",
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("at least one of these fields must be true"),
        "{body}"
    );

    // Unparseable bodies.
    let res = client::http1()
        .post(format!("http://{}/consumers", k.admin))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        json(res).await,
        json!({"message": "Cannot parse JSON body"})
    );

    // Unique violations: 409.
    let (status, _) = k.form(Method::POST, "/consumers", "username=jane").await;
    assert_eq!(status, 201);
    let (status, body) = k.form(Method::POST, "/consumers", "username=jane").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], 5);
    assert_eq!(body["name"], "unique constraint violation");
    assert_eq!(body["fields"], json!({"username": "jane"}));
    let (status, _) = k
        .form(
            Method::POST,
            "/consumers/jane/oauth2",
            "name=a&client_id=dup",
        )
        .await;
    assert_eq!(status, 201);
    let (status, body) = k
        .form(
            Method::POST,
            "/consumers/jane/oauth2",
            "name=b&client_id=dup",
        )
        .await;
    assert_eq!(status, 409, "{body}");

    // A reference to nothing.
    let (status, body) = k
        .json(
            Method::POST,
            "/routes",
            json!({"paths": ["/x"], "service": {"id": "6b1f3c52-9e0a-4d7b-8a41-2f5cd0e97a13"}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["fields"]["service"].is_string(), "{body}");
}

#[tokio::test]
async fn deleting_a_consumer_or_route_deletes_what_hangs_off_it() {
    let dir = tempfile::tempdir().unwrap();
    let k = start(dir.path()).await;
    seed_commands(&k).await;
    // A second, plaintext credential: the write answer shows the secret
    // (as Kong does), reads mask it.
    let (status, second) = k
        .form(Method::POST, "/consumers/jane/oauth2", "name=two")
        .await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["client_secret"].as_str().unwrap().len(), 32);
    assert_eq!(second["client_id"].as_str().unwrap().len(), 32);
    let (_, listed) = k.get("/consumers/jane/oauth2").await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);

    // The nested entity endpoint finds a credential by client_id or id.
    let path = format!("/consumers/jane/oauth2/{}", second["id"].as_str().unwrap());
    let (status, patched) = k.form(Method::PATCH, &path, "name=renamed").await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["name"], "renamed");

    assert_eq!(k.form(Method::DELETE, "/consumers/jane", "").await.0, 204);
    let (_, listed) = k.get("/oauth2").await;
    assert_eq!(listed["data"], json!([]));
    assert_eq!(k.token("/mock/oauth2/token").await.0, 400);

    assert_eq!(k.form(Method::DELETE, "/routes/mock", "").await.0, 204);
    let (_, plugins) = k.get("/plugins").await;
    assert_eq!(plugins["data"], json!([]));
}

#[tokio::test]
async fn without_writes_every_write_is_405_with_the_reason() {
    // `kingress run` binds the Admin API without writes; so does this.
    let proxy = support::proxy::TestProxy::start(Default::default()).await;
    for (method, path) in [
        (Method::PUT, "/consumers/jane"),
        (Method::POST, "/routes/mock/plugins"),
        (Method::PATCH, "/services/s"),
        (Method::DELETE, "/consumers/jane/oauth2/client"),
    ] {
        let res = client::http1()
            .request(method.clone(), proxy.admin_url(path))
            .header("content-type", FORM)
            .body("name=x")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{method} {path}");
        let body = json(res).await;
        assert_eq!(body["name"], "operation unsupported");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("configuration is managed through Kubernetes objects"),
            "{body}"
        );
    }
    let res = client::http1()
        .post(proxy.admin_url("/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn a_write_translate_would_report_is_refused_with_its_message() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("consumer.yaml"),
        r#"
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: kong}
spec: {controller: ingress-controllers.konghq.com/kong}
---
apiVersion: configuration.konghq.com/v1
kind: KongConsumer
metadata:
  name: kube-jane
  annotations: {kubernetes.io/ingress.class: kong}
username: jane
"#,
    )
    .unwrap();
    let k = start(dir.path()).await;
    let (status, body) = k.form(Method::PUT, "/consumers/jane", "").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["name"], "schema violation");
    let problem = body["fields"]["@entity"][0].as_str().unwrap();
    assert!(problem.contains("already used by"), "{problem}");
    assert!(problem.contains("kube-jane"), "{problem}");
    assert!(!dir.path().join("kingress-admin.kong.yaml").exists());
    // Another username is fine.
    assert_eq!(k.form(Method::PUT, "/consumers/joe", "").await.0, 200);
}

#[tokio::test]
async fn with_a_single_file_writes_are_405_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kong.yml");
    std::fs::write(&file, "_format_version: \"3.0\"\n").unwrap();
    let k = start(&file).await;
    let (status, body) = k.form(Method::PUT, "/consumers/jane", "").await;
    assert_eq!(status, 405, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("-f naming a directory"),
        "{body}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[tokio::test]
async fn reads_of_a_written_plugin_mask_its_secrets() {
    let upstream = Upstream::start("oidc").await;
    let dir = tempfile::tempdir().unwrap();
    let k = start(dir.path()).await;
    openid_connect_service(&k, upstream.addr).await;
    let (status, written) = k
        .form(
            Method::POST,
            "/services/openid-connect/plugins",
            "name=openid-connect&config.issuer=http://idp.test/realms/a\
             &config.client_id=kong&config.client_secret=s3cr3t-value\
             &config.auth_methods=introspection",
        )
        .await;
    assert_eq!(status, 201, "{written}");
    let id = written["id"].as_str().unwrap().to_string();
    // Every read path: by id, the list, and the service's list.
    for path in [
        format!("/plugins/{id}"),
        "/plugins".to_string(),
        "/services/openid-connect/plugins".to_string(),
    ] {
        let (status, body) = k.get(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(
            !body.to_string().contains("s3cr3t-value"),
            "{path} shows the secret: {body}"
        );
        let plugin = if body["data"].is_array() {
            body["data"][0].clone()
        } else {
            body
        };
        assert_eq!(plugin["id"], id.as_str(), "{path}");
        assert_eq!(plugin["config"]["client_secret"], "[redacted]", "{path}");
        assert_eq!(plugin["config"]["client_id"], "kong", "{path}");
    }
    // The stored document keeps the secret: the plugin still works after a
    // restart (persistence is what the document is for).
    drop(k);
    let k = start(dir.path()).await;
    let (status, body) = k.get(&format!("/plugins/{id}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["config"]["client_secret"], "[redacted]");
}
