use super::*;
use crate::kong::Foreign;

const SEED: &str = r#"
_format_version: "3.0"
_transform: true
_comment: the seed, declaratively
services:
  - name: openid-connect
    url: http://127.0.0.1:9000
    routes:
      - name: mock
        paths: [/mock]
        plugins:
          - name: oauth2
            config: {global_credentials: true, enable_client_credentials: true}
    plugins:
      - name: openid-connect
        config:
          issuer: "http://keycloak.test:8080/auth/realms/master"
          client_id: "kong"
          client_auth: "private_key_jwt"
          auth_methods: ["kong_oauth2"]
          bearer_token_param_type: ["header"]
routes:
  - name: lonely
    paths: ["~/lonely/\\d+$"]
consumers:
  - username: jane
    oauth2_credentials:
      - name: demo
        client_id: client
        client_secret: secret
        hash_secret: true
plugins:
  - name: oauth2
    route: lonely
    config: {enable_client_credentials: true}
"#;

#[test]
fn nested_and_top_level_entities_flatten_with_references_resolved() {
    let doc = Document::parse(SEED, 100).unwrap();
    assert_eq!(doc.services.len(), 1);
    let svc = &doc.services[0];
    assert_eq!((svc.host.as_str(), svc.port), ("127.0.0.1", 9000));
    assert_eq!(doc.routes.len(), 2);
    let mock = &doc.routes[0];
    assert_eq!(mock.service, Some(Foreign { id: svc.id.clone() }));
    assert_eq!(doc.routes[1].service, None);
    assert_eq!(doc.oauth2_credentials[0].consumer.id, doc.consumers[0].id);
    assert!(doc.oauth2_credentials[0].hash_secret);
    let scopes: Vec<_> = doc
        .plugins
        .iter()
        .map(|p| (p.name.as_str(), p.route.clone(), p.service.clone()))
        .collect();
    assert_eq!(
        scopes,
        vec![
            ("openid-connect", None, Some(Foreign { id: svc.id.clone() })),
            (
                "oauth2",
                Some(Foreign {
                    id: mock.id.clone()
                }),
                None
            ),
            (
                "oauth2",
                Some(Foreign {
                    id: doc.routes[1].id.clone()
                }),
                None
            ),
        ]
    );
    // Ids are derived, so an unchanged file reads the same.
    assert_eq!(Document::parse(SEED, 100).unwrap(), doc);
}

#[test]
fn written_documents_read_back_identically() {
    let doc = Document::parse(SEED, 100).unwrap();
    let again = Document::parse(&doc.to_yaml(), 999).unwrap();
    assert_eq!(again, doc);
    let json = serde_json::to_string(&doc.to_value()).unwrap();
    assert_eq!(Document::parse(&json, 5).unwrap(), doc);
}

#[test]
fn errors_name_the_entity_and_collect_everything() {
    let text = r#"
_format_version: "3.0"
services:
  - name: a
    host: a.test
    routes:
      - name: r1
        paths: [nope]
routes:
  - name: r2
    paths: [/x]
    service: missing
consumers:
  - tags: [x]
oauth2_credentials:
  - name: app
    consumer: ghost
plugins:
  - name: hmac-auth
vaults: []
"#;
    let err = Document::parse(text, 0).unwrap_err();
    let all = err.to_string();
    for expected in [
        "vaults: entity type not supported",
        "services[0].routes[0] (name 'r1'): schema violation (paths.1: should start with",
        "routes[0] (name 'r2'): foreign key violation (service: the foreign key 'missing' \
         does not reference an existing 'services' entity.)",
        "consumers[0]: schema violation (at least one of these fields must be non-empty",
        "oauth2_credentials[0] (name 'app'): foreign key violation",
        "plugins[0] (name 'hmac-auth'): schema violation (name: plugin 'hmac-auth' not enabled",
    ] {
        assert!(all.contains(expected), "missing {expected:?} in {all}");
    }
}

#[test]
fn duplicates_and_versions_are_refused() {
    let text = r#"
_format_version: "3.0"
consumers:
  - username: jane
  - username: jane
"#;
    let err = Document::parse(text, 0).unwrap_err();
    assert!(
        err.to_string()
            .contains("consumers: username 'jane' is used more than once"),
        "{err}"
    );
    let err = Document::parse("_format_version: \"1.1\"\n", 0).unwrap_err();
    assert!(err.to_string().contains("expected \"3.0\""), "{err}");
    let err = Document::parse("- a\n", 0).unwrap_err();
    assert!(err.to_string().contains("expected a map"), "{err}");
    assert!(
        Document::parse("_format_version: \"3.0\"\n", 0)
            .unwrap()
            .is_empty()
    );
}

const GROUPS: &str = r#"
_format_version: "3.0"
consumers:
  - username: jane
  - username: john
consumer_groups:
  - name: gold
    tags: [paid]
    consumers:
      - username: jane
      - john
    plugins:
      - name: oauth2
        config: {enable_client_credentials: true}
  - name: silver
plugins:
  - name: openid-connect
    consumer_group: silver
    config: {issuer: "http://idp.test/realms/x"}
"#;

#[test]
fn consumer_groups_with_members_and_scoped_plugins_round_trip() {
    // Authentication plugins cannot be scoped to a group (Kong's
    // no_consumer), however the scope is written.
    let err = Document::parse(GROUPS, 1).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("consumer_groups[0].plugins[0] (name 'oauth2')")
            && text.contains("consumer_group: value must be null"),
        "{text}"
    );
    assert!(
        text.contains("plugins[0] (name 'openid-connect')"),
        "{text}"
    );

    let without_plugins =
        GROUPS.split("\n    plugins:").next().unwrap().to_string() + "\n  - name: silver\n";
    let doc = Document::parse(&without_plugins, 1).unwrap();
    let (gold, silver) = (&doc.consumer_groups[0], &doc.consumer_groups[1]);
    assert_eq!(
        (gold.name.as_str(), silver.name.as_str()),
        ("gold", "silver")
    );
    assert_eq!(gold.tags, Some(vec!["paid".to_string()]));
    let members: Vec<&str> = doc
        .consumer_group_consumers
        .iter()
        .map(|m| {
            assert_eq!(m.consumer_group.id, gold.id);
            doc.consumers
                .iter()
                .find(|c| c.id == m.consumer.id)
                .and_then(|c| c.username.as_deref())
                .unwrap()
        })
        .collect();
    assert_eq!(members, ["jane", "john"]);
    assert_eq!(
        doc.resolve(Kind::ConsumerGroup, "gold"),
        Some(gold.id.clone())
    );

    // Written back and read again: the same document.
    let again = Document::from_value(&doc.to_value(), 2).unwrap();
    assert_eq!(again, doc);
}

#[test]
fn consumer_group_errors_name_the_entry() {
    let text = r#"
_format_version: "3.0"
consumers: [{username: jane}]
consumer_groups:
  - name: gold
    consumers: [{username: nobody}]
  - name: gold
  - tags: [nameless]
"#;
    let err = Document::parse(text, 1).unwrap_err().to_string();
    assert!(
        err.contains("consumer_groups[0].consumers[0]: no consumer with this id or username"),
        "{err}"
    );
    assert!(
        err.contains("consumer_groups[2]: schema violation (name: required field missing)"),
        "{err}"
    );
    let dup = r#"
_format_version: "3.0"
consumer_groups: [{name: gold}, {name: gold}]
"#;
    let err = Document::parse(dup, 1).unwrap_err().to_string();
    assert!(
        err.contains("consumer_groups: name 'gold' is used more than once"),
        "{err}"
    );
}
