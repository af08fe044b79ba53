//! Kong's `spec/03-plugins/36-request-transformer/01-schema_spec.lua`, the
//! element checks of its schema, defaults and printing.

use super::*;
use serde_json::json;

fn err(v: Value) -> String {
    RequestTransformerConfig::parse(&v).unwrap_err().to_string()
}

#[test]
fn http_method_must_be_upper_case_letters() {
    // "validates http_method" / "errors invalid http_method"
    assert!(RequestTransformerConfig::parse(&json!({"http_method": "GET"})).is_ok());
    assert_eq!(
        err(json!({"http_method": "HELLO!"})),
        "config.http_method: invalid value: HELLO!"
    );
    assert_eq!(
        err(json!({"http_method": "get"})),
        "config.http_method: invalid value: get"
    );
}

#[test]
fn values_are_templates_without_lua() {
    // "validate regex pattern as value" / "validate string as value"
    let c = RequestTransformerConfig::parse(&json!({"add": {"querystring":
        ["uri_param1:$(uri_captures.user1)", "uri_param2:value"]}}))
    .unwrap();
    assert_eq!(c.ops.add.querystring.len(), 2);
    assert!(
        c.ops.add.querystring[0]
            .value
            .as_ref()
            .unwrap()
            .reads(Source::UriCaptures)
    );
    assert!(c.edits_query() && !c.edits_body());
    // "error for missing value"
    assert_eq!(
        err(json!({"add": {"querystring": ["uri_param2:"]}})),
        "config.add.querystring.1: key 'uri_param2' has no value"
    );
    // "error for malformed regex pattern in value"
    let e = err(json!({"add": {"querystring": ["a:b", "uri_param2:$(uri_captures user2)"]}}));
    assert!(
        e.starts_with("config.add.querystring.2: value '$(uri_captures user2)' is not in supported format, error:"),
        "{e}"
    );
    // Lua Kong would only run (and fail, or evaluate) per request.
    for (field, value) in [
        ("headers", "x:$(ERROR())"),
        ("headers", "X-Write-Attempt:$(shared.written = true)"),
        ("body", "q:$(10 * uri_captures.user1)"),
    ] {
        let e = err(json!({"add": {field: [value]}}));
        assert!(e.contains("no Lua"), "{e}");
    }
    let e = err(json!({"replace": {"uri": "/requests/user2/$(10 * uri_captures.user1)"}}));
    assert!(e.starts_with("config.replace.uri: value"), "{e}");
    assert_eq!(
        err(json!({"replace": {"uri": "relative"}})),
        "config.replace.uri: path must start with /"
    );
}

#[test]
fn header_entries_are_checked_as_kong_does() {
    assert_eq!(
        err(json!({"remove": {"headers": ["bad header"]}})),
        "config.remove.headers.1: 'bad header' is not a valid header"
    );
    assert_eq!(
        err(json!({"add": {"headers": ["novalue"]}})),
        "config.add.headers.1: invalid value: novalue"
    );
    assert_eq!(
        err(json!({"rename": {"headers": ["a:b c"]}})),
        "config.rename.headers.1: 'b c' is not a valid header"
    );
    assert_eq!(
        err(json!({"append": {"headers": ["x-a:1\r\nx-b: 2"]}})),
        "config.append.headers.1: '1\r\nx-b: 2' is not a valid header value"
    );
    // A colon in the value is part of the value; names are case-insensitive.
    let c = RequestTransformerConfig::parse(&json!({"add": {"headers": ["H2:value:2", "h3:"]}}))
        .unwrap();
    assert_eq!(c.ops.add.headers[0].name, "h2");
    assert!(c.ops.add.headers[1].value.is_none());
    assert_eq!(
        err(json!({"add": {"headers": "h:v"}})),
        "config.add.headers: expected an array"
    );
    assert_eq!(
        err(json!({"add": {"uri": "/x"}})),
        "config.add.uri: unknown field"
    );
}

#[test]
fn defaults_and_printing_match_kong() {
    let all = json!({"body": [], "headers": [], "querystring": []});
    let mut replace = all.clone();
    replace["uri"] = Value::Null;
    assert_eq!(
        Value::Object(RequestTransformerConfig::defaults()),
        json!({"http_method": null, "remove": all, "rename": all, "replace": replace,
               "add": all, "append": all})
    );
    let c =
        RequestTransformerConfig::parse(&json!({"add": {"headers": ["h1:v1"]}, "remove": null}))
            .unwrap();
    assert_eq!(c.render()["add"]["headers"], json!(["h1:v1"]));
    assert_eq!(c.render()["remove"], all);
    assert_eq!(<RequestTransformerConfig as Schema>::PRIORITY, 801);
}
