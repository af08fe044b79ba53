//! Kong's `body_transformer.transform_json_body`: remove, rename, replace,
//! add, append on the top-level keys of a JSON object, values typed by
//! `json_types`.

use crate::model::plugin::ResponseTransformerConfig;
use crate::model::plugin::response_transformer::JsonType;
use crate::model::plugin::transform::split;
use serde_json::{Number, Value};

/// The edited body, or `None` when `body` is not a JSON object (Kong logs
/// "failed parsing json body" and leaves it).
pub(super) fn transform(config: &ResponseTransformerConfig, body: &[u8]) -> Option<Vec<u8>> {
    let Ok(Value::Object(mut json)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    for name in &config.remove.json {
        json.remove(name);
    }
    for (old, new) in config.rename.json.iter().filter_map(|e| split(e)) {
        if new.is_empty() {
            continue;
        }
        if let Some(v) = json.remove(old) {
            json.insert(new.to_string(), v);
        }
    }
    let falsy = |v: Option<&Value>| matches!(v, None | Some(Value::Bool(false)));
    let typed = |list: &[String], types: &[JsonType]| -> Vec<(String, Value)> {
        list.iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let (name, value) = split(e)?;
                Some((name.to_string(), json_value(value, types.get(i).copied())?))
            })
            .collect()
    };
    for (name, v) in typed(&config.replace.json, &config.replace.json_types) {
        if !falsy(json.get(&name)) {
            json.insert(name, v);
        }
    }
    for (name, v) in typed(&config.add.json, &config.add.json_types) {
        if falsy(json.get(&name)) {
            json.insert(name, v);
        }
    }
    for (name, v) in typed(&config.append.json, &config.append.json_types) {
        let next = match json.remove(&name) {
            Some(Value::String(s)) => Value::Array(vec![Value::String(s), v]),
            Some(Value::Array(mut items)) => {
                items.push(v);
                Value::Array(items)
            }
            _ => Value::Array(vec![v]),
        };
        json.insert(name, next);
    }
    serde_json::to_vec(&Value::Object(json)).ok()
}

/// Kong's `json_value`: the value JSON-escaped but for `"` and `/` (an
/// empty value is the text `null`), then cast: a number that does not
/// parse is skipped, a boolean is `true` only for `true`.
fn json_value(value: &str, json_type: Option<JsonType>) -> Option<Value> {
    let text = if value.is_empty() {
        "null".to_string()
    } else {
        let encoded = serde_json::to_string(value).ok()?;
        encoded[1..encoded.len() - 1].replace("\\\"", "\"")
    };
    match json_type {
        Some(JsonType::Number) => number(&text).map(Value::Number),
        Some(JsonType::Boolean) => Some(Value::Bool(text == "true")),
        Some(JsonType::String) | None => Some(Value::String(text)),
    }
}

fn number(text: &str) -> Option<Number> {
    let text = text.trim();
    if let Ok(i) = text.parse::<i64>() {
        return Some(i.into());
    }
    text.parse::<f64>().ok().and_then(Number::from_f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::plugin::Schema;
    use serde_json::json;

    fn run(config: Value, body: &str) -> Value {
        let c = ResponseTransformerConfig::parse(&config).unwrap();
        serde_json::from_slice(&transform(&c, body.as_bytes()).unwrap()).unwrap()
    }

    // spec/03-plugins/15-response-transformer/02-body_transformer_spec.lua
    #[test]
    fn add_with_types() {
        let c = json!({"add": {"json": ["p1:v1", "p3:value:3", "p4:\"v1\"", "p5:-1", "p6:false", "p7:true"],
            "json_types": ["string", "string", "string", "number", "boolean", "boolean"]}});
        let all =
            json!({"p1": "v1", "p3": "value:3", "p4": "\"v1\"", "p5": -1, "p6": false, "p7": true});
        let mut want = all.clone();
        want["p2"] = json!("v1");
        assert_eq!(run(c.clone(), r#"{"p2":"v1"}"#), want);
        want["p2"] = json!(-1);
        assert_eq!(run(c.clone(), r#"{"p2":-1}"#), want);
        want["p2"] = json!(false);
        want["a"] = json!([]);
        assert_eq!(run(c, r#"{"p2":false, "a": []}"#), want);
    }

    #[test]
    fn append_with_types() {
        let c = json!({"append": {"json": ["p1:v1", "p3:\"v1\"", "p4:-1", "p5:false", "p6:true"],
            "json_types": ["string", "string", "number", "boolean", "boolean"]}});
        assert_eq!(
            run(c.clone(), r#"{"p1":"v2"}"#),
            json!({"p1": ["v2", "v1"], "p3": ["\"v1\""], "p4": [-1], "p5": [false], "p6": [true]})
        );
        assert_eq!(
            run(c, r#"{"p4":"v2","p5":["x"]}"#),
            json!({"p1": ["v1"], "p3": ["\"v1\""], "p4": ["v2", -1], "p5": ["x", false], "p6": [true]})
        );
    }

    #[test]
    fn remove_rename_replace_and_the_combination() {
        assert_eq!(
            run(
                json!({"remove": {"json": ["p1", "p2"]}}),
                r#"{"p1" : "v1", "p2" : "v1", "a": []}"#
            ),
            json!({"a": []})
        );
        assert_eq!(
            run(
                json!({"rename": {"json": ["p1:k1", "p2:k2", "p3:k3", "p4:k4", "p5:k5"]}}),
                r#"{"p1" : "v1", "p2" : "v2", "p3": [], "p4": false, "p5": -1}"#
            ),
            json!({"k1": "v1", "k2": "v2", "k3": [], "k4": false, "k5": -1})
        );
        let c = json!({"replace": {"json": ["p1:v2", "p2:\"v2\"", "p3:-1", "p4:false", "p5:true"],
            "json_types": ["string", "string", "number", "boolean", "boolean"]}});
        assert_eq!(run(c.clone(), r#"{"p1" : "v1"}"#), json!({"p1": "v2"}));
        assert_eq!(
            run(c, r#"{"p2": "v1", "p3": "v1", "p4": "v4", "p5": "v5"}"#),
            json!({"p2": "\"v2\"", "p3": -1, "p4": false, "p5": true})
        );
        let c = json!({"remove": {"json": ["p1"]}, "rename": {"json": ["p4:p2"]},
            "replace": {"json": ["p2:v2"]}, "add": {"json": ["p3:v1"]}, "append": {"json": ["p3:v2"]}});
        assert_eq!(
            run(c, r#"{"p1" : "v1", "p4" : "v1", "a" : []}"#),
            json!({"p2": "v2", "p3": ["v1", "v2"], "a": []})
        );
    }

    // 04-filter_spec.lua: "replace a body parameter on GET".
    #[test]
    fn values_keep_slashes_and_quotes() {
        let c = json!({"replace": {"json": ["headers:/hello/world", "uri_args:this is a / test", "url:\"wot\""]}});
        assert_eq!(
            run(c, r#"{"headers": {}, "uri_args": {}, "url": "x"}"#),
            json!({"headers": "/hello/world", "uri_args": "this is a / test", "url": "\"wot\""})
        );
        assert_eq!(json_value("", None), Some(json!("null")));
        assert_eq!(json_value("x", Some(JsonType::Number)), None);
    }

    // "handle unexpected body type"
    #[test]
    fn not_a_json_object_is_left_alone() {
        let c = ResponseTransformerConfig::parse(&json!({"add": {"json": ["a:b"]}})).unwrap();
        assert_eq!(transform(&c, b"not a json value"), None);
        assert_eq!(transform(&c, b"[1]"), None);
    }
}
