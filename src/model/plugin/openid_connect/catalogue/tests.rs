use super::*;
use serde_json::json;

fn message(config: Value) -> (String, String) {
    let Value::Object(map) = config else {
        panic!("not an object")
    };
    match check(&map) {
        Err(ConfigError::Field { field, message }) => (field, message),
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn rows_are_sorted_unique_and_cover_kongs_newest_schema() {
    let names: Vec<&str> = fields().iter().map(|f| f.name).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(names, sorted, "rows must be sorted by name, once each");
    // 234 fields in Kong 3.15 plus 15 of older versions.
    assert_eq!(fields().iter().filter(|f| f.until.is_none()).count(), 234);
    assert_eq!(names.len(), 249);
    for f in fields() {
        assert!(
            serde_json::from_str::<Value>(f.default).is_ok(),
            "{}: default is not JSON",
            f.name
        );
        if let Some(d) = f.kingress_default {
            assert!(serde_json::from_str::<Value>(d).is_ok(), "{}", f.name);
        }
    }
}

#[test]
fn every_default_passes_its_own_check() {
    // What `deck dump` writes: every field at Kong's default.
    let dump: Map<String, Value> = fields()
        .iter()
        .map(|f| (f.name.to_string(), f.kong_default()))
        .collect();
    check(&dump).unwrap();
}

#[test]
fn unknown_fields_are_refused() {
    let (field, msg) = message(json!({ "scope_required": ["a"] }));
    assert_eq!(field, "config.scope_required");
    assert_eq!(msg, "unknown field");
}

#[test]
fn types_are_kongs() {
    for (config, at, msg) in [
        (json!({"leeway": "5"}), "config.leeway", "expected a number"),
        (
            json!({"verify_claims": 1}),
            "config.verify_claims",
            "expected a boolean",
        ),
        (json!({"issuer": []}), "config.issuer", "expected a string"),
        (
            json!({"session_memcached_port": 1.5}),
            "config.session_memcached_port",
            "expected an integer",
        ),
        (json!({"redis": "x"}), "config.redis", "expected a record"),
        (
            json!({"roles_claim": {}}),
            "config.roles_claim",
            "expected an array",
        ),
        (
            json!({"roles_claim": ["a", 1]}),
            "config.roles_claim.2",
            "expected a string",
        ),
        (
            json!({"login_action": "elsewhere"}),
            "config.login_action",
            "expected one of: redirect, response, upstream",
        ),
        (
            json!({"logout_methods": ["PUT"]}),
            "config.logout_methods.1",
            "expected one of: DELETE, GET, POST",
        ),
        (
            json!({"consumer_claims": ["sub"]}),
            "config.consumer_claims.1",
            "expected an array of strings",
        ),
        (
            json!({"upstream_headers": ["x"]}),
            "config.upstream_headers.1",
            "expected a record",
        ),
    ] {
        let (field, message) = message(config.clone());
        assert_eq!((field.as_str(), message.as_str()), (at, msg), "{config}");
    }
}

#[test]
fn refused_fields_load_at_their_default_and_fail_closed_otherwise() {
    let Value::Object(ok) = json!({
        "proof_of_possession_dpop": "off",
        "http_proxy": null,
        "ignore_signature": [],
        "introspection_accept": "application/json",
        "cluster_cache_items": ["introspection"],
        "redis": {"host": "127.0.0.1", "port": 6379, "password": null},
    }) else {
        unreachable!()
    };
    check(&ok).unwrap();
    let (field, msg) = message(json!({ "proof_of_possession_dpop": "strict" }));
    assert_eq!(field, "config.proof_of_possession_dpop");
    assert!(
        msg.starts_with("'strict' is not supported by kingress: proof of possession"),
        "{msg}"
    );
    let (field, msg) = message(json!({ "ignore_signature": ["introspection"] }));
    assert_eq!(field, "config.ignore_signature");
    assert!(msg.contains("[\"introspection\"]"), "{msg}");
    // A secret is never repeated in the message.
    let (field, msg) = message(json!({ "https_proxy_authorization": "Basic c2VjcmV0" }));
    assert_eq!(field, "config.https_proxy_authorization");
    assert!(!msg.contains("c2VjcmV0"), "{msg}");
    let (field, _) = message(json!({ "cluster_cache_redis": {"host": "redis.internal"} }));
    assert_eq!(field, "config.cluster_cache_redis");
}

#[test]
fn inert_fields_take_any_well_typed_value() {
    let Value::Object(ok) = json!({
        "session_cookie_name": "mine",
        "keepalive": false,
        "scopes": ["openid", "profile"],
        "session_redis_host": "redis",
    }) else {
        unreachable!()
    };
    check(&ok).unwrap();
}

#[test]
fn default_comparison_is_kongs() {
    assert!(is_default(&json!(["b", "a"]), &json!(["a", "b"])));
    assert!(is_default(&json!("a"), &json!(["a"])));
    assert!(!is_default(&json!(["a"]), &json!(["a", "b"])));
    assert!(is_default(&json!([]), &Value::Null));
    assert!(is_default(&json!(300.0), &json!(300)));
    assert!(is_default(
        &json!({"cache": {"enabled": true}}),
        &json!({"cache": {"enabled": true, "ttl": null}})
    ));
    assert!(!is_default(
        &json!({"cache": {"ttl": 5}}),
        &json!({"cache": {"enabled": true, "ttl": null}})
    ));
}

#[test]
fn render_prints_every_current_field_with_secrets_masked() {
    let Value::Object(given) = json!({
        "issuer": "https://idp.example",
        "client_secret": ["s3cret"],
        "client_jwk": [{"kty": "RSA", "kid": "k1", "d": "private", "n": "public"}],
        "session_redis_host": "redis",
    }) else {
        unreachable!()
    };
    let out = render(&given);
    let map = out.as_object().unwrap();
    assert_eq!(map.len(), 234 + 1, "3.15's fields plus the older one given");
    assert_eq!(out["client_secret"], json!([MASK]));
    assert_eq!(out["client_jwk"][0]["d"], json!(MASK));
    assert_eq!(out["client_jwk"][0]["kid"], json!("k1"));
    assert_eq!(out["session_redis_host"], json!("redis"));
    assert_eq!(out["hide_credentials"], json!(false));
    assert_eq!(out["leeway"], json!(0));
    assert!(!out.to_string().contains("s3cret") && !out.to_string().contains("private"));
}

#[test]
fn the_table_has_a_row_per_field() {
    let table = markdown_table();
    assert_eq!(table.lines().count(), 249 + 2);
    assert!(table.contains("| `consumer_claim` (Kong ≤ 3.13) | – | implemented |"));
}
