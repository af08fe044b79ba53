//! A plugin's `config` printed whole with Kong's defaults (as Kong does),
//! and form-encoded input read by each field's type
//! (`config.token_expiration=60` arrives as a string). The defaults and
//! field facts come from each plugin's schema (`model::plugin::Schema`).

use crate::model::plugin::PluginFacts;
use crate::model::plugin::schema::FormType;
use serde_json::{Map, Value};

/// `config` with every unset field at its default. Explicit `null`s are
/// kept where the plugin says they mean something other than the default.
pub fn defaulted_config(name: &str, config: &Value) -> Value {
    let facts = PluginFacts::of(name);
    let mut out = facts.map(|f| f.defaults()).unwrap_or_default();
    let keep_null = facts.map(|f| f.keep_null).unwrap_or_default();
    if let Some(given) = config.as_object() {
        let mut given = given.clone();
        if let Some(f) = facts {
            f.fold_shorthands(&mut given);
        }
        for (key, value) in given {
            if value.is_null() && !keep_null.contains(&key.as_str()) {
                continue;
            }
            // A record given in part keeps the defaults of the rest (Kong
            // fills nested records field by field).
            if let (Some(Value::Object(default)), Value::Object(part)) = (out.get_mut(&key), &value)
            {
                for (k, v) in part.iter().filter(|(_, v)| !v.is_null()) {
                    default.insert(k.clone(), v.clone());
                }
                continue;
            }
            out.insert(key, value);
        }
    }
    Value::Object(out)
}

/// Reads string values of form-encoded input by the field's type: booleans
/// from `true`/`false`, integers from digits, one string as a one-element
/// array. Values already of the right type are left alone.
pub fn coerce_config(name: &str, config: &mut Value) {
    let Some(facts) = PluginFacts::of(name) else {
        return;
    };
    let defaults: Map<String, Value> = facts.defaults();
    let Some(map) = config.as_object_mut() else {
        return;
    };
    coerce(map, &defaults, facts.null_types);
}

/// [`coerce_config`] on one record; nested records (request-transformer's
/// `config.add.headers`) are read by their own defaults.
fn coerce(
    map: &mut Map<String, Value>,
    defaults: &Map<String, Value>,
    null_types: &[(&str, FormType)],
) {
    for (key, value) in map.iter_mut() {
        if let (Value::Object(inner), Some(Value::Object(d))) = (&mut *value, defaults.get(key)) {
            coerce(inner, d, &[]);
            continue;
        }
        let Value::String(s) = value else { continue };
        match defaults.get(key) {
            Some(Value::Bool(_)) => match s.as_str() {
                "true" => *value = Value::Bool(true),
                "false" => *value = Value::Bool(false),
                _ => {}
            },
            Some(Value::Number(n)) => {
                if n.is_f64() {
                    if let Ok(f) = s.trim().parse::<f64>() {
                        *value = Value::from(f);
                    }
                } else if let Ok(n) = s.trim().parse::<i64>() {
                    *value = Value::from(n);
                } else if let Ok(f) = s.trim().parse::<f64>() {
                    // A number field whose default is whole (`sync_rate`).
                    *value = Value::from(f);
                }
            }
            Some(Value::Array(_)) => *value = Value::Array(vec![Value::String(s.clone())]),
            Some(Value::Null) => match null_types.iter().find(|(k, _)| k == key) {
                Some((_, FormType::Strings)) => {
                    *value = Value::Array(vec![Value::String(s.clone())])
                }
                Some((_, FormType::Number)) => {
                    // `5` stays whole: Kong prints it without a fraction.
                    if let Ok(n) = s.trim().parse::<i64>() {
                        *value = Value::from(n);
                    } else if let Ok(f) = s.trim().parse::<f64>() {
                        *value = Value::from(f);
                    }
                }
                None => {}
            },
            _ => {}
        }
    }
}
