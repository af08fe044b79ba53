use crate::model::{ClientSecret, HostMatch, PathMatch, PluginConfig, Target};
use crate::objects::ObjectSet;
use crate::source::files::load_text;
use crate::translate::{Options, translate};
use std::path::Path;

fn load(text: &str) -> crate::translate::Translation {
    let mut objects = ObjectSet::default();
    load_text(Path::new("kong.yml"), text, &mut objects);
    assert_eq!(objects.refused, []);
    translate(&objects, &Options::default())
}

#[test]
fn the_seed_example_becomes_routes_services_consumers_and_plugins() {
    let t = load(include_str!("../../../examples/kong.yml"));
    assert_eq!(t.problems, vec![]);
    let table = t.table;
    let mock = table.routes.iter().find(|r| r.name == "mock").unwrap();
    assert_eq!(mock.paths, vec![PathMatch::Plain("/mock".into())]);
    assert!(mock.strip_path && !mock.preserve_host);
    assert_eq!(mock.service.as_deref(), Some("mock"));
    assert_eq!(mock.plugins.len(), 1);
    assert!(matches!(&mock.plugins[0].config, PluginConfig::Oauth2(c) if c.global_credentials));
    let oidc = table
        .routes
        .iter()
        .find(|r| r.name == "openid-connect")
        .unwrap();
    assert!(matches!(&oidc.plugins[..], [p] if p.name == "openid-connect"));
    assert_eq!(
        table.services["openid-connect"].targets,
        vec![Target::new("127.0.0.1", 9000)]
    );
    let jane = table.find_consumer("jane").unwrap();
    let cred = table.credentials.oauth2("client").unwrap();
    assert_eq!(cred.consumer_id, jane.id);
    assert!(matches!(&cred.client_secret, ClientSecret::ToHash(s) if s.expose() == "secret"));
    assert_eq!(table.plugins.len(), 2);
}

#[test]
fn precedence_regex_paths_hosts_and_routes_without_service() {
    let t = load(
        r#"
_format_version: "3.0"
services:
  - name: a
    host: a.test
    plugins:
      - name: oauth2
        config: {enable_client_credentials: true, token_expiration: 10}
    routes:
      - name: r1
        hosts: ["*.example.com"]
        paths: ["~/items/\\d+$"]
        plugins:
          - name: oauth2
            config: {enable_client_credentials: true, token_expiration: 20}
      - name: r2
        methods: [GET]
  - name: off
    host: off.test
    enabled: false
    routes:
      - name: r3
        paths: [/off]
routes:
  - name: lonely
    paths: [/lonely]
    protocols: [https]
plugins:
  - name: oauth2
    enabled: false
    config: {enable_client_credentials: true}
"#,
    );
    assert_eq!(t.problems, vec![]);
    let route = |n: &str| t.table.routes.iter().find(|r| r.name == n);
    let r1 = route("r1").unwrap();
    assert_eq!(
        r1.hosts,
        vec![HostMatch::WildcardPrefix(".example.com".into())]
    );
    assert!(matches!(&r1.paths[..], [PathMatch::Regex(r)] if r.as_str() == r"^/items/\d+$"));
    let expiry = |r: &crate::model::Route| match &r.plugins[..] {
        [p] => match &p.config {
            PluginConfig::Oauth2(c) => c.token_expiration,
            _ => 0,
        },
        _ => 0,
    };
    assert_eq!(expiry(r1), 20, "the route's own plugin wins");
    assert_eq!(
        expiry(route("r2").unwrap()),
        10,
        "the service's plugin applies"
    );
    assert!(
        route("r3").is_none(),
        "a disabled service's routes are not routed"
    );
    let lonely = route("lonely").unwrap();
    assert_eq!((lonely.service.as_ref(), lonely.plugins.len()), (None, 0));
    assert_eq!(lonely.protocols, vec!["https".to_string()]);
    assert_eq!(lonely.https_redirect_status_code, 426);
}

#[test]
fn names_used_by_kubernetes_objects_stay_with_them() {
    let t = load(
        r#"
apiVersion: configuration.konghq.com/v1
kind: KongConsumer
metadata:
  name: jane
  annotations: {kubernetes.io/ingress.class: kong}
username: jane
---
_format_version: "3.0"
consumers:
  - username: jane
    oauth2_credentials:
      - {name: demo, client_id: client, client_secret: secret}
  - username: joe
"#,
    );
    assert_eq!(t.problems.len(), 1, "{:?}", t.problems);
    let p = &t.problems[0];
    assert_eq!(p.reason, "DuplicateUsername");
    assert!(
        p.message.contains("KongConsumer default/jane"),
        "{}",
        p.message
    );
    assert_eq!(p.object.kind, "KongConsumer");
    assert_eq!(p.object.name, "kong.yml#2: jane");
    let jane = t.table.find_consumer("jane").unwrap();
    assert_eq!(jane.source.kind, "KongConsumer");
    assert_eq!(jane.source.namespace.as_deref(), Some("default"));
    assert!(t.table.find_consumer("joe").is_some());
    assert!(t.table.credentials.is_empty());
}

#[test]
fn a_refused_document_is_a_problem_and_kubernetes_routes_stay() {
    let t = load(
        r#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  ingressClassName: kong
  rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
---
_format_version: "3.0"
routes:
  - name: bad
    paths: [nope]
"#,
    );
    let problem = t
        .problems
        .iter()
        .find(|p| p.reason == "InvalidDeclarativeConfig")
        .unwrap();
    assert!(
        problem
            .message
            .contains("routes[0] (name 'bad'): schema violation (paths.1:"),
        "{}",
        problem.message
    );
    assert_eq!(problem.object.name, "kong.yml#2");
    assert_eq!(t.table.routes.len(), 1);
    assert!(t.table.routes[0].name.contains("web"));
}

#[test]
fn credentials_of_every_generic_type_nested_and_top_level() {
    use crate::kong::Document;
    use crate::model::{ApiKey, Credential, CredentialType, Password};
    let text = r#"
_format_version: "3.0"
_transform: false
consumers:
  - username: jane
    keyauth_credentials:
      - key: jane-key
        ttl: 60
    acls:
      - group: admins
      - group: users
  - username: bob
basicauth_credentials:
  - consumer: jane
    username: jane-basic
    password: a94a8fe5ccb19ba61c4c0873d391e987982fbbd3
  - consumer: {username: bob}
    username: bob-basic
    password: "$pbkdf2-sha512$i=10000,l=32$YQ$YQ"
acls:
  - consumer: bob
    group: users
keyauth_credentials:
  - consumer: bob
    key: jane-key
"#;
    // The same key twice is refused with the document, never echoed.
    let refused = Document::parse(text, 5).unwrap_err().to_string();
    assert!(
        refused.contains("keyauth_credentials: unique key of credential"),
        "{refused}"
    );
    assert!(!refused.contains("jane-key"), "{refused}");

    let text = text.replace("    key: jane-key\n\"#", "    key: bob-key\n\"#");
    let text = text.replace(
        "  - consumer: bob\n    key: jane-key",
        "  - consumer: bob\n    key: bob-key",
    );
    let doc = Document::parse(&text, 5).unwrap();
    assert_eq!(doc.credentials.len(), 7);
    // A written document reads back the same (ids kept).
    let again = Document::from_value(&doc.to_value(), 5).unwrap();
    let sorted = |d: &Document| {
        let mut c = d.credentials.clone();
        c.sort_by(|a, b| a.id.cmp(&b.id));
        c
    };
    assert_eq!(sorted(&again), sorted(&doc));

    let t = load(&text);
    assert_eq!(t.problems, vec![]);
    let table = t.table;
    let jane = table.find_consumer("jane").unwrap().id.clone();
    let bob = table.find_consumer("bob").unwrap().id.clone();
    assert!(matches!(
        table.credentials.get(CredentialType::KeyAuth, "jane-key"),
        Some(Credential::KeyAuth(k)) if k.ttl == Some(60) && matches!(k.key, ApiKey::Plain(_)) && k.base.consumer_id == jane
    ));
    assert!(matches!(
        table.credentials.get(CredentialType::BasicAuth, "jane-basic"),
        Some(Credential::BasicAuth(b)) if matches!(b.password, Password::KongSha1(_))
    ));
    assert!(matches!(
        table.credentials.get(CredentialType::BasicAuth, "bob-basic"),
        Some(Credential::BasicAuth(b)) if matches!(b.password, Password::Hashed(_)) && b.base.consumer_id == bob
    ));
    assert_eq!(table.credentials.groups_of(&jane), ["admins", "users"]);
    assert_eq!(table.credentials.groups_of(&bob), ["users"]);
}

#[test]
fn consumer_groups_give_their_members_groups() {
    let t = load(
        r#"
apiVersion: configuration.konghq.com/v1beta1
kind: KongConsumerGroup
metadata:
  name: platinum
  namespace: default
  annotations: {kubernetes.io/ingress.class: kong}
spec: {name: ignored-as-in-kic}
---
_format_version: "3.0"
consumers:
  - username: jane
  - username: john
consumer_groups:
  - name: gold
    tags: [paid]
    consumers: [{username: jane}]
  - name: silver
    consumers: [jane, john]
  - name: platinum
    consumers: [john]
"#,
    );
    let table = &t.table;
    let groups = |name: &str| table.find_consumer(name).unwrap().groups.clone();
    assert_eq!(groups("jane"), ["gold", "silver"]);
    // platinum is the KongConsumerGroup's: the declarative one is left out.
    assert_eq!(groups("john"), ["silver"]);
    assert_eq!(table.consumer_groups["gold"].tags, ["paid"]);
    assert_eq!(
        table.consumer_groups["platinum"].source.kind,
        "KongConsumerGroup"
    );
    assert_eq!(
        table.consumer_groups["platinum"]
            .source
            .namespace
            .as_deref(),
        Some("default")
    );
    let p = &t.problems[0];
    assert_eq!(p.reason, "DuplicateConsumerGroupName");
    assert!(
        p.object.name.contains("kong.yml") && p.object.name.contains("platinum"),
        "{p:?}"
    );
    assert_eq!(t.problems.len(), 1, "{:?}", t.problems);
}

#[test]
fn route_paths_take_the_spelling_of_normalised_request_paths() {
    let t = load(
        r#"_format_version: "3.0"
services:
  - name: web
    url: http://127.0.0.1:9000
    routes:
      - name: escaped
        paths: [/mo%63k, /a/./b/../c, "/x%2fy"]
"#,
    );
    assert_eq!(t.problems, vec![]);
    let route = t.table.routes.iter().find(|r| r.name == "escaped").unwrap();
    assert_eq!(
        route.paths,
        vec![
            PathMatch::Plain("/mock".into()),
            PathMatch::Plain("/a/c".into()),
            PathMatch::Plain("/x%2Fy".into()),
        ]
    );
}
