//! What each plugin's configuration declares for the registry
//! ([`super::registry`]), and the serde reading most plugins use: Kong's
//! null-means-default rule, Kong's type messages and `config.<field>` paths.

use super::ConfigError;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A plugin's configuration type: its name, priority and scoping, how it is
/// parsed from Kong's `config` object, Kong's defaults, and how the Admin API
/// and kong.yml print it. One implementation per plugin, in its own module.
pub trait Schema: Sized {
    /// Kong's plugin name (`key-auth`).
    const NAME: &'static str;
    /// Kong's static `PRIORITY`: higher runs first in every phase.
    const PRIORITY: u32;
    /// Whether an instance may be scoped to a consumer or consumer group
    /// (Kong's `no_consumer` is false). Authentication plugins may not: they
    /// are what finds the consumer.
    const CONSUMER_SCOPED: bool = false;
    /// The credential type this plugin authenticates with, if any.
    const CREDENTIAL: Option<crate::model::CredentialType> = None;
    /// The types of fields whose default is `null`, so that form input
    /// (`config.scopes=a`, `config.minute=5`) is read by type: a defaulted
    /// field's type shows in its default.
    const NULL_TYPES: &'static [(&'static str, FormType)] = &[];
    /// Fields where an explicit `null` means something other than the
    /// default, so printing keeps it.
    const KEEP_NULL: &'static [&'static str] = &[];

    /// Parses and validates `config`; errors name the field as Kong does.
    fn parse(config: &Value) -> Result<Self, ConfigError>;

    /// Kong's default of every field, as the Admin API prints an instance
    /// whose `config` left them out.
    fn defaults() -> Map<String, Value>;

    /// The configuration as the Admin API prints it, secrets masked.
    fn render(&self) -> Value;

    /// Rewrites deprecated shorthand fields into the fields that replace
    /// them, as Kong does before it fills in defaults (a default must not
    /// meet a shorthand's value as if both were given). A conflict is left
    /// in place for [`Schema::parse`] to report.
    fn fold_shorthands(config: &mut Map<String, Value>) {
        let _ = config;
    }
}

/// How a form-encoded string is read for a field whose default is `null`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormType {
    /// An array of strings: one value becomes a one-element array.
    Strings,
    /// A number.
    Number,
}

/// Shown instead of a secret value that is set.
pub const MASK: &str = "[redacted]";

/// `null` when unset, [`MASK`] when set: how a secret field is printed.
pub fn mask<T>(secret: &Option<T>) -> Value {
    secret
        .as_ref()
        .map_or(Value::Null, |_| Value::String(MASK.into()))
}

/// Kong's defaults of a serde configuration: its `Default`, serialised.
pub fn defaults_of<T: serde::Serialize + Default>() -> Map<String, Value> {
    match serde_json::to_value(T::default()) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// A serde configuration without secret fields, as the Admin API prints it.
pub fn render_of<T: serde::Serialize>(config: &T) -> Value {
    serde_json::to_value(config).unwrap_or(Value::Null)
}

/// Kong's `typedefs.header_name` rule for one name at `path`
/// (`config.trigger`): letters, digits, `_` and `-`.
pub fn check_header_name(path: &str, name: &str) -> Result<(), ConfigError> {
    let fine = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if fine {
        return Ok(());
    }
    Err(ConfigError::field(
        path,
        format!("bad header name '{name}', allowed characters are A-Z, a-z, 0-9, '_', and '-'"),
    ))
}

/// Reads `config` into a serde type: `null` anywhere in an object means
/// "the default" (Kong's rule), unknown fields are refused, and a type error
/// names its field path with Kong's words (`config.minute: expected a number`).
pub fn read<T: DeserializeOwned>(config: &Value) -> Result<T, ConfigError> {
    let mut config = match config {
        Value::Null => Value::Object(Map::new()),
        Value::Object(_) => config.clone(),
        _ => return Err(ConfigError::field("config", "expected a record")),
    };
    drop_nulls(&mut config);
    serde_path_to_error::deserialize::<_, T>(config).map_err(|e| {
        let mut path = match e.path().to_string() {
            p if p == "." => "config".to_string(),
            p => format!("config.{}", numbered(&p)),
        };
        let message = e.into_inner().to_string();
        // serde reports an unknown (or missing) field on the record that
        // holds it; Kong names the field itself.
        let named = ["unknown field `", "missing field `"]
            .iter()
            .find_map(|p| message.strip_prefix(p))
            .and_then(|rest| rest.split('`').next());
        // (serde_path_to_error already names an unknown one.)
        if let Some(name) = named.filter(|n| !path.ends_with(&format!(".{n}"))) {
            path = format!("{path}.{name}");
        }
        ConfigError::field(path, kong_message(&message))
    })
}

/// Removes `null` members of objects, at any depth (array elements stay:
/// there `null` is a value, and Kong refuses it).
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// serde's `a[0].b` as Kong's `a.1.b` (array elements counted from 1).
fn numbered(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find(']') else {
            break;
        };
        let index = &rest[open + 1..open + close];
        match index.parse::<usize>() {
            Ok(n) => out.push_str(&format!(".{}", n + 1)),
            Err(_) => out.push_str(&rest[open..=open + close]),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// serde's messages in Kong's schema words.
fn kong_message(serde: &str) -> String {
    if serde.starts_with("unknown field") {
        return "unknown field".to_string();
    }
    if serde.starts_with("missing field") {
        return "required field missing".to_string();
    }
    if let Some(rest) = serde.strip_prefix("unknown variant `") {
        // "unknown variant `x`, expected one of `a`, `b`"
        let expected = rest
            .split_once("expected ")
            .map(|(_, e)| {
                // serde says "`a` or `b`" for two variants; Kong lists them.
                e.trim_start_matches("one of ")
                    .replace("` or `", ", ")
                    .replace('`', "")
            })
            .unwrap_or_default();
        return format!("expected one of: {expected}");
    }
    let Some((_, expected)) = serde.split_once(", expected ") else {
        return serde.to_string();
    };
    let expected = expected.split(" at line").next().unwrap_or(expected);
    let word = match expected {
        e if e.starts_with('u') && e[1..].chars().all(|c| c.is_ascii_digit()) => "an integer",
        e if e.starts_with('i') && e[1..].chars().all(|c| c.is_ascii_digit()) => "an integer",
        "f64" | "f32" | "a JSON number" => "a number",
        "a boolean" => "a boolean",
        "a string" => "a string",
        "a sequence" => "an array",
        e if e.starts_with("struct") || e == "a map" => "a record",
        other => return format!("expected {other}"),
    };
    format!("expected {word}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Sample {
        minute: Option<f64>,
        names: Vec<String>,
        on: bool,
        limit: u32,
        nested: Nested,
        policy: Option<TwoPolicies>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum TwoPolicies {
        Local,
        Redis,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Nested {
        port: u16,
    }

    impl Default for Sample {
        fn default() -> Self {
            Self {
                minute: None,
                names: vec!["apikey".into()],
                on: true,
                limit: 7,
                nested: Nested::default(),
                policy: None,
            }
        }
    }

    #[test]
    fn null_means_the_default_at_any_depth() {
        let s: Sample = read(&json!({"names": null, "nested": {"port": null}})).unwrap();
        assert_eq!(s, Sample::default());
        let s: Sample = read(&Value::Null).unwrap();
        assert_eq!(s.limit, 7);
    }

    #[test]
    fn errors_name_the_field_in_kong_words() {
        let err = |v| read::<Sample>(&v).unwrap_err().to_string();
        assert_eq!(
            err(json!({"minute": "x"})),
            "config.minute: expected a number"
        );
        assert_eq!(err(json!({"on": 1})), "config.on: expected a boolean");
        assert_eq!(
            err(json!({"limit": -1})),
            "config.limit: expected an integer"
        );
        assert_eq!(
            err(json!({"names": "a"})),
            "config.names: expected an array"
        );
        assert_eq!(
            err(json!({"names": ["a", 2]})),
            "config.names.2: expected a string"
        );
        assert_eq!(
            err(json!({"nested": {"port": "x"}})),
            "config.nested.port: expected an integer"
        );
        assert_eq!(err(json!({"nope": 1})), "config.nope: unknown field");
        assert_eq!(
            err(json!({"policy": "cluster"})),
            "config.policy: expected one of: local, redis"
        );
        assert_eq!(err(json!([1])), "config: expected a record");
    }
}
