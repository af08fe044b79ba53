//! Field-by-field reading of an entity's JSON object, collecting every
//! problem into [`FieldErrors`] with Kong's messages, and refusing unknown
//! fields at the end.
//!
//! Values are read leniently where Kong's form-encoded Admin API input is
//! lenient: `"true"`/`"false"` for booleans, digit strings for integers and
//! a single string for an array, so a form body decoded to strings reads
//! the same as its JSON equivalent.

use super::{Context, FieldErrors, Foreign, Kind};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Reads one entity object.
pub(super) struct Reader<'a> {
    map: &'a Map<String, Value>,
    seen: BTreeSet<&'a str>,
    /// Problems found so far.
    pub errors: FieldErrors,
}

// === impl Reader ===

impl<'a> Reader<'a> {
    /// Reads `map`.
    pub(super) fn new(map: &'a Map<String, Value>) -> Self {
        Self {
            map,
            seen: BTreeSet::new(),
            errors: FieldErrors::new(),
        }
    }

    /// The raw value, `None` when absent or `null` (Kong's "unset").
    pub(super) fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.seen.insert(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// Whether the key is present at all (even as `null`).
    pub(super) fn present(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// A string.
    pub(super) fn string(&mut self, key: &'static str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s.clone()),
            _ => {
                self.errors.field(key, "expected a string");
                None
            }
        }
    }

    /// A string that must be present.
    pub(super) fn required_string(&mut self, key: &'static str) -> Option<String> {
        let v = self.string(key);
        if v.is_none() && !self.present_non_null(key) {
            self.errors.field(key, "required field missing");
        }
        v
    }

    fn present_non_null(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|v| !v.is_null())
    }

    /// Kong's `utf8_name`: letters, digits and `.-_~`.
    pub(super) fn name(&mut self, key: &'static str) -> Option<String> {
        let name = self.string(key)?;
        if name.is_empty() {
            self.errors.field(key, "length must be at least 1");
            return None;
        }
        if !name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '~'))
        {
            self.errors.field(
                key,
                format!(
                    "invalid value '{name}': it must only contain alphanumeric and '., -, _, ~' \
                     characters"
                ),
            );
            return None;
        }
        Some(name)
    }

    /// A boolean, `default` when unset.
    pub(super) fn boolean(&mut self, key: &'static str, default: bool) -> bool {
        match self.get(key) {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) if s == "true" => true,
            Some(Value::String(s)) if s == "false" => false,
            Some(_) => {
                self.errors.field(key, "expected a boolean");
                default
            }
        }
    }

    /// An integer in `min..=max`, `default` when unset.
    pub(super) fn integer(&mut self, key: &'static str, default: i64, min: i64, max: i64) -> i64 {
        self.optional_integer(key, min, max).unwrap_or(default)
    }

    /// An integer in `min..=max`, `None` when unset.
    pub(super) fn optional_integer(
        &mut self,
        key: &'static str,
        min: i64,
        max: i64,
    ) -> Option<i64> {
        let value = self.get(key)?;
        let n = match value {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match n {
            None => {
                self.errors.field(key, "expected an integer");
                None
            }
            Some(n) if n < min || n > max => {
                self.errors
                    .field(key, format!("value should be between {min} and {max}"));
                None
            }
            Some(n) => Some(n),
        }
    }

    /// An array of strings (a single string counts as one element);
    /// `None` when unset.
    pub(super) fn strings(&mut self, key: &'static str) -> Option<Vec<String>> {
        match self.get(key)? {
            Value::String(s) => Some(vec![s.clone()]),
            Value::Array(items) => {
                let out: Option<Vec<String>> = items
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect();
                if out.is_none() {
                    for (i, item) in items.iter().enumerate() {
                        if !item.is_string() {
                            self.errors
                                .element(key, i, items.len(), "expected a string");
                        }
                    }
                }
                out
            }
            _ => {
                self.errors.field(key, "expected an array");
                None
            }
        }
    }

    /// A set of strings: like [`Reader::strings`], duplicates refused.
    pub(super) fn set(&mut self, key: &'static str) -> Option<Vec<String>> {
        let items = self.strings(key)?;
        let unique: BTreeSet<&String> = items.iter().collect();
        if unique.len() != items.len() {
            self.errors.field(key, "duplicate entries are not allowed");
            return None;
        }
        Some(items)
    }

    /// `tags`: a set of non-empty strings without commas or slashes... as
    /// Kong allows printable characters except `,` and `/`.
    pub(super) fn tags(&mut self) -> Option<Vec<String>> {
        let tags = self.set("tags")?;
        let fine = self.each("tags", &tags, |t| {
            if t.is_empty() || t.contains([',', '/']) || t.chars().any(char::is_control) {
                Err(format!(
                    "invalid tag '{t}': expected printable characters with the exception of ',' and '/'"
                ))
            } else {
                Ok(())
            }
        });
        fine.then_some(tags)
    }

    /// Checks every element of the array field `key` with `check`, recording
    /// Kong's per-element errors; whether all passed.
    pub(super) fn each(
        &mut self,
        key: &str,
        items: &[String],
        check: impl Fn(&str) -> Result<(), String>,
    ) -> bool {
        let mut fine = true;
        for (i, item) in items.iter().enumerate() {
            if let Err(message) = check(item) {
                self.errors.element(key, i, items.len(), message);
                fine = false;
            }
        }
        fine
    }

    /// `created_at`/`updated_at`: kept when given (persisted documents),
    /// else `now`.
    pub(super) fn timestamp(&mut self, key: &'static str, now: i64) -> i64 {
        self.integer(key, now, 0, i64::MAX)
    }

    /// The entity's `id`: kept when given (must be a UUID), else made by
    /// `cx` from `natural_key`.
    pub(super) fn id(&mut self, cx: &Context<'_>, kind: Kind, natural_key: Option<&str>) -> String {
        match self.string("id") {
            Some(id) if super::ids::is_uuid(&id) => id.to_ascii_lowercase(),
            Some(_) => {
                self.errors.field("id", "expected a valid UUID");
                cx.new_id(kind, natural_key)
            }
            None => cx.new_id(kind, natural_key),
        }
    }

    /// A reference to another entity: `{"id": …}`, `{"name": …}` (or
    /// `username` for consumers), or a bare string naming an id or a name;
    /// resolved through `cx`.
    pub(super) fn foreign(
        &mut self,
        key: &'static str,
        kind: Kind,
        cx: &Context<'_>,
    ) -> Option<Foreign> {
        let value = self.get(key)?;
        let reference = match value {
            Value::String(s) => Some(s.clone()),
            Value::Object(map) => ["id", "name", "username"]
                .iter()
                .find_map(|k| map.get(*k).and_then(Value::as_str))
                .map(str::to_string),
            _ => None,
        };
        let Some(reference) = reference else {
            self.errors.field(key, "expected a record");
            return None;
        };
        match (cx.resolve)(kind, &reference) {
            Some(id) => Some(Foreign { id }),
            None => {
                self.errors.foreign_key(
                    key,
                    format!(
                        "the foreign key '{reference}' does not reference an existing '{}' entity.",
                        kind.table()
                    ),
                );
                None
            }
        }
    }

    /// Marks `key` as read without interpreting it (the caller reads it
    /// another way).
    pub(super) fn accept(&mut self, key: &'static str) {
        self.seen.insert(key);
    }

    /// Refuses a field kingress does not implement unless it is unset.
    pub(super) fn unsupported(&mut self, key: &'static str, why: &str) {
        if self.get(key).is_some() {
            self.errors
                .field(key, format!("not supported by kingress: {why}"));
        }
    }

    /// Reports fields that were never read and returns the errors.
    pub(super) fn finish(mut self) -> Result<(), FieldErrors> {
        for key in self.map.keys() {
            if !self.seen.contains(key.as_str()) && !key.starts_with('_') {
                self.errors.field(key, "unknown field");
            }
        }
        self.errors.into_result()
    }
}

/// The input as an object, or the error Kong gives for a non-object body.
pub(super) fn object(value: &Value) -> Result<&Map<String, Value>, FieldErrors> {
    value.as_object().ok_or_else(|| {
        let mut e = FieldErrors::new();
        e.entity("expected a record");
        e
    })
}
