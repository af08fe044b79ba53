//! Kong's `spec/03-plugins/17-ip-restriction/01-schema_spec.lua`, plus the
//! rules kingress adds (a status kong.response.error cannot send).

use super::*;
use serde_json::json;

fn error(config: Value) -> String {
    IpRestrictionConfig::parse(&config).unwrap_err().to_string()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn valid_configurations() {
    // "should accept a valid allow", "… and status/message", "a valid cidr
    // range", "a valid deny", "both non-empty allow and deny", "valid ipv6
    // cidr ranges".
    for config in [
        json!({"allow": ["127.0.0.1/32", "127.0.0.2/32"]}),
        json!({"allow": ["127.0.0.1/32", "127.0.0.2/32"], "status": 403, "message": "Forbidden"}),
        json!({"allow": ["127.0.0.1/8"]}),
        json!({"deny": ["127.0.0.1/32", "127.0.0.2/32"]}),
        json!({"deny": ["127.0.0.2/32"], "allow": ["127.0.0.1/32"]}),
        json!({"allow": ["::/0", "::/1", "::/128"]}),
        json!({"allow": [], "deny": ["::1"]}),
        json!({"allow": null, "deny": ["::1"], "status": null, "message": null}),
    ] {
        assert!(IpRestrictionConfig::parse(&config).is_ok(), "{config}");
    }
}

#[test]
fn kong_type_messages() {
    // "allow should not accept invalid types", "deny …".
    assert_eq!(
        error(json!({"allow": 12})),
        "config.allow: expected an array"
    );
    assert_eq!(error(json!({"deny": 12})), "config.deny: expected an array");
    assert_eq!(
        error(json!({"deny": ["::1"], "status": "x"})),
        "config.status: expected a number"
    );
    assert_eq!(
        error(json!({"deny": ["::1"], "message": 5})),
        "config.message: expected a string"
    );
    assert_eq!(
        error(json!({"deny": ["::1"], "allowed": ["::1"]})),
        "config.allowed: unknown field"
    );
}

#[test]
fn kong_invalid_entry_messages() {
    // "allow should not accept invalid IPs", "deny should not accept
    // invalid IPs", "invalid cidr ranges", "invalid ipv6 cidr ranges":
    // Kong numbers the element from 1.
    assert_eq!(
        error(json!({"allow": ["hello"]})),
        "config.allow.1: invalid ip or cidr range: 'hello'"
    );
    assert_eq!(
        error(json!({"allow": ["127.0.0.1/32", "127.0.0.2/32", "hello"]})),
        "config.allow.3: invalid ip or cidr range: 'hello'"
    );
    assert_eq!(
        error(json!({"deny": ["127.0.0.1/32", "127.0.0.2/32", "hello"]})),
        "config.deny.3: invalid ip or cidr range: 'hello'"
    );
    for bad in ["0.0.0.0/a", "0.0.0.0/-1", "0.0.0.0/33", "::/129", "::1/-1"] {
        assert_eq!(
            error(json!({"allow": [bad]})),
            format!("config.allow.1: invalid ip or cidr range: '{bad}'")
        );
    }
    assert_eq!(
        error(json!({"allow": [5]})),
        "config.allow.1: expected a string"
    );
}

#[test]
fn at_least_one_list_is_needed() {
    // "should not accept both empty allow and deny".
    let message =
        "@entity: at least one of these fields must be non-empty: 'config.allow', 'config.deny'";
    assert_eq!(error(json!({"deny": [], "allow": []})), message);
    assert_eq!(error(json!({})), message);
    assert_eq!(error(json!({"status": 401})), message);
}

#[test]
fn statuses_kong_cannot_answer_with_are_refused() {
    for status in [json!(200), json!(399), json!(600), json!(403.5), json!(-1)] {
        let e = error(json!({"deny": ["::1"], "status": status}));
        assert!(e.starts_with("config.status: "), "{e}");
        assert!(e.contains("between 400 and 599"), "{e}");
    }
    let c = IpRestrictionConfig::parse(&json!({"deny": ["::1"], "status": 401})).unwrap();
    assert_eq!(c.refusal_status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn defaults_and_render() {
    assert_eq!(
        Value::Object(IpRestrictionConfig::defaults()),
        json!({"allow": null, "deny": null, "status": null, "message": null})
    );
    let config = json!({"allow": ["10.0.0.0/8"], "deny": ["10.0.0.1"], "status": 401, "message": "Forbidden"});
    let parsed = IpRestrictionConfig::parse(&config).unwrap();
    assert_eq!(parsed.render(), config);
    // A rendered config reads back to the same behaviour.
    assert_eq!(
        IpRestrictionConfig::parse(&parsed.render()).unwrap(),
        parsed
    );
}

#[test]
fn deny_is_checked_before_allow() {
    let c = |v| IpRestrictionConfig::parse(&v).unwrap();
    let both = c(json!({"allow": ["127.0.0.0/24"], "deny": ["127.0.0.1"]}));
    assert!(both.refuses(ip("127.0.0.1")));
    assert!(!both.refuses(ip("127.0.0.2")));
    assert!(both.refuses(ip("10.0.0.1")));
    let deny_only = c(json!({"deny": ["127.0.0.1"]}));
    assert!(!deny_only.refuses(ip("10.0.0.1")));
    // An empty list takes no part: Kong's `isempty`.
    let empty_allow = c(json!({"allow": [], "deny": ["127.0.0.1"]}));
    assert!(!empty_allow.refuses(ip("10.0.0.1")));
    assert!(both.refuses(ip("::ffff:127.0.0.1")));
}

#[test]
fn refusal_message_names_the_client_unless_configured() {
    let c = IpRestrictionConfig::parse(&json!({"deny": ["::1"]})).unwrap();
    assert_eq!(c.refusal_status(), StatusCode::FORBIDDEN);
    assert_eq!(
        c.refusal_message(ip("::ffff:10.1.2.3")),
        "IP address not allowed: 10.1.2.3"
    );
    assert_eq!(c.refusal_message(ip("::1")), "IP address not allowed: ::1");
    let c = IpRestrictionConfig::parse(&json!({"deny": ["::1"], "message": "Go away"})).unwrap();
    assert_eq!(c.refusal_message(ip("::1")), "Go away");
}
