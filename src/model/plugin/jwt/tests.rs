//! Kong's `jwt` schema (`schema.lua`, `06-schema_spec.lua`): defaults,
//! types, the range of `maximum_expiration` and its `exp` rule.

use super::*;
use serde_json::json;

fn parse(v: Value) -> Result<JwtConfig, String> {
    <JwtConfig as Schema>::parse(&v).map_err(|e| e.to_string())
}

#[test]
fn defaults_are_kongs() {
    let c = parse(json!({})).unwrap();
    assert_eq!(c, JwtConfig::default());
    assert_eq!(c.uri_param_names, ["jwt"]);
    assert_eq!(c.header_names, ["authorization"]);
    assert_eq!(c.key_claim_name, "iss");
    assert!(c.run_on_preflight);
    assert!(c.claims().is_empty());
    assert_eq!(
        Value::Object(<JwtConfig as Schema>::defaults()),
        json!({
            "uri_param_names": ["jwt"],
            "cookie_names": [],
            "key_claim_name": "iss",
            "secret_is_base64": false,
            "claims_to_verify": null,
            "anonymous": null,
            "run_on_preflight": true,
            "maximum_expiration": 0,
            "header_names": ["authorization"],
            "realm": null,
        })
    );
    // null means the default, as in Kong.
    assert_eq!(parse(json!({"uri_param_names": null})).unwrap(), c);
}

#[test]
fn every_field_reads_and_renders() {
    let config = json!({
        "uri_param_names": ["token", "jwt"],
        "cookie_names": ["silly", "crumble"],
        "key_claim_name": "kid",
        "secret_is_base64": true,
        "claims_to_verify": ["nbf", "exp"],
        "anonymous": "no-body",
        "run_on_preflight": false,
        "maximum_expiration": 300,
        "header_names": ["CustomAuthorization"],
        "realm": "test-jwt",
    });
    let c = parse(config.clone()).unwrap();
    assert_eq!(c.claims(), [Claim::Nbf, Claim::Exp]);
    assert_eq!(c.maximum_expiration, 300.0);
    assert_eq!(c.render(), config);
    let fraction = parse(json!({"maximum_expiration": 1.5, "claims_to_verify": ["exp"]})).unwrap();
    assert_eq!(fraction.render()["maximum_expiration"], json!(1.5));
}

#[test]
fn maximum_expiration_range_and_exp_rule() {
    // 06-schema_spec: "validates 'maximum_expiration'".
    assert!(parse(json!({"maximum_expiration": 60, "claims_to_verify": ["exp", "nbf"]})).is_ok());
    // "when 'maximum_expiration' is negative".
    for claims in [json!(["exp", "nbf"]), json!(["nbf"])] {
        assert_eq!(
            parse(json!({"maximum_expiration": -1, "claims_to_verify": claims})).unwrap_err(),
            "config.maximum_expiration: value should be between 0 and 31536000"
        );
    }
    assert!(parse(json!({"maximum_expiration": 31_536_000, "claims_to_verify": ["exp"]})).is_ok());
    assert!(parse(json!({"maximum_expiration": 31_536_001, "claims_to_verify": ["exp"]})).is_err());
    // "when 'maximum_expiration' is specified without 'exp' in 'claims_to_verify'".
    assert_eq!(
        parse(json!({"maximum_expiration": 60, "claims_to_verify": ["nbf"]})).unwrap_err(),
        "config.claims_to_verify: expected to contain: exp"
    );
    assert_eq!(
        parse(json!({"maximum_expiration": 60})).unwrap_err(),
        "config.claims_to_verify: expected to contain: exp"
    );
}

#[test]
fn types_and_values_in_kongs_words() {
    let err = |v| parse(v).unwrap_err();
    assert_eq!(
        err(json!({"claims_to_verify": ["iat"]})),
        "config.claims_to_verify.1: expected one of: exp, nbf"
    );
    assert_eq!(
        err(json!({"secret_is_base64": "yes"})),
        "config.secret_is_base64: expected a boolean"
    );
    assert_eq!(
        err(json!({"maximum_expiration": "60"})),
        "config.maximum_expiration: expected a number"
    );
    assert_eq!(
        err(json!({"header_names": "authorization"})),
        "config.header_names: expected an array"
    );
    assert_eq!(
        err(json!({"cookie_names": ["a", ""]})),
        "config.cookie_names.2: length must be at least 1"
    );
    assert_eq!(
        err(json!({"key_claim_name": ""})),
        "config.key_claim_name: length must be at least 1"
    );
    assert_eq!(
        err(json!({"anonymous": ""})),
        "config.anonymous: length must be at least 1"
    );
    assert_eq!(
        err(json!({"realm": ""})),
        "config.realm: length must be at least 1"
    );
    assert_eq!(
        err(json!({"key_names": ["x"]})),
        "config.key_names: unknown field"
    );
}

#[test]
fn sets_hold_each_element_once() {
    let c = parse(json!({"uri_param_names": ["a", "b", "a"], "claims_to_verify": ["exp", "exp"]}))
        .unwrap();
    assert_eq!(c.uri_param_names, ["a", "b"]);
    assert_eq!(c.claims(), [Claim::Exp]);
}
