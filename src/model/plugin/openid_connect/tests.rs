use super::*;
use serde_json::json;

fn parse(v: serde_json::Value) -> Result<OidcConfig, ConfigError> {
    OidcConfig::parse(&v)
}

fn err_field(v: serde_json::Value) -> String {
    match parse(v) {
        Err(ConfigError::Field { field, .. }) => field,
        other => panic!("expected a field error, got {other:?}"),
    }
}

const ISSUER: &str = "http://keycloak.test:8080/auth/realms/master";

#[test]
fn seed_config_parses_verbatim() {
    let c = parse(json!({
        "issuer": ISSUER,
        "client_id": "kong",
        "client_auth": "private_key_jwt",
        "auth_methods": ["kong_oauth2"],
        "bearer_token_param_type": ["header"],
    }))
    .unwrap();
    assert_eq!(c.issuer, ISSUER);
    assert_eq!(c.client_id.as_deref(), Some("kong"));
    assert_eq!(c.client_auth, Some(ClientAuth::PrivateKeyJwt));
    assert_eq!(c.client_jwk, None);
    assert_eq!(c.auth_methods, vec![AuthMethod::KongOauth2]);
    assert_eq!(c.bearer_token_param_type, vec![TokenParam::Header]);
}

#[test]
fn defaults_follow_kong() {
    let c = parse(json!({ "issuer": ISSUER })).unwrap();
    assert_eq!(c.auth_methods, DEFAULT_METHODS.to_vec());
    assert_eq!(
        c.bearer_token_param_type,
        vec![TokenParam::Header, TokenParam::Query, TokenParam::Body]
    );
    assert_eq!(c.rediscovery_lifetime, 30);
    assert_eq!(c.leeway, 0);
    assert_eq!(c.timeout_ms, 10_000);
    assert!(c.verify_signature && c.verify_claims && c.cache_introspection && c.ssl_verify);
    assert!(!c.enable_hs_signatures && !c.hide_credentials && !c.display_errors);
    assert!(!c.consumer_optional);
    assert_eq!(c.scopes.claim, vec!["scope"]);
    assert_eq!(c.audience.claim, vec!["aud"]);
    assert_eq!(c.groups.claim, vec!["groups"]);
    assert_eq!(c.roles.claim, vec!["roles"]);
    assert!(c.scopes.required.is_empty());
    assert_eq!(
        c.consumer_by,
        vec![ConsumerBy::Username, ConsumerBy::CustomId]
    );
    assert_eq!(c.unauthorized_error_message, "Unauthorized");
    assert_eq!(c.forbidden_error_message, "Forbidden");
    let h = c.upstream.access_token.unwrap();
    assert_eq!(h.name, "authorization");
    assert_eq!(h.scheme.as_deref(), Some("Bearer"));
    assert_eq!(c.client_auth, None);
}

#[test]
fn issuer_is_required_and_a_url() {
    assert_eq!(err_field(json!({})), "config.issuer");
    assert_eq!(err_field(json!({ "issuer": "" })), "config.issuer");
    assert_eq!(err_field(json!({ "issuer": "keycloak" })), "config.issuer");
    assert_eq!(err_field(json!({ "issuer": 3 })), "config.issuer");
    assert_eq!(
        OidcConfig::parse(&json!("x")).unwrap_err(),
        ConfigError::field("config", "expected an object")
    );
}

#[test]
fn discovery_url_is_derived_once() {
    let c = parse(json!({ "issuer": format!("{ISSUER}/") })).unwrap();
    assert_eq!(
        c.discovery_url(),
        format!("{ISSUER}/.well-known/openid-configuration")
    );
    assert_eq!(c.issuer_id(), ISSUER);
    let c =
        parse(json!({ "issuer": format!("{ISSUER}/.well-known/openid-configuration") })).unwrap();
    assert_eq!(
        c.discovery_url(),
        format!("{ISSUER}/.well-known/openid-configuration")
    );
    assert_eq!(c.issuer_id(), ISSUER);
}

#[test]
fn unimplemented_auth_methods_are_refused() {
    // Every Kong method is implemented now: each parses on its own.
    for m in AuthMethod::ALL {
        let c = parse(json!({ "issuer": ISSUER, "auth_methods": ["bearer", m.as_str()] })).unwrap();
        assert!(c.enabled(m), "{}", m.as_str());
    }
    assert_eq!(
        err_field(json!({ "issuer": ISSUER, "auth_methods": ["magic"] })),
        "config.auth_methods.1"
    );
    assert_eq!(
        err_field(json!({ "issuer": ISSUER, "auth_methods": [] })),
        "config.auth_methods"
    );
}

#[test]
fn auth_methods_follow_kongs_order_whatever_the_list_order() {
    let c =
        parse(json!({ "issuer": ISSUER, "auth_methods": ["introspection", "bearer", "bearer"] }))
            .unwrap();
    assert_eq!(
        c.auth_methods,
        vec![AuthMethod::Bearer, AuthMethod::Introspection]
    );
    let c = parse(json!({ "issuer": ISSUER, "auth_methods": "bearer" })).unwrap();
    assert_eq!(c.auth_methods, vec![AuthMethod::Bearer]);
}

#[test]
fn cookie_location_needs_a_cookie_name() {
    let bad = json!({ "issuer": ISSUER, "bearer_token_param_type": ["cookie"] });
    assert_eq!(err_field(bad), "config.bearer_token_cookie_name");
    let c = parse(json!({
        "issuer": ISSUER, "bearer_token_param_type": "cookie", "bearer_token_cookie_name": "at"
    }))
    .unwrap();
    assert_eq!(c.bearer_token_param_type, vec![TokenParam::Cookie]);
    assert_eq!(
        err_field(json!({ "issuer": ISSUER, "bearer_token_param_type": ["header", "form"] })),
        "config.bearer_token_param_type.2"
    );
}

#[test]
fn client_auth_and_alg_are_validated() {
    assert_eq!(
        err_field(json!({ "issuer": ISSUER, "client_auth": ["mtls"] })),
        "config.client_auth.1"
    );
    assert_eq!(
        err_field(json!({ "issuer": ISSUER, "client_alg": "ES512" })),
        "config.client_alg"
    );
    assert_eq!(
        err_field(json!({ "issuer": ISSUER, "client_alg": "none" })),
        "config.client_alg"
    );
    assert_eq!(
        err_field(
            json!({ "issuer": ISSUER, "client_auth": "client_secret_jwt", "client_alg": "RS256" })
        ),
        "config.client_alg"
    );
    assert_eq!(
        err_field(
            json!({ "issuer": ISSUER, "client_auth": "private_key_jwt", "client_alg": "HS256" })
        ),
        "config.client_alg"
    );
    assert_eq!(
        err_field(json!({ "issuer": ISSUER, "client_id": ["a", "b"] })),
        "config.client_id"
    );
}

#[test]
fn introspection_client_needs_its_credentials() {
    let base = |auth: &str| json!({ "issuer": ISSUER, "auth_methods": ["introspection"], "client_auth": auth });
    let mut v = base("client_secret_basic");
    v["client_id"] = json!("kong");
    assert_eq!(err_field(v.clone()), "config.client_secret");
    v["client_secret"] = json!("s3cret");
    assert!(parse(v).is_ok());
    assert_eq!(err_field(base("private_key_jwt")), "config.client_id");
    assert!(parse(base("none")).is_ok());
    // Without introspection the same gaps do not matter (the seed case).
    assert!(parse(json!({ "issuer": ISSUER, "auth_methods": ["bearer"], "client_auth": "client_secret_post" })).is_ok());
}

#[test]
fn hs_signatures_need_a_secret() {
    let v = json!({ "issuer": ISSUER, "enable_hs_signatures": true });
    assert_eq!(err_field(v), "config.client_secret");
    let v = json!({ "issuer": ISSUER, "enable_hs_signatures": true, "client_secret": "x" });
    assert!(parse(v).is_ok());
}

#[test]
fn secrets_never_print() {
    let c = parse(json!({
        "issuer": ISSUER,
        "client_secret": "hunter2-secret",
        "client_jwk": { "kty": "EC", "crv": "P-256", "x": "eA", "y": "eQ", "d": "private-d-value" },
    }))
    .unwrap();
    let debug = format!("{c:?}");
    assert!(!debug.contains("hunter2-secret"), "{debug}");
    assert!(!debug.contains("private-d-value"), "{debug}");
    assert_eq!(c.client_secret.unwrap().expose(), "hunter2-secret");
}

#[test]
fn client_jwk_shapes() {
    let jwk = |v: serde_json::Value| json!({ "issuer": ISSUER, "client_jwk": v });
    // Public key only: refused.
    assert_eq!(
        err_field(jwk(json!({ "kty": "RSA", "n": "AQ", "e": "AQAB" }))),
        "config.client_jwk"
    );
    assert_eq!(
        err_field(jwk(
            json!({ "kty": "EC", "crv": "P-521", "x": "a", "y": "b", "d": "c" })
        )),
        "config.client_jwk"
    );
    assert_eq!(
        err_field(jwk(json!({ "kty": "oct", "k": "abc" }))),
        "config.client_jwk"
    );
    assert_eq!(err_field(jwk(json!([{}, {}]))), "config.client_jwk");
    let c = parse(jwk(
        json!([{ "kty": "RSA", "n": "AQ", "e": "AQAB", "d": "AQ", "kid": "k1" }]),
    ))
    .unwrap();
    let k = c.client_jwk.unwrap();
    assert_eq!(k.kid.as_deref(), Some("k1"));
    assert_eq!(k.default_alg(), SigningAlg::RS256);
    assert!(k.supports(SigningAlg::PS384) && !k.supports(SigningAlg::ES256));
    // A key and an algorithm that disagree.
    let mut v = jwk(json!({ "kty": "EC", "crv": "P-384", "x": "a", "y": "b", "d": "c" }));
    v["client_alg"] = json!("ES256");
    assert_eq!(err_field(v), "config.client_alg");
}

#[test]
fn claim_rules_accept_paths_and_strings() {
    let c = parse(json!({
        "issuer": ISSUER,
        "scopes_required": "read write",
        "roles_claim": ["realm_access", "roles"],
        "roles_required": ["admin", "ops dev"],
    }))
    .unwrap();
    assert_eq!(c.scopes.required, vec!["read write"]);
    assert_eq!(c.roles.claim, vec!["realm_access", "roles"]);
    assert_eq!(c.roles.required, vec!["admin", "ops dev"]);
    assert_eq!(
        err_field(json!({ "issuer": ISSUER, "groups_claim": [] })),
        "config.groups_claim"
    );
    assert_eq!(
        err_field(json!({ "issuer": ISSUER, "audience_required": [" "] })),
        "config.audience_required"
    );
}

#[test]
fn consumer_mapping_fields() {
    let c = parse(
        json!({ "issuer": ISSUER, "consumer_claim": "sub", "consumer_by": ["id", "username"] }),
    )
    .unwrap();
    assert_eq!(c.consumer_claim, Some(vec!["sub".to_string()]));
    assert_eq!(c.consumer_by, vec![ConsumerBy::Id, ConsumerBy::Username]);
    let c = parse(json!({ "issuer": ISSUER, "consumer_claims": [["user", "name"]] })).unwrap();
    assert_eq!(
        c.consumer_claim,
        Some(vec!["user".to_string(), "name".to_string()])
    );
    assert_eq!(
        err_field(json!({ "issuer": ISSUER, "consumer_by": ["email"] })),
        "config.consumer_by.1"
    );
    assert_eq!(
        err_field(json!({ "issuer": ISSUER, "consumer_claims": [["a"], ["b"]] })),
        "config.consumer_claims"
    );
}

#[test]
fn upstream_header_fields() {
    let c = parse(json!({
        "issuer": ISSUER,
        "upstream_access_token_header": "x-access-token",
        "upstream_headers_claims": ["sub", "email"],
        "upstream_headers_names": ["X-User", "x-email"],
        "upstream_introspection_header": "X-Introspection",
    }))
    .unwrap();
    let h = c.upstream.access_token.unwrap();
    assert_eq!((h.name.as_str(), h.scheme), ("x-access-token", None));
    assert_eq!(c.upstream.claims.len(), 2);
    assert_eq!(c.upstream.claims[0].header, "x-user");
    assert_eq!(c.upstream.claims[0].path, vec!["sub"]);
    assert_eq!(c.upstream.introspection.unwrap(), "x-introspection");
    assert_eq!(c.downstream, TokenHeaders::default());
    let off = parse(json!({ "issuer": ISSUER, "upstream_access_token_header": null })).unwrap();
    assert_eq!(off.upstream.access_token, None);
    assert_eq!(
        err_field(
            json!({ "issuer": ISSUER, "upstream_headers_claims": ["a"], "upstream_headers_names": [] })
        ),
        "config.upstream_headers_names"
    );
    assert_eq!(
        err_field(
            json!({ "issuer": ISSUER, "upstream_headers_claims": ["a"], "upstream_headers_names": ["bad header"] })
        ),
        "config.upstream_headers_names"
    );
}

#[test]
fn numbers_and_booleans_are_typed() {
    assert_eq!(
        err_field(json!({ "issuer": ISSUER, "leeway": -1 })),
        "config.leeway"
    );
    assert_eq!(
        err_field(json!({ "issuer": ISSUER, "leeway": 1.5 })),
        "config.leeway"
    );
    assert_eq!(
        err_field(json!({ "issuer": ISSUER, "timeout": 0 })),
        "config.timeout"
    );
    assert_eq!(
        err_field(json!({ "issuer": ISSUER, "ssl_verify": "yes" })),
        "config.ssl_verify"
    );
    let c = parse(
        json!({ "issuer": ISSUER, "leeway": 30.0, "timeout": 2500, "rediscovery_lifetime": 0 }),
    )
    .unwrap();
    assert_eq!(
        (c.leeway, c.timeout_ms, c.rediscovery_lifetime),
        (30, 2500, 0)
    );
}

#[test]
fn unknown_fields_are_refused_and_flow_fields_ignored() {
    assert_eq!(
        err_field(json!({ "issuer": ISSUER, "scope_required": ["a"] })),
        "config.scope_required"
    );
    assert!(parse(json!({ "issuer": ISSUER, "session_secret": "a-long-enough-secret", "cache_ttl": 60, "scopes": ["openid"] })).is_ok());
    // An explicit null for any field means "unset" (decK dumps do this).
    assert!(parse(json!({ "issuer": ISSUER, "userinfo_endpoint": null })).is_ok());
    assert_eq!(
        err_field(json!({ "issuer": ISSUER, "introspection_check_active": false })),
        "config.introspection_check_active"
    );
}

#[test]
fn authenticated_groups_claim_is_a_claim_path() {
    let c = parse(json!({ "issuer": ISSUER })).unwrap();
    assert_eq!(c.authenticated_groups_claim, None);
    let c = parse(json!({ "issuer": ISSUER, "authenticated_groups_claim": ["realm", "groups"] }))
        .unwrap();
    assert_eq!(
        c.authenticated_groups_claim,
        Some(vec!["realm".to_string(), "groups".to_string()])
    );
    // An empty path names no claim: refused like every claim path.
    assert_eq!(
        err_field(json!({ "issuer": ISSUER, "authenticated_groups_claim": [] })),
        "config.authenticated_groups_claim"
    );
    assert_eq!(
        err_field(json!({ "issuer": ISSUER, "authenticated_groups_claim": 5 })),
        "config.authenticated_groups_claim"
    );
}
