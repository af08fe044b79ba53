//! Kong's `01-header_transformer_spec.lua` on a header map.

use super::*;
use crate::model::plugin::Schema;
use serde_json::json;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (n, v) in pairs {
        h.append(
            HeaderName::from_bytes(n.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    h
}

fn run(config: serde_json::Value, h: &mut HeaderMap) {
    transform_headers(&ResponseTransformerConfig::parse(&config).unwrap(), h);
}

fn all(h: &HeaderMap, name: &str) -> Vec<String> {
    h.get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

#[test]
fn each_operation_as_kong() {
    // "remove": "all headers" / "rename": "header if it exists"
    let mut h = headers(&[("h1", "v1"), ("h2", "a"), ("h2", "b"), ("h3", "v3")]);
    run(
        json!({"remove": {"headers": ["h1", "h2"]}, "rename": {"headers": ["h3:h4", "nope:h5"]}}),
        &mut h,
    );
    assert!(h.get("h1").is_none() && h.get("h2").is_none() && h.get("h3").is_none());
    assert_eq!(all(&h, "h4"), ["v3"]);
    assert!(h.get("h5").is_none());
    // "replace": "header if it exists" / "does not add a new header"
    let mut h = headers(&[("h1", "v1")]);
    run(
        json!({"replace": {"headers": ["h1:v2", "h2:v2", "h3:"]}}),
        &mut h,
    );
    assert_eq!(all(&h, "h1"), ["v2"]);
    assert!(h.get("h2").is_none());
    // "add": "header if it does not exist" / "does not add if it exists"
    let mut h = headers(&[("h1", "v1")]);
    run(json!({"add": {"headers": ["h1:v2", "h2:v2:x"]}}), &mut h);
    assert_eq!(all(&h, "h1"), ["v1"]);
    assert_eq!(all(&h, "h2"), ["v2:x"]);
    // "append": "new header" / "value to existing header"
    let mut h = headers(&[("h1", "v1")]);
    run(json!({"append": {"headers": ["h1:v2", "h2:v1"]}}), &mut h);
    assert_eq!(all(&h, "h1"), ["v1", "v2"]);
    assert_eq!(all(&h, "h2"), ["v1"]);
}

#[test]
fn rename_replace_and_add_see_the_headers_as_sent() {
    // Kong reads the headers once: a removed header is still "present" for
    // replace (which sets it again) and add (which then does not).
    let mut h = headers(&[("h1", "v1")]);
    run(
        json!({"remove": {"headers": ["h1"]}, "replace": {"headers": ["h1:new"]},
               "add": {"headers": ["h1:added"]}}),
        &mut h,
    );
    assert_eq!(all(&h, "h1"), ["new"]);
    // A repeated header is renamed with all its values, over the target.
    let mut h = headers(&[("a", "1"), ("a", "2"), ("b", "old")]);
    run(json!({"rename": {"headers": ["a:b"]}}), &mut h);
    assert_eq!(all(&h, "b"), ["1", "2"]);
    assert!(h.get("a").is_none());
}

#[test]
fn json_media_types_as_kong_reads_them() {
    let yes = [
        "application/json",
        "application/json; charset=utf-8",
        "text/html, application/problem+json",
        "Application/JSON",
    ];
    for ct in yes {
        assert!(is_json(Some(&HeaderValue::from_static(ct))), "{ct}");
    }
    for ct in [
        "text/json",
        "application/jsonx",
        "application/x-www-form-urlencoded",
    ] {
        assert!(!is_json(Some(&HeaderValue::from_static(ct))), "{ct}");
    }
    assert!(!is_json(None));
}
