use super::*;
use crate::kong::Ids;
use serde_json::json;

fn resolve(kind: Kind, key: &str) -> Option<String> {
    match (kind, key) {
        (Kind::Route, "mock" | "route-id") => Some("route-id".into()),
        (Kind::Service, "svc" | "svc-id") => Some("svc-id".into()),
        (Kind::Consumer, "jane" | "jane-id") => Some("jane-id".into()),
        _ => None,
    }
}

fn cx() -> Context<'static> {
    Context {
        now: 3,
        ids: Ids::Derived,
        position: "plugins[0]",
        resolve: &resolve,
        stored: false,
    }
}

#[test]
fn oauth2_config_is_checked_and_printed_with_defaults() {
    let p = Plugin::from_json(
        &json!({"name": "oauth2", "route": "mock",
                "config": {"enable_client_credentials": "true", "global_credentials": true,
                           "token_expiration": "60"}}),
        None,
        &cx(),
    )
    .unwrap();
    assert_eq!(
        p.route,
        Some(Foreign {
            id: "route-id".into()
        })
    );
    assert_eq!(p.config["enable_client_credentials"], true);
    assert_eq!(p.config["token_expiration"], 60);
    assert_eq!(p.config["pkce"], "lax");
    assert_eq!(p.config["refresh_token_ttl"], 1_209_600);
    assert_eq!(p.config.as_object().unwrap().len(), 18);
    let v = serde_json::to_value(&p).unwrap();
    assert_eq!(v["protocols"], json!(["grpc", "grpcs", "http", "https"]));
    assert!(v["service"].is_null() && v["consumer"].is_null() && v["instance_name"].is_null());
    assert_eq!(v["enabled"], true);
    // The defaulted config reads back the same.
    let again = Plugin::from_json(&v, None, &cx()).unwrap();
    assert_eq!(again, p);
    assert_eq!(again.parsed_config().unwrap(), p.parsed_config().unwrap());
}

#[test]
fn openid_connect_defaults_parse_to_the_same_config() {
    let config = json!({
        "issuer": "http://keycloak.test:8080/auth/realms/master",
        "client_id": "kong",
        "client_auth": "private_key_jwt",
        "auth_methods": ["kong_oauth2"],
        "bearer_token_param_type": ["header"],
    });
    let p = Plugin::from_json(
        &json!({"name": "openid-connect", "service": {"id": "svc"}, "config": config}),
        None,
        &cx(),
    )
    .unwrap();
    assert_eq!(
        PluginConfig::parse("openid-connect", &config).unwrap(),
        p.parsed_config().unwrap()
    );
    assert_eq!(
        p.config["upstream_access_token_header"],
        "authorization:bearer"
    );
    assert_eq!(p.config["ssl_verify"], true);
    // An explicit null stays null (it turns the upstream header off).
    let off = defaulted_config(
        "openid-connect",
        &json!({"upstream_access_token_header": null}),
    );
    assert!(off["upstream_access_token_header"].is_null());
}

#[test]
fn refusals_name_the_field() {
    let e = Plugin::from_json(&json!({"name": "hmac-auth"}), None, &cx()).unwrap_err();
    assert_eq!(
        e.message(),
        "schema violation (name: plugin 'hmac-auth' not enabled; add it to the 'plugins' \
         configuration property)"
    );
    let e = Plugin::from_json(
        &json!({"name": "oauth2", "config": {"enable_client_credentials": true, "pkce": "maybe"}}),
        None,
        &cx(),
    )
    .unwrap_err();
    assert!(e.get("config.pkce").is_some(), "{e}");
    let e = Plugin::from_json(&json!({"name": "oauth2", "config": {}}), None, &cx()).unwrap_err();
    assert!(
        e.message()
            .contains("config: at least one of these fields must be true"),
        "{e}"
    );
    let e = Plugin::from_json(
        &json!({"name": "openid-connect", "config": {"issuer": "http://i.test", "leeway": -1}}),
        Some((Kind::Consumer, "c1")),
        &cx(),
    )
    .unwrap_err();
    assert!(
        e.get("config.leeway").is_some() && e.get("consumer").is_some(),
        "{e}"
    );
    let e = Plugin::from_json(
        &json!({"name": "oauth2", "route": "nope",
        "config": {"enable_client_credentials": true}}),
        None,
        &cx(),
    )
    .unwrap_err();
    assert!(e.is_foreign_key_violation());
}

#[test]
fn debug_hides_config_values() {
    let p = Plugin::from_json(
        &json!({"name": "oauth2", "config": {"enable_password_grant": true, "provision_key": "hunter2"}}),
        Some((Kind::Route, "r1")),
        &cx(),
    )
    .unwrap();
    assert_eq!(p.route, Some(Foreign { id: "r1".into() }));
    let debug = format!("{p:?}");
    assert!(
        !debug.contains("hunter2") && debug.contains("provision_key"),
        "{debug}"
    );
}

#[test]
fn form_values_are_read_by_type_in_nested_records() {
    let mut config = json!({
        "strategy": "memory",
        "storage_ttl": "60",
        "response_headers": {"age": "false", "X-Cache-Key": "true"},
        "memory": {"dictionary_name": "kong"},
    });
    defaults::coerce_config("proxy-cache", &mut config);
    assert_eq!(
        config,
        json!({
            "strategy": "memory",
            "storage_ttl": 60,
            "response_headers": {"age": false, "X-Cache-Key": true},
            "memory": {"dictionary_name": "kong"},
        })
    );
}
