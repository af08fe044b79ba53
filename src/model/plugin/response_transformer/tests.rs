//! The checks of Kong's `response-transformer` schema, defaults and
//! printing (`spec/03-plugins/15-response-transformer/03-api_spec.lua`).

use super::*;
use serde_json::json;

fn err(v: Value) -> String {
    ResponseTransformerConfig::parse(&v)
        .unwrap_err()
        .to_string()
}

#[test]
fn entries_are_checked_as_kong_does() {
    // "remove/rename/replace/add/append fails with missing colon"
    assert_eq!(
        err(json!({"add": {"json": ["novalue"]}})),
        "config.add.json.1: invalid value: novalue"
    );
    assert_eq!(
        err(json!({"rename": {"headers": ["a:b c"]}})),
        "config.rename.headers.1: 'b c' is not a valid header"
    );
    assert_eq!(
        err(json!({"add": {"json_types": ["object"]}})),
        "config.add.json_types.1: expected one of: boolean, number, string"
    );
    // Not refused by Kong's schema, but no response can carry them.
    assert_eq!(
        err(json!({"append": {"headers": ["x a:v"]}})),
        "config.append.headers.1: 'x a' is not a valid header"
    );
    assert_eq!(
        err(json!({"add": {"headers": ["x-a:v\nx-b: w"]}})),
        "config.add.headers.1: 'v\nx-b: w' is not a valid header value"
    );
    let c = ResponseTransformerConfig::parse(&json!({
        "add": {"json": ["p1:v1", "p5:-1"], "json_types": ["string", "number"]},
        "remove": {"headers": ["anything goes"]}
    }))
    .unwrap();
    assert_eq!(c.add.json_types, [JsonType::String, JsonType::Number]);
    assert!(c.edits_json());
    assert!(
        !ResponseTransformerConfig::parse(&json!({"add": {"headers": ["a:b"]}}))
            .unwrap()
            .edits_json()
    );
}

#[test]
fn defaults_and_printing_match_kong() {
    let names = json!({"json": [], "headers": []});
    let typed = json!({"json": [], "json_types": [], "headers": []});
    assert_eq!(
        Value::Object(ResponseTransformerConfig::defaults()),
        json!({"remove": names, "rename": names, "replace": typed, "add": typed, "append": typed})
    );
    let c =
        ResponseTransformerConfig::parse(&json!({"append": {"json_types": ["boolean"]}})).unwrap();
    assert_eq!(c.render()["append"]["json_types"], json!(["boolean"]));
    assert_eq!(<ResponseTransformerConfig as Schema>::PRIORITY, 800);
}
