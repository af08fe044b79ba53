use super::*;
use crate::kong::Ids;
use crate::model::ProbeKind;
use serde_json::json;

fn cx<'a>(resolve: &'a dyn Fn(Kind, &str) -> Option<String>) -> Context<'a> {
    Context {
        now: 7,
        ids: Ids::Derived,
        position: "upstreams[0]",
        resolve,
        stored: false,
    }
}

fn none(_: Kind, _: &str) -> Option<String> {
    None
}

#[test]
fn defaults_print_as_kong_prints_them() {
    let u = Upstream::from_json(&json!({"name": "shop.upstream"}), &cx(&none)).unwrap();
    let v = serde_json::to_value(&u).unwrap();
    assert_eq!(v["algorithm"], "round-robin");
    assert_eq!(v["hash_on"], "none");
    assert_eq!(v["hash_fallback"], "none");
    assert_eq!(v["hash_on_cookie_path"], "/");
    assert_eq!(v["slots"], 10_000);
    let checks = &v["healthchecks"];
    assert_eq!(checks["threshold"], 0);
    assert_eq!(checks["active"]["type"], "http");
    assert_eq!(checks["active"]["timeout"], 1.0);
    assert_eq!(checks["active"]["concurrency"], 10);
    assert_eq!(checks["active"]["http_path"], "/");
    assert_eq!(checks["active"]["https_verify_certificate"], true);
    assert_eq!(
        checks["active"]["healthy"]["http_statuses"],
        json!([200, 302])
    );
    assert_eq!(
        checks["active"]["unhealthy"]["http_statuses"],
        json!([429, 404, 500, 501, 502, 503, 504, 505])
    );
    assert_eq!(
        checks["passive"]["unhealthy"]["http_statuses"],
        json!([429, 500, 503])
    );
    assert_eq!(v["use_srv_name"], false);
    // The printed form reads back to the same upstream.
    let again = Upstream::from_json(&v, &cx(&none)).unwrap();
    assert_eq!(again, u);
}

#[test]
fn fields_become_the_models_balance() {
    let u = Upstream::from_json(
        &json!({
            "name": "shop",
            "hash_on": "header",
            "hash_on_header": "X-User",
            "hash_fallback": "ip",
            "slots": 100,
            "healthchecks": {
                "threshold": 50,
                "active": {
                    "type": "https",
                    "https_sni": "shop.example",
                    "https_verify_certificate": false,
                    "timeout": 0.5,
                    "http_path": "/healthz",
                    "headers": {"x-probe": ["a", "b"]},
                    "healthy": {"interval": 2, "successes": 3},
                    "unhealthy": {"interval": 1, "tcp_failures": 2, "http_statuses": [500]}
                },
                "passive": {"unhealthy": {"timeouts": 4}}
            }
        }),
        &cx(&none),
    )
    .unwrap();
    // A hash_on other than none means consistent hashing (Kong's shorthand).
    assert_eq!(u.algorithm, "consistent-hashing");
    let b = u.balance("kong.yml: shop");
    assert_eq!(b.algorithm, Algorithm::ConsistentHashing);
    assert_eq!(b.hash_on, HashOn::Header("x-user".into()));
    assert_eq!(b.hash_fallback, HashOn::Ip);
    assert_eq!(b.slots, 100);
    let c = &b.healthchecks;
    assert_eq!(c.threshold, 50);
    assert_eq!(c.active.kind, ProbeKind::Https);
    assert_eq!(c.active.https_sni.as_deref(), Some("shop.example"));
    assert!(!c.active.verify_certificate);
    assert_eq!(c.active.timeout_ms, 500);
    assert_eq!(c.active.path, "/healthz");
    assert_eq!(c.active.headers.len(), 2);
    assert_eq!(
        (c.active.healthy.interval_ms, c.active.healthy.successes),
        (2_000, 3)
    );
    assert_eq!(c.active.unhealthy.tcp_failures, 2);
    assert_eq!(c.active.unhealthy.statuses, vec![500]);
    assert_eq!(c.passive.unhealthy.timeouts, 4);
    assert!(c.active_on() && c.passive_on());
}

#[test]
fn bad_fields_get_kongs_messages() {
    let err = Upstream::from_json(
        &json!({
            "name": "10.0.0.1",
            "algorithm": "random",
            "slots": 5,
            "hash_on": "header",
            "healthchecks": {
                "active": {
                    "http_path": "healthz",
                    "timeout": 70000,
                    "type": "grpc",
                    "unhealthy": {"tcp_failures": 256, "http_statuses": [200, 1000]},
                    "bogus": 1
                }
            }
        }),
        &cx(&none),
    )
    .unwrap_err();
    let errors: std::collections::BTreeMap<String, String> = err.flatten().into_iter().collect();
    let expect = [
        ("name", "Invalid name ('10.0.0.1'); no ip addresses allowed"),
        (
            "algorithm",
            "expected one of: consistent-hashing, least-connections, round-robin, latency",
        ),
        ("slots", "value should be between 10 and 65536"),
        ("hash_on_header", "required field missing"),
        ("healthchecks.active.http_path", "should start with: /"),
        (
            "healthchecks.active.timeout",
            "value should be between 0 and 65535",
        ),
        (
            "healthchecks.active.unhealthy.tcp_failures",
            "value should be between 0 and 255",
        ),
        ("healthchecks.active.bogus", "unknown field"),
    ];
    for (field, message) in expect {
        assert_eq!(
            errors.get(field).map(String::as_str),
            Some(message),
            "{field}: {errors:?}"
        );
    }
    assert!(errors["healthchecks.active.type"].starts_with("expected one of: tcp, http, https"));
    assert!(
        errors
            .keys()
            .any(|k| k.starts_with("healthchecks.active.unhealthy.http_statuses")),
        "{errors:?}"
    );

    let err = Upstream::from_json(
        &json!({"name": "u", "hash_on": "cookie", "hash_on_cookie": "c", "hash_fallback": "ip"}),
        &cx(&none),
    )
    .unwrap_err();
    assert_eq!(
        err.flatten(),
        vec![(
            "hash_fallback".to_string(),
            "expected one of: none".to_string()
        )]
    );
    let err = Upstream::from_json(
        &json!({"name": "u", "hash_on": "header", "hash_on_header": "a",
                "hash_fallback": "header", "hash_fallback_header": "a"}),
        &cx(&none),
    )
    .unwrap_err();
    assert!(
        err.message().contains(
            "values of these fields must be distinct: 'hash_on_header', 'hash_fallback_header'"
        ),
        "{}",
        err.message()
    );
}

#[test]
fn targets_take_kongs_default_port_and_weight() {
    let resolve = |k: Kind, key: &str| (k == Kind::Upstream && key == "shop").then(|| "u-1".into());
    let t = Target::from_json(
        &json!({"target": "10.0.0.1", "upstream": "shop"}),
        None,
        &cx(&resolve),
    )
    .unwrap();
    assert_eq!(t.target, "10.0.0.1:8000");
    assert_eq!(t.weight, 100);
    assert_eq!(t.upstream.id, "u-1");
    assert_eq!(t.address(), Some(("10.0.0.1".to_string(), 8000)));
    let t = Target::from_json(&json!({"target": "::1"}), Some("u-1"), &cx(&none)).unwrap();
    assert_eq!(t.target, "[::1]:8000");
    assert_eq!(t.address(), Some(("::1".to_string(), 8000)));
    let err = Target::from_json(
        &json!({"target": "bad host:1", "weight": 70000}),
        Some("u-1"),
        &cx(&none),
    )
    .unwrap_err();
    let errors: std::collections::BTreeMap<String, String> = err.flatten().into_iter().collect();
    assert_eq!(
        errors["target"],
        "Invalid target ('bad host:1'); not a valid hostname or ip address"
    );
    assert_eq!(errors["weight"], "value should be between 0 and 65535");
}
