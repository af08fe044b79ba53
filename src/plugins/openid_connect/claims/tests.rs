use super::*;
use serde_json::json;

fn rule(claim: &[&str], required: &[&str]) -> ClaimRule {
    ClaimRule {
        claim: claim.iter().map(|s| s.to_string()).collect(),
        required: required.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn entries_are_ored_and_words_anded() {
    let claims = json!({ "scope": "openid email profile" });
    let r = |req: &[&str]| satisfies(&claims, &rule(&["scope"], req));
    assert!(r(&["email"]));
    assert!(r(&["email profile"]));
    assert!(!r(&["email admin"]), "AND inside one entry");
    assert!(r(&["email admin", "openid"]), "OR across entries");
    assert!(!r(&["admin", "write"]));
    assert!(r(&[]), "no requirement, no rule");
}

#[test]
fn claim_may_be_an_array_or_a_scalar() {
    let claims = json!({ "aud": ["api", "web"], "level": 3, "admin": true, "one": "solo" });
    assert!(satisfies(&claims, &rule(&["aud"], &["web"])));
    assert!(satisfies(&claims, &rule(&["aud"], &["api web"])));
    assert!(!satisfies(&claims, &rule(&["aud"], &["mobile"])));
    assert!(satisfies(&claims, &rule(&["level"], &["3"])));
    assert!(satisfies(&claims, &rule(&["admin"], &["true"])));
    assert!(satisfies(&claims, &rule(&["one"], &["solo"])));
    // An array element is one value: "a b" in an array is not split.
    let claims = json!({ "groups": ["a b"] });
    assert!(!satisfies(&claims, &rule(&["groups"], &["a"])));
}

#[test]
fn claim_is_a_path() {
    let claims = json!({ "realm_access": { "roles": ["admin", "user"] } });
    assert!(satisfies(
        &claims,
        &rule(&["realm_access", "roles"], &["admin"])
    ));
    assert!(!satisfies(&claims, &rule(&["roles"], &["admin"])));
    assert!(!satisfies(
        &claims,
        &rule(&["realm_access", "missing"], &["admin"])
    ));
    assert!(
        !satisfies(&claims, &rule(&["realm_access"], &["admin"])),
        "objects match nothing"
    );
}

#[test]
fn missing_claim_fails_a_rule() {
    assert!(!satisfies(&json!({}), &rule(&["scope"], &["read"])));
    assert!(!satisfies(
        &json!({ "scope": null }),
        &rule(&["scope"], &["read"])
    ));
}

#[test]
fn authorize_names_the_failing_rule() {
    let config = OidcConfig::parse(&json!({
        "issuer": "https://idp.test",
        "scopes_required": ["read"],
        "audience_required": ["api"],
        "groups_required": ["staff"],
        "roles_required": ["admin"],
    }))
    .unwrap();
    let ok = json!({ "scope": "read", "aud": "api", "groups": ["staff"], "roles": ["admin"] });
    assert_eq!(authorize(&config, &ok.clone().into()), Ok(()));
    let mut c = ok.clone();
    c["scope"] = json!("write");
    assert_eq!(authorize(&config, &c.into()), Err(Reason::Scopes));
    let mut c = ok.clone();
    c["aud"] = json!("other");
    assert_eq!(authorize(&config, &c.into()), Err(Reason::Audience));
    let mut c = ok.clone();
    c["groups"] = json!([]);
    assert_eq!(authorize(&config, &c.into()), Err(Reason::Groups));
    let mut c = ok;
    c.as_object_mut().unwrap().remove("roles");
    assert_eq!(authorize(&config, &c.into()), Err(Reason::Roles));
}

#[test]
fn times_use_the_leeway() {
    let now = 1_000_000;
    let c = json!({ "exp": now + 10, "nbf": now - 10, "iat": now - 10 });
    assert_eq!(check_times(&c, now, 0, true), Ok(Some(now + 10)));
    let expired = json!({ "exp": now - 5 });
    assert_eq!(check_times(&expired, now, 0, true), Err(Reason::Expired));
    assert_eq!(check_times(&expired, now, 10, true), Ok(Some(now - 5)));
    let at_exp = json!({ "exp": now });
    assert_eq!(check_times(&at_exp, now, 0, true), Err(Reason::Expired));
    let early = json!({ "exp": now + 100, "nbf": now + 30 });
    assert_eq!(check_times(&early, now, 0, true), Err(Reason::NotYetValid));
    assert!(check_times(&early, now, 30, true).is_ok());
    let future = json!({ "exp": now + 100, "iat": now + 30 });
    assert_eq!(
        check_times(&future, now, 0, true),
        Err(Reason::IssuedInFuture)
    );
    assert!(check_times(&future, now, 60, true).is_ok());
    assert_eq!(check_times(&json!({}), now, 0, true), Err(Reason::NoExpiry));
    assert_eq!(check_times(&json!({}), now, 0, false), Ok(None));
    assert_eq!(
        check_times(&json!({ "exp": "soon" }), now, 0, true),
        Err(Reason::Malformed)
    );
    assert_eq!(
        check_times(&json!({ "exp": 1e12 }), now, 0, true),
        Ok(Some(1_000_000_000_000))
    );
}

#[test]
fn issuer_must_match_exactly() {
    let c = json!({ "iss": "https://idp.test/realm" });
    assert_eq!(check_issuer(&c, &["https://idp.test/realm"]), Ok(()));
    assert_eq!(
        check_issuer(&c, &["https://idp.test/realm/"]),
        Err(Reason::Issuer)
    );
    assert_eq!(check_issuer(&json!({}), &["x"]), Err(Reason::Issuer));
}

#[test]
fn header_values() {
    assert_eq!(header_value(&json!("a")), Some("a".into()));
    assert_eq!(header_value(&json!(["a", 1])), Some("a, 1".into()));
    assert_eq!(header_value(&json!({"k": 1})), Some("{\"k\":1}".into()));
    assert_eq!(header_value(&json!(null)), None);
}
