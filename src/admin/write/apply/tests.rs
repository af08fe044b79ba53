//! The Admin API's write rules on a document, without HTTP.

use super::*;
use crate::admin::write::endpoint::Endpoint;
use http::Method;

fn run(doc: &mut Document, method: Method, path: &str, body: Value) -> Result<Change, WriteError> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let endpoint = Endpoint::parse(&method, &segments)?;
    let Value::Object(body) = body else { panic!() };
    apply(doc, &endpoint, body, 100)
}

#[test]
fn the_seed_builds_a_document() {
    let mut doc = Document::default();
    let c = run(&mut doc, Method::PUT, "/consumers/jane", json!({})).unwrap();
    assert_eq!(c.status, StatusCode::OK);
    run(
        &mut doc,
        Method::PUT,
        "/consumers/jane/oauth2/client",
        json!({"name": "demo", "client_secret": "secret", "hash_secret": "true"}),
    )
    .unwrap();
    run(
        &mut doc,
        Method::PUT,
        "/routes/mock",
        json!({"paths": "/mock"}),
    )
    .unwrap();
    let c = run(
        &mut doc,
        Method::POST,
        "/routes/mock/plugins",
        json!({"name": "oauth2", "config": {"global_credentials": "true",
               "enable_client_credentials": "true"}}),
    )
    .unwrap();
    assert_eq!(c.status, StatusCode::CREATED);
    assert_eq!(doc.consumers[0].username.as_deref(), Some("jane"));
    assert_eq!(doc.oauth2_credentials[0].client_id, "client");
    assert_eq!(doc.oauth2_credentials[0].consumer.id, doc.consumers[0].id);
    assert_eq!(doc.plugins[0].route.as_ref().unwrap().id, doc.routes[0].id);

    // A second PUT replaces and keeps the id; a POST of the same
    // plugin on the same route is a unique violation.
    let id = doc.routes[0].id.clone();
    run(
        &mut doc,
        Method::PUT,
        "/routes/mock",
        json!({"paths": ["/m2"]}),
    )
    .unwrap();
    assert_eq!(doc.routes.len(), 1);
    assert_eq!(doc.routes[0].id, id);
    assert_eq!(doc.routes[0].created_at, 100);
    let e = run(
        &mut doc,
        Method::POST,
        "/routes/mock/plugins",
        json!({"name": "oauth2", "config": {"enable_client_credentials": true}}),
    )
    .unwrap_err();
    assert!(matches!(e, WriteError::Unique { .. }), "{e:?}");

    // Deleting the consumer takes its credential along.
    run(&mut doc, Method::DELETE, "/consumers/jane", json!({})).unwrap();
    assert!(doc.consumers.is_empty() && doc.oauth2_credentials.is_empty());
    // Deleting the route takes its plugin along.
    run(&mut doc, Method::DELETE, "/routes/mock", json!({})).unwrap();
    assert!(doc.plugins.is_empty());
}

#[test]
fn patch_merges_config_and_checks_secret_pairs() {
    let mut doc = Document::default();
    run(&mut doc, Method::PUT, "/routes/r", json!({"paths": ["/r"]})).unwrap();
    run(
        &mut doc,
        Method::POST,
        "/routes/r/plugins",
        json!({"name": "oauth2", "instance_name": "o",
               "config": {"enable_client_credentials": true, "scopes": ["a"]}}),
    )
    .unwrap();
    run(
        &mut doc,
        Method::PATCH,
        "/plugins/o",
        json!({"config": {"token_expiration": 60}}),
    )
    .unwrap();
    let config = &doc.plugins[0].config;
    assert_eq!(config["token_expiration"], 60);
    assert_eq!(config["scopes"], json!(["a"]));
    assert_eq!(config["enable_client_credentials"], true);

    run(&mut doc, Method::PUT, "/consumers/c", json!({})).unwrap();
    run(
        &mut doc,
        Method::POST,
        "/consumers/c/oauth2",
        json!({"name": "n", "client_id": "x"}),
    )
    .unwrap();
    let e = run(
        &mut doc,
        Method::PATCH,
        "/oauth2/x",
        json!({"client_secret": "s"}),
    )
    .unwrap_err();
    assert!(matches!(e, WriteError::Fields(_)), "{e:?}");
    assert!(matches!(
        run(
            &mut doc,
            Method::PATCH,
            "/consumers/other/oauth2/x",
            json!({})
        ),
        Err(WriteError::NotFound)
    ));
}

#[test]
fn services_in_use_are_not_deleted_and_references_must_resolve() {
    let mut doc = Document::default();
    run(&mut doc, Method::PUT, "/services/s", json!({"host": "h"})).unwrap();
    let c = run(
        &mut doc,
        Method::POST,
        "/services/s/routes",
        json!({"paths": ["/"]}),
    )
    .unwrap();
    assert_eq!(c.status, StatusCode::CREATED);
    assert_eq!(
        doc.routes[0].service.as_ref().unwrap().id,
        doc.services[0].id
    );
    assert!(matches!(
        run(&mut doc, Method::DELETE, "/services/s", json!({})),
        Err(WriteError::Referenced { .. })
    ));
    let e = run(
        &mut doc,
        Method::POST,
        "/routes",
        json!({"paths": ["/x"], "service": {"name": "nope"}}),
    )
    .unwrap_err();
    let WriteError::Fields(fields) = e else {
        panic!("{e:?}")
    };
    assert!(fields.is_foreign_key_violation());
    // The route's service through /routes/{r}/service.
    let route = doc.routes[0].id.clone();
    run(
        &mut doc,
        Method::PATCH,
        &format!("/routes/{route}/service"),
        json!({"port": 81}),
    )
    .unwrap();
    assert_eq!(doc.services[0].port, 81);
}
