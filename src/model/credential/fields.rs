//! Reading a credential's fields from a map, whichever input it came from:
//! a Secret's data (every value a string, so `"3600"` is an integer and
//! `"a,b"` a list, as KIC reads them) or a kong.yml / Admin API object
//! (JSON values, with the Admin API's form leniency: `"true"`, digit
//! strings, one string for a one-element list). Problems carry Kong's
//! messages and field names.

use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Where the fields came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A credential Secret: strings only; keys the type does not read are
    /// ignored (a Secret may carry KIC's legacy `kongCredType`, notes, …).
    Secret,
    /// A kong.yml or Admin API entity: JSON; unknown fields are refused.
    Entity,
}

/// A refused field and Kong's message for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldProblem {
    /// Kong's field name (`ttl`, `tags`); `@entity` for checks on several.
    pub field: String,
    /// Kong's message.
    pub message: String,
}

/// The field map being read, and the problems found so far.
#[derive(Debug)]
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    origin: Origin,
    seen: BTreeSet<&'a str>,
    problems: Vec<FieldProblem>,
    stored: bool,
}

// === impl FieldProblem ===

impl FieldProblem {
    /// `field: message; …`, for logs and Events.
    pub fn join(problems: &[FieldProblem]) -> String {
        problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

// === impl Fields ===

impl<'a> Fields<'a> {
    /// Reads `map`, which came from `origin`.
    pub fn new(map: &'a Map<String, Value>, origin: Origin) -> Self {
        Self {
            map,
            origin,
            seen: BTreeSet::new(),
            problems: Vec::new(),
            stored: false,
        }
    }

    /// Marks the values as Kong stores them (a document with `_transform:
    /// false`): secrets are already hashed the way Kong hashes them.
    pub fn stored_form(mut self, stored: bool) -> Self {
        self.stored = stored;
        self
    }

    /// Whether values are in Kong's stored form.
    pub fn stored(&self) -> bool {
        self.stored
    }

    /// Where the fields came from.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// Records a problem with `field`.
    pub fn problem(&mut self, field: &str, message: impl Into<String>) {
        self.problems.push(FieldProblem {
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// The raw value, `None` when absent or `null` (Kong's "unset").
    fn get(&mut self, key: &str) -> Option<&'a Value> {
        let (k, v) = self.map.get_key_value(key)?;
        self.seen.insert(k.as_str());
        Some(v).filter(|v| !v.is_null())
    }

    /// Marks `key` as read without interpreting it.
    pub fn accept(&mut self, key: &str) {
        let _ = self.get(key);
    }

    /// A string.
    pub fn string(&mut self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s.clone()),
            _ => {
                self.problem(key, "expected a string");
                None
            }
        }
    }

    /// A string that must be present and non-empty.
    pub fn required_string(&mut self, key: &str) -> Option<String> {
        match self.string(key) {
            None if !self.has(key) => {
                self.problem(key, "required field missing");
                None
            }
            Some(s) if s.is_empty() => {
                self.problem(key, "length must be at least 1");
                None
            }
            other => other,
        }
    }

    fn has(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|v| !v.is_null())
    }

    /// An integer in `min..=max` (a digit string counts).
    pub fn integer(&mut self, key: &str, min: i64, max: i64) -> Option<i64> {
        let n = match self.get(key)? {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match n {
            None => {
                self.problem(key, "expected an integer");
                None
            }
            Some(n) if n < min || n > max => {
                self.problem(key, format!("value should be between {min} and {max}"));
                None
            }
            Some(n) => Some(n),
        }
    }

    /// A list of strings: a JSON array, one string (one element), or in a
    /// Secret a comma-separated string.
    pub fn strings(&mut self, key: &str) -> Option<Vec<String>> {
        let origin = self.origin;
        match self.get(key)? {
            Value::String(s) if origin == Origin::Secret => Some(
                s.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect(),
            ),
            Value::String(s) => Some(vec![s.clone()]),
            Value::Array(items) => {
                let out: Option<Vec<String>> = items
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect();
                if out.is_none() {
                    self.problem(key, "expected an array of strings");
                }
                out
            }
            _ => {
                self.problem(key, "expected an array");
                None
            }
        }
    }

    /// Kong's `tags`: a set of printable strings without `,` or `/`.
    pub fn tags(&mut self) -> Option<Vec<String>> {
        let tags = self.strings("tags")?;
        let unique: BTreeSet<&String> = tags.iter().collect();
        if unique.len() != tags.len() {
            self.problem("tags", "duplicate entries are not allowed");
            return None;
        }
        if let Some(bad) = tags
            .iter()
            .find(|t| t.is_empty() || t.contains([',', '/']) || t.chars().any(char::is_control))
        {
            let message = format!(
                "invalid tag '{bad}': expected printable characters with the exception of ',' and '/'"
            );
            self.problem("tags", message);
            return None;
        }
        Some(tags)
    }

    /// The problems found; an entity's unknown fields are refused here.
    pub fn finish(mut self) -> Vec<FieldProblem> {
        if self.origin == Origin::Entity {
            let unknown: Vec<&str> = self
                .map
                .keys()
                .map(String::as_str)
                .filter(|k| !self.seen.contains(k) && !k.starts_with('_'))
                .collect();
            for key in unknown {
                self.problem(key, "unknown field");
            }
        }
        self.problems
    }
}
