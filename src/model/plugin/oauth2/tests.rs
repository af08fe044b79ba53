use super::*;
use serde_json::json;

fn parse(v: Value) -> Result<Oauth2Config, ConfigError> {
    Oauth2Config::parse(&v)
}

fn field_error(v: Value) -> (String, String) {
    match parse(v) {
        Err(ConfigError::Field { field, message }) => (field, message),
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn defaults_match_kong() {
    let c = parse(json!({"enable_client_credentials": true})).unwrap();
    assert_eq!(c.scopes, None);
    assert!(!c.mandatory_scope);
    assert_eq!(c.provision_key, None);
    assert_eq!(c.token_expiration, 7200);
    assert!(!c.enable_authorization_code);
    assert!(!c.enable_implicit_grant);
    assert!(c.enable_client_credentials);
    assert!(!c.enable_password_grant);
    assert!(!c.hide_credentials);
    assert!(!c.accept_http_if_already_terminated);
    assert_eq!(c.anonymous, None);
    assert!(!c.global_credentials);
    assert_eq!(c.auth_header_name.as_str(), "authorization");
    assert_eq!(c.refresh_token_ttl, 1_209_600);
    assert!(!c.reuse_refresh_token);
    assert_eq!(c.pkce, Pkce::Lax);
    assert_eq!(c.realm, None);
}

#[test]
fn every_field_is_read() {
    let c = parse(json!({
        "scopes": ["email", "profile"],
        "mandatory_scope": true,
        "provision_key": "pk",
        "token_expiration": 10,
        "enable_authorization_code": true,
        "enable_implicit_grant": true,
        "enable_client_credentials": true,
        "enable_password_grant": true,
        "hide_credentials": true,
        "accept_http_if_already_terminated": true,
        "anonymous": "guest",
        "global_credentials": true,
        "auth_header_name": "X-Token",
        "refresh_token_ttl": 0,
        "reuse_refresh_token": true,
        "pkce": "strict",
        "realm": "api",
        "persistent_refresh_token": true,
    }))
    .unwrap();
    assert_eq!(
        c.scopes,
        Some(vec!["email".to_string(), "profile".to_string()])
    );
    assert!(c.mandatory_scope);
    assert!(c.provision_key_matches(Some("pk")));
    assert!(!c.provision_key_matches(Some("pk2")));
    assert!(!c.provision_key_matches(None));
    assert_eq!(c.token_expiration, 10);
    assert!(c.enable_authorization_code && c.enable_implicit_grant);
    assert!(c.enable_client_credentials && c.enable_password_grant);
    assert!(c.hide_credentials && c.accept_http_if_already_terminated);
    assert_eq!(c.anonymous.as_deref(), Some("guest"));
    assert!(c.global_credentials);
    assert_eq!(c.auth_header_name.as_str(), "x-token");
    assert_eq!(c.refresh_token_ttl, 0);
    assert!(c.reuse_refresh_token);
    assert_eq!(c.pkce, Pkce::Strict);
    assert_eq!(c.realm.as_deref(), Some("api"));
}

#[test]
fn provision_key_never_prints() {
    let c = parse(json!({"enable_password_grant": true, "provision_key": "s3cret-key"})).unwrap();
    assert!(!format!("{c:?}").contains("s3cret-key"));
}

#[test]
fn null_and_missing_config_use_defaults() {
    let c = parse(json!({"enable_client_credentials": true, "token_expiration": null})).unwrap();
    assert_eq!(c.token_expiration, 7200);
    assert_eq!(
        field_error(Value::Null),
        (
            "config".into(),
            "at least one of these fields must be true: enable_authorization_code, \
             enable_implicit_grant, enable_client_credentials, enable_password_grant"
                .into()
        )
    );
}

#[test]
fn pkce_values() {
    for (s, p) in [
        ("none", Pkce::None),
        ("lax", Pkce::Lax),
        ("strict", Pkce::Strict),
    ] {
        let c = parse(json!({"enable_client_credentials": true, "pkce": s})).unwrap();
        assert_eq!(c.pkce, p);
        assert_eq!(p.as_str(), s);
    }
}

#[test]
fn whole_floats_are_accepted() {
    let c = parse(json!({"enable_client_credentials": true, "token_expiration": 60.0})).unwrap();
    assert_eq!(c.token_expiration, 60);
}

#[test]
fn each_invalid_field_is_named() {
    let cc = |extra: Value| {
        let mut base = json!({"enable_client_credentials": true});
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        field_error(base)
    };
    let cases = [
        (
            json!({"scopes": "email"}),
            "config.scopes",
            "expected an array of strings",
        ),
        (
            json!({"scopes": [1]}),
            "config.scopes",
            "expected an array of strings",
        ),
        (
            json!({"mandatory_scope": "yes"}),
            "config.mandatory_scope",
            "expected a boolean",
        ),
        (
            json!({"provision_key": 5}),
            "config.provision_key",
            "expected a string",
        ),
        (
            json!({"provision_key": ""}),
            "config.provision_key",
            "length must be at least 1",
        ),
        (
            json!({"token_expiration": -1}),
            "config.token_expiration",
            "expected a non-negative integer",
        ),
        (
            json!({"token_expiration": 1.5}),
            "config.token_expiration",
            "expected a non-negative integer",
        ),
        (
            json!({"token_expiration": "7200"}),
            "config.token_expiration",
            "expected a non-negative integer",
        ),
        (
            json!({"enable_authorization_code": 1}),
            "config.enable_authorization_code",
            "expected a boolean",
        ),
        (
            json!({"enable_implicit_grant": "true"}),
            "config.enable_implicit_grant",
            "expected a boolean",
        ),
        (
            json!({"enable_client_credentials": 1}),
            "config.enable_client_credentials",
            "expected a boolean",
        ),
        (
            json!({"enable_password_grant": []}),
            "config.enable_password_grant",
            "expected a boolean",
        ),
        (
            json!({"hide_credentials": "no"}),
            "config.hide_credentials",
            "expected a boolean",
        ),
        (
            json!({"accept_http_if_already_terminated": 0}),
            "config.accept_http_if_already_terminated",
            "expected a boolean",
        ),
        (
            json!({"anonymous": ""}),
            "config.anonymous",
            "length must be at least 1",
        ),
        (
            json!({"anonymous": 3}),
            "config.anonymous",
            "expected a string",
        ),
        (
            json!({"global_credentials": "x"}),
            "config.global_credentials",
            "expected a boolean",
        ),
        (
            json!({"auth_header_name": "bad header"}),
            "config.auth_header_name",
            "not a valid header name",
        ),
        (
            json!({"auth_header_name": ""}),
            "config.auth_header_name",
            "length must be at least 1",
        ),
        (
            json!({"refresh_token_ttl": 100_000_001}),
            "config.refresh_token_ttl",
            "value should be between 0 and 100000000",
        ),
        (
            json!({"refresh_token_ttl": -5}),
            "config.refresh_token_ttl",
            "value should be between 0 and 100000000",
        ),
        (
            json!({"reuse_refresh_token": 1}),
            "config.reuse_refresh_token",
            "expected a boolean",
        ),
        (
            json!({"pkce": "plain"}),
            "config.pkce",
            "expected one of: none, lax, strict",
        ),
        (
            json!({"pkce": true}),
            "config.pkce",
            "expected one of: none, lax, strict",
        ),
        (
            json!({"realm": "a\"b"}),
            "config.realm",
            "must not contain quotes, backslashes or control characters",
        ),
        (json!({"realm": 1}), "config.realm", "expected a string"),
        (
            json!({"persistent_refresh_token": "x"}),
            "config.persistent_refresh_token",
            "expected a boolean",
        ),
        (json!({"scope": ["typo"]}), "config.scope", "unknown field"),
    ];
    for (extra, field, message) in cases {
        assert_eq!(
            cc(extra.clone()),
            (field.to_string(), message.to_string()),
            "{extra}"
        );
    }
}

#[test]
fn cross_field_rules() {
    assert_eq!(
        field_error(json!([1])),
        ("config".into(), "expected an object".into())
    );
    assert_eq!(
        field_error(json!({"enable_client_credentials": true, "mandatory_scope": true})),
        ("config.scopes".into(), "required field missing".into())
    );
    for flag in [
        "enable_password_grant",
        "enable_authorization_code",
        "enable_implicit_grant",
    ] {
        let (field, _) = field_error(json!({ flag: true }));
        assert_eq!(field, "config.provision_key", "{flag}");
        assert!(parse(json!({ flag: true, "provision_key": "k" })).is_ok());
    }
    let all_false = json!({
        "enable_authorization_code": false,
        "enable_implicit_grant": false,
        "enable_client_credentials": false,
        "enable_password_grant": false,
    });
    assert_eq!(field_error(all_false).0, "config");
}

#[test]
fn parsing_is_stable() {
    let v = json!({"enable_password_grant": true, "provision_key": "k", "scopes": ["a"]});
    assert_eq!(parse(v.clone()).unwrap(), parse(v).unwrap());
}
