//! Kong declarative configuration (`kong.yml`) in standalone mode: a
//! directory holding a kong.yml and Kubernetes manifests feeds one table,
//! and the seed in declarative form (examples/kong.yml) runs through the
//! real `kingress standalone` binary over HTTPS on loopback.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

use kingress::model::{ClientSecret, HostMatch, PathMatch, PluginConfig, Scheme, Target};
use kingress::translate::{Options, translate};
use std::path::Path;
use support::upstream::Upstream;

#[test]
fn a_directory_with_kong_yml_and_manifests_gives_one_table() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/declarative");
    let objects = kingress::source::files::load(&dir).unwrap();
    assert_eq!(objects.declarative.len(), 1);
    let t = translate(&objects, &Options::default());
    assert_eq!(t.problems, vec![]);
    let table = &t.table;

    let names: Vec<&str> = table.routes.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.iter().any(|n| n.contains("web")), "{names:?}");

    let items = table.routes.iter().find(|r| r.name == "items").unwrap();
    assert_eq!(
        items.hosts,
        vec![HostMatch::WildcardPrefix(".example.test".into())]
    );
    assert!(matches!(&items.paths[0], PathMatch::Regex(r) if r.as_str() == r"^/items/\d+$"));
    assert_eq!(items.paths[1], PathMatch::Plain("/items".into()));
    assert_eq!(items.methods, vec!["GET".to_string(), "POST".to_string()]);
    assert!(!items.strip_path && items.preserve_host);
    assert!(
        matches!(&items.plugins[..], [p] if matches!(&p.config, PluginConfig::Oauth2(c) if c.global_credentials))
    );
    let api = &table.services[items.service.as_deref().unwrap()];
    assert_eq!(api.path.as_deref(), Some("/v1"));
    assert_eq!(api.targets, vec![Target::new("127.0.0.1", 9000)]);

    let lonely = table.routes.iter().find(|r| r.name == "lonely").unwrap();
    assert_eq!(lonely.service, None);

    assert!(table.find_consumer("joe").is_some(), "the KongConsumer");
    let jane = table.find_consumer("jane").unwrap();
    let cred = table.credentials.oauth2("app-client").unwrap();
    assert_eq!(cred.consumer_id, jane.id);
    assert!(matches!(&cred.client_secret, ClientSecret::Plain(s) if s.expose() == "app-secret"));
}

/// request-transformer and response-transformer from a kong.yml: parsed,
/// validated and printed back as Kong prints them; a Lua template is a
/// problem naming the field and value.
/// Kong's gRPC example (docs "Proxy gRPC traffic"): a `grpc` service with
/// a `grpc`/`grpcs` route, and `grpc-web` on an HTTP route to it.
#[test]
fn grpc_services_and_routes_from_kong_yml() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kong.yml"),
        r#"_format_version: "3.0"
services:
  - name: grpcbin
    url: grpc://127.0.0.1:9000
    routes:
      - name: calls
        protocols: ["grpc", "grpcs"]
        paths: ["/hello.HelloService/"]
      - name: web
        paths: ["/web"]
        plugins:
          - name: grpc-web
            config: {pass_stripped_path: true}
  - name: secure
    url: grpcs://127.0.0.1:9001
"#,
    )
    .unwrap();
    let objects = kingress::source::files::load(dir.path()).unwrap();
    let t = translate(&objects, &Options::default());
    assert_eq!(t.problems, vec![]);
    let service = |name: &str| {
        t.table
            .services
            .values()
            .find(|s| s.name.contains(name))
            .unwrap()
    };
    assert_eq!(service("grpcbin").scheme, Scheme::Grpc);
    assert_eq!(service("secure").scheme, Scheme::Grpcs);
    let route = |name: &str| t.table.routes.iter().find(|r| r.name == name).unwrap();
    assert_eq!(route("calls").protocols, ["grpc", "grpcs"]);
    assert!(!route("calls").strip_path);
    assert_eq!(route("web").plugins[0].name, "grpc-web");
}

#[test]
fn transformers_from_kong_yml() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kong.yml"),
        r#"_format_version: "3.0"
services:
  - name: api
    url: http://127.0.0.1:9000
    routes:
      - name: users
        paths: ["~/users/(?<id>\\d+)$"]
        plugins:
          - name: request-transformer
            config:
              replace: {uri: "/v2/$(uri_captures.id)"}
              add: {headers: ["x-id:$(uri_captures['id'])"]}
          - name: response-transformer
            config:
              append: {json: ["tags:x"], headers: ["x-a:1"]}
"#,
    )
    .unwrap();
    let objects = kingress::source::files::load(dir.path()).unwrap();
    let t = translate(&objects, &Options::default());
    let names: Vec<&str> = t.table.routes.iter().map(|r| r.name.as_str()).collect();
    let users = t
        .table
        .routes
        .iter()
        .find(|r| r.name == "users")
        .unwrap_or_else(|| panic!("{names:?} {:?}", t.problems));
    let rendered: Vec<serde_json::Value> =
        users.plugins.iter().map(|p| p.config.render()).collect();
    assert!(matches!(
        &users.plugins[0].config,
        PluginConfig::RequestTransformer(_)
    ));
    assert_eq!(rendered[0]["replace"]["uri"], "/v2/$(uri_captures.id)");
    assert_eq!(
        rendered[0]["add"]["headers"][0],
        "x-id:$(uri_captures['id'])"
    );
    assert_eq!(rendered[1]["append"]["json"][0], "tags:x");
    assert_eq!(rendered[1]["append"]["json_types"], serde_json::json!([]));
    assert_eq!(t.problems, vec![]);
    // Kong refuses the whole document when one plugin is invalid.
    std::fs::write(
        dir.path().join("kong.yml"),
        r#"_format_version: "3.0"
plugins:
  - name: request-transformer
    config:
      add: {querystring: ["q:$(os.getenv('HOME'))"]}
"#,
    )
    .unwrap();
    let t = translate(
        &kingress::source::files::load(dir.path()).unwrap(),
        &Options::default(),
    );
    assert_eq!(t.problems.len(), 1);
    assert!(
        t.problems[0].message.contains(
            "config.add.querystring.1: value '$(os.getenv('HOME'))' is not in supported format"
        ),
        "{}",
        t.problems[0].message
    );
}

#[tokio::test]
async fn the_seed_as_kong_yml_issues_and_accepts_tokens() {
    let upstream = Upstream::start("echo").await;
    let dir = tempfile::tempdir().unwrap();
    let example =
        include_str!("../examples/kong.yml").replace("127.0.0.1:9000", &upstream.addr.to_string());
    // Two more routes for Kong's answers without a service and on plain
    // HTTP to an https-only route.
    let text = format!(
        "{example}routes:\n  - {{name: lonely, paths: [/lonely]}}\n  \
         - {{name: secure, paths: [/secure], protocols: [https], service: mock}}\n"
    );
    std::fs::write(dir.path().join("kong.yml"), text).unwrap();
    let kingress = support::standalone::Standalone::start(dir.path(), &[]).await;
    let client = support::client::http1();
    let base = format!("https://127.0.0.1:{}", kingress.https.port());

    let token = client
        .post(format!("{base}/mock/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "client"),
            ("client_secret", "secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);
    let token = support::client::json(token).await;
    let access = token["access_token"].as_str().unwrap().to_string();
    assert_eq!(token["token_type"], "bearer");

    let ok = client
        .get(format!("{base}/anything"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let echoed = support::client::json(ok).await;
    assert_eq!(echoed["upstream"], "echo");
    assert_eq!(echoed["headers"]["x-consumer-username"], "jane");

    let denied = client.get(format!("{base}/anything")).send().await.unwrap();
    assert_eq!(denied.status(), 401);
    let wrong = client
        .get(format!("{base}/anything"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let lonely = client.get(format!("{base}/lonely")).send().await.unwrap();
    assert_eq!(lonely.status(), 503);
    assert_eq!(
        support::client::json(lonely).await,
        serde_json::json!({"message": "no Service found with those values"})
    );
    let plain = reqwest::get(format!("http://{}/secure", kingress.http))
        .await
        .unwrap();
    assert_eq!(plain.status(), 426);
}
