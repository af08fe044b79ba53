//! Request bodies of Admin API writes, decoded as Kong decodes them into
//! one JSON object: `application/json` as it is; form bodies
//! (`application/x-www-form-urlencoded`, `multipart/form-data`) with dotted
//! keys as nested objects (`config.scopes`), repeated keys, `k[]` and
//! `k[1]` as arrays, and an empty value as `null`. Form values stay strings
//! here; the `kong` constructors read `"true"`, `"42"` and a lone string
//! for an array field as Kong's schema inference does.

use super::error::WriteError;
use serde_json::{Map, Value};

/// How a form value arrived: once, or marked as an array element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// `k=v`: a scalar, turned into an array when the key repeats.
    Plain,
    /// `k[]=v`: appended to an array.
    Append,
    /// `k[3]=v`: at a 1-based index.
    Index(usize),
}

/// Which decoder a body needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Format {
    /// JSON (or no body at all).
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `multipart/form-data` with this boundary.
    Multipart(String),
}

/// The format named by a `Content-Type` header. A missing header with a
/// non-empty body is read as a form, as curl's `--data` sends one.
pub(super) fn format(content_type: Option<&str>, body: &[u8]) -> Result<Format, WriteError> {
    let Some(content_type) = content_type else {
        return Ok(if body.iter().all(u8::is_ascii_whitespace) {
            Format::Json
        } else {
            Format::Form
        });
    };
    let mut parts = content_type.split(';').map(str::trim);
    let essence = parts.next().unwrap_or_default().to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Ok(Format::Json),
        "application/x-www-form-urlencoded" => Ok(Format::Form),
        "multipart/form-data" => {
            let boundary = parts
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
                .map(|(_, v)| v.trim().trim_matches('"').to_string())
                .filter(|b| !b.is_empty())
                .ok_or(WriteError::BadBody("Cannot parse multipart/form-data body"))?;
            Ok(Format::Multipart(boundary))
        }
        _ => Err(WriteError::UnsupportedType(content_type.to_string())),
    }
}

/// Decodes `body` into a JSON object.
pub(super) fn decode(format: &Format, body: &[u8]) -> Result<Map<String, Value>, WriteError> {
    match format {
        Format::Json => {
            if body.iter().all(u8::is_ascii_whitespace) {
                return Ok(Map::new());
            }
            match serde_json::from_slice(body) {
                Ok(Value::Object(map)) => Ok(map),
                _ => Err(WriteError::BadBody("Cannot parse JSON body")),
            }
        }
        Format::Form => {
            let pairs = form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned()));
            Ok(nest(pairs))
        }
        Format::Multipart(boundary) => Ok(nest(multipart(body, boundary)?)),
    }
}

/// Builds the nested object from `key=value` pairs in arrival order.
fn nest(pairs: impl IntoIterator<Item = (String, String)>) -> Map<String, Value> {
    let mut root = Map::new();
    for (key, value) in pairs {
        let (path, slot) = split_key(&key);
        let value = if value.is_empty() {
            Value::Null
        } else {
            Value::String(value)
        };
        insert(&mut root, &path, slot, value);
    }
    root
}

/// `config.scopes[2]` → (["config", "scopes"], Index(2)).
fn split_key(key: &str) -> (Vec<String>, Slot) {
    let (name, slot) = match key.strip_suffix(']').and_then(|k| k.rsplit_once('[')) {
        Some((name, "")) => (name, Slot::Append),
        Some((name, index)) => match index.parse::<usize>() {
            // Bounded: `a[99999999999]=x` must not allocate that many slots
            // (found by fuzzing); a larger index appends.
            Ok(i) if (1..=MAX_INDEX).contains(&i) => (name, Slot::Index(i)),
            Ok(i) if i > MAX_INDEX => (name, Slot::Append),
            _ => (key, Slot::Plain),
        },
        None => (key, Slot::Plain),
    };
    (name.split('.').map(str::to_string).collect(), slot)
}

fn insert(map: &mut Map<String, Value>, path: &[String], slot: Slot, value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut here = map;
    for parent in parents {
        let entry = here
            .entry(parent.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        here = match entry {
            Value::Object(m) => m,
            _ => unreachable!("just made an object"),
        };
    }
    match (slot, here.get_mut(last)) {
        (Slot::Plain, None) => {
            here.insert(last.clone(), value);
        }
        (Slot::Plain | Slot::Append, Some(Value::Array(items))) => items.push(value),
        (Slot::Plain | Slot::Append, Some(existing)) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
        (Slot::Append, None) => {
            here.insert(last.clone(), Value::Array(vec![value]));
        }
        (Slot::Index(i), existing) => {
            let mut items = match existing.map(Value::take) {
                Some(Value::Array(items)) => items,
                Some(Value::Null) | None => Vec::new(),
                Some(other) => vec![other],
            };
            if items.len() < i {
                items.resize(i, Value::Null);
            }
            items[i - 1] = value;
            here.insert(last.clone(), Value::Array(items));
        }
    }
}

/// The largest `field[n]` index a form may use.
const MAX_INDEX: usize = 1024;

/// The text fields of a `multipart/form-data` body. Parts with a
/// `filename` are read as text too (Kong reads certificate files that way).
fn multipart(body: &[u8], boundary: &str) -> Result<Vec<(String, String)>, WriteError> {
    const BAD: WriteError = WriteError::BadBody("Cannot parse multipart/form-data body");
    let text = std::str::from_utf8(body).map_err(|_| BAD)?;
    let delimiter = format!("--{boundary}");
    let mut pairs = Vec::new();
    let mut sections = text.split(delimiter.as_str());
    // Anything before the first delimiter is preamble.
    sections.next().ok_or(BAD)?;
    for section in sections {
        if section.starts_with("--") {
            return Ok(pairs);
        }
        let section = section.strip_prefix("\r\n").ok_or(BAD)?;
        let (head, content) = section.split_once("\r\n\r\n").ok_or(BAD)?;
        let content = content.strip_suffix("\r\n").ok_or(BAD)?;
        let name = head
            .lines()
            .find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.trim()
                    .eq_ignore_ascii_case("content-disposition")
                    .then_some(value)
            })
            .and_then(disposition_name)
            .ok_or(BAD)?;
        pairs.push((name, content.to_string()));
    }
    Err(BAD)
}

/// `form-data; name="config.scopes"` → `config.scopes`.
fn disposition_name(value: &str) -> Option<String> {
    value.split(';').map(str::trim).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim() == "name").then(|| v.trim().trim_matches('"').to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form(body: &str) -> Value {
        Value::Object(decode(&Format::Form, body.as_bytes()).unwrap())
    }

    #[test]
    fn a_huge_index_appends_instead_of_allocating() {
        // Found by the kong_admin fuzz target.
        assert_eq!(form("a[99999999999]=x"), json!({"a": ["x"]}));
        assert_eq!(form("a[2]=y"), json!({"a": [null, "y"]}));
    }

    #[test]
    fn dotted_keys_nest_and_repeats_become_arrays() {
        assert_eq!(
            form("name=oauth2&config.scopes=a&config.scopes=b&config.global_credentials=true"),
            json!({"name": "oauth2", "config": {"scopes": ["a", "b"], "global_credentials": "true"}})
        );
    }

    #[test]
    fn bracket_forms_make_arrays() {
        assert_eq!(
            form("paths[]=/a&paths[]=/b"),
            json!({"paths": ["/a", "/b"]})
        );
        assert_eq!(form("paths[]=/a"), json!({"paths": ["/a"]}));
        assert_eq!(
            form("paths[2]=/b&paths[1]=/a"),
            json!({"paths": ["/a", "/b"]})
        );
        assert_eq!(form("a[0]=x"), json!({"a[0]": "x"}));
    }

    #[test]
    fn empty_values_are_null_and_escapes_decoded() {
        assert_eq!(
            form("hosts=&name=a%20b+c"),
            json!({"hosts": null, "name": "a b c"})
        );
    }

    #[test]
    fn json_must_be_an_object() {
        assert!(decode(&Format::Json, b"[1]").is_err());
        assert!(decode(&Format::Json, b"{").is_err());
        assert_eq!(decode(&Format::Json, b"  ").unwrap(), Map::new());
        assert_eq!(
            Value::Object(decode(&Format::Json, br#"{"a":{"b":1}}"#).unwrap()),
            json!({"a": {"b": 1}})
        );
    }

    #[test]
    fn content_types() {
        assert_eq!(format(None, b"").unwrap(), Format::Json);
        assert_eq!(format(None, b"a=b").unwrap(), Format::Form);
        assert_eq!(
            format(Some("application/json; charset=utf-8"), b"").unwrap(),
            Format::Json
        );
        assert_eq!(
            format(Some("multipart/form-data; boundary=\"xyz\""), b"").unwrap(),
            Format::Multipart("xyz".into())
        );
        assert!(format(Some("multipart/form-data"), b"").is_err());
        assert!(matches!(
            format(Some("text/plain"), b"x"),
            Err(WriteError::UnsupportedType(_))
        ));
    }

    #[test]
    fn multipart_fields() {
        let body = "--xyz\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\noauth2\r\n\
                    --xyz\r\nContent-Disposition: form-data; name=\"config.scopes\"\r\n\r\na\r\n\
                    --xyz\r\ncontent-disposition: form-data; name=\"config.scopes\"\r\n\r\nb\r\n\
                    --xyz--\r\n";
        let got = decode(&Format::Multipart("xyz".into()), body.as_bytes()).unwrap();
        assert_eq!(
            Value::Object(got),
            json!({"name": "oauth2", "config": {"scopes": ["a", "b"]}})
        );
        assert!(decode(&Format::Multipart("xyz".into()), b"--xyz\r\nbroken").is_err());
    }
}
