use super::*;
use serde_json::json;

#[test]
fn every_kind_read_has_one_api_version_and_parses() {
    for (api_version, kind) in KINDS {
        assert_eq!(self::api_version(kind), Some(api_version));
        let value = json!({"apiVersion": api_version, "kind": kind,
                           "metadata": {"name": "x", "namespace": "ns"},
                           "plugin": "oauth2"});
        let object = Object::from_value(value).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let mut set = ObjectSet::default();
        set.apply(object);
        assert_eq!(set.len(), 1, "{kind}");
        if api_version.starts_with("configuration.") {
            assert!(api_version.starts_with(crate::crd::GROUP), "{kind}");
        }
    }
    assert_eq!(api_version("Deployment"), None);
}

#[test]
fn kinds_are_matched_by_group() {
    let value = |api_version: &str, kind: &str| json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}});
    // Another version of a kind's group goes to the schema, which names it.
    let other = Object::from_value(value("networking.k8s.io/v1beta1", "IngressClass"));
    assert!(
        matches!(other, Err(ParseError::Invalid { .. })),
        "{other:?}"
    );
    for (v, k) in [
        ("apps/v1", "Service"),
        ("apps/v1", "Deployment"),
        ("v1", "KongPlugin"),
    ] {
        assert!(
            matches!(
                Object::from_value(value(v, k)),
                Err(ParseError::Unsupported(_))
            ),
            "{v} {k}"
        );
    }
    assert!(matches!(
        Object::from_value(json!({"kind": "Service"})),
        Err(ParseError::NoKind)
    ));
}
