//! Kong's schema-violation field map: `{"field": "message"}`, nested for
//! records (`{"config": {"pkce": "..."}}`), with entity-level checks under
//! `@entity` as a list of messages.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// Key Kong uses for checks that involve several fields.
const ENTITY: &str = "@entity";

/// Field → problem, shaped like the `fields` member of Kong's error body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors {
    fields: BTreeMap<String, FieldError>,
    /// Whether a reference to another entity did not resolve (Kong answers
    /// that with "foreign key violation", code 6, not a schema violation).
    #[serde(skip)]
    foreign_key: bool,
}

/// One entry of [`FieldErrors`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum FieldError {
    /// A message about this field.
    Message(String),
    /// Several messages (used for `@entity`).
    Messages(Vec<String>),
    /// Errors inside a record field (`config`).
    Nested(FieldErrors),
    /// Per-element errors of an array field, `null` where an element is
    /// fine: `[null, "fragment not allowed in '…'"]`, as Kong answers.
    Elements(Vec<Option<String>>),
}

// === impl FieldErrors ===

impl FieldErrors {
    /// No errors.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `message` for `path`; dots nest (`config.pkce`). The first
    /// message for a field wins.
    pub fn field(&mut self, path: &str, message: impl Into<String>) {
        match path.split_once('.') {
            Some((head, rest)) => {
                if let Some(inner) = self.nested(head) {
                    inner.field(rest, message);
                }
            }
            None => {
                self.fields
                    .entry(path.to_string())
                    .or_insert_with(|| FieldError::Message(message.into()));
            }
        }
    }

    /// Records `message` for element `index` (0-based) of the array field
    /// `path` of `len` elements; the first message for an element wins, and
    /// a field that already has a whole-field message keeps it.
    pub fn element(&mut self, path: &str, index: usize, len: usize, message: impl Into<String>) {
        match path.split_once('.') {
            Some((head, rest)) => {
                if let Some(inner) = self.nested(head) {
                    inner.element(rest, index, len, message);
                }
            }
            None => {
                let entry = self
                    .fields
                    .entry(path.to_string())
                    .or_insert_with(|| FieldError::Elements(vec![None; len.max(index + 1)]));
                if let FieldError::Elements(list) = entry {
                    if list.len() <= index {
                        list.resize(index + 1, None);
                    }
                    list[index].get_or_insert_with(|| message.into());
                }
            }
        }
    }

    /// The errors nested under field `head` (created when absent); `None`
    /// when `head` already has a message of its own, which wins.
    fn nested(&mut self, head: &str) -> Option<&mut FieldErrors> {
        match self
            .fields
            .entry(head.to_string())
            .or_insert_with(|| FieldError::Nested(FieldErrors::new()))
        {
            FieldError::Nested(inner) => Some(inner),
            _ => None,
        }
    }

    /// Records a check that involves several fields.
    pub fn entity(&mut self, message: impl Into<String>) {
        let entry = self
            .fields
            .entry(ENTITY.to_string())
            .or_insert_with(|| FieldError::Messages(Vec::new()));
        if let FieldError::Messages(list) = entry {
            list.push(message.into());
        }
    }

    /// Records a reference that names no existing entity.
    pub fn foreign_key(&mut self, path: &str, message: impl Into<String>) {
        self.foreign_key = true;
        self.field(path, message);
    }

    /// Whether a reference failed to resolve (see [`FieldErrors::foreign_key`]).
    pub fn is_foreign_key_violation(&self) -> bool {
        self.foreign_key
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The message for `path` (dotted), if any; for tests and callers that
    /// want one field.
    pub fn get(&self, path: &str) -> Option<&FieldError> {
        match path.split_once('.') {
            Some((head, rest)) => match self.fields.get(head)? {
                FieldError::Nested(inner) => inner.get(rest),
                _ => None,
            },
            None => self.fields.get(path),
        }
    }

    /// `Ok(())` when empty, else `Err(self)`.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }

    /// Every error as `(dotted path, message)`, in field order; `@entity`
    /// messages have an empty path.
    pub fn flatten(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        self.flatten_into("", &mut out);
        out
    }

    fn flatten_into(&self, prefix: &str, out: &mut Vec<(String, String)>) {
        for (key, error) in &self.fields {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match error {
                FieldError::Message(m) => out.push((path, m.clone())),
                FieldError::Messages(list) if key == ENTITY => {
                    out.extend(list.iter().map(|m| (String::new(), m.clone())))
                }
                FieldError::Messages(list) => {
                    out.extend(list.iter().map(|m| (path.clone(), m.clone())))
                }
                FieldError::Nested(inner) => inner.flatten_into(&path, out),
                // Kong numbers elements from 1 in its summary line.
                FieldError::Elements(list) => out.extend(
                    list.iter()
                        .enumerate()
                        .filter_map(|(i, m)| Some((format!("{path}.{}", i + 1), m.clone()?))),
                ),
            }
        }
    }

    /// Kong's summary line: `schema violation (name: required field
    /// missing)`, or `2 schema violations (a: …; b: …)`.
    pub fn message(&self) -> String {
        let parts: Vec<String> = self
            .flatten()
            .into_iter()
            .map(|(path, m)| {
                if path.is_empty() {
                    m
                } else {
                    format!("{path}: {m}")
                }
            })
            .collect();
        let kind = if self.foreign_key {
            "foreign key violation"
        } else {
            "schema violation"
        };
        match parts.len() {
            1 => format!("{kind} ({})", parts[0]),
            n => format!("{n} {kind}s ({})", parts.join("; ")),
        }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for FieldErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_fields_and_entity_checks_serialize_like_kong() {
        let mut e = FieldErrors::new();
        e.field("config.pkce", "expected one of: none, lax, strict");
        e.field("name", "required field missing");
        e.field("name", "second message is dropped");
        e.entity("at least one of these fields must be non-empty: 'custom_id', 'username'");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "@entity": ["at least one of these fields must be non-empty: 'custom_id', 'username'"],
                "config": {"pkce": "expected one of: none, lax, strict"},
                "name": "required field missing",
            })
        );
        assert_eq!(
            e.message(),
            "3 schema violations (at least one of these fields must be non-empty: \
             'custom_id', 'username'; config.pkce: expected one of: none, lax, strict; \
             name: required field missing)"
        );
        let mut one = FieldErrors::new();
        one.field("port", "value should be between 0 and 65535");
        assert_eq!(
            one.message(),
            "schema violation (port: value should be between 0 and 65535)"
        );
        assert!(one.get("port").is_some() && !one.is_foreign_key_violation());
    }

    #[test]
    fn array_fields_report_per_element_like_kong() {
        let mut e = FieldErrors::new();
        e.element(
            "redirect_uris",
            1,
            2,
            "fragment not allowed in 'http://a/#x'",
        );
        e.element("redirect_uris", 1, 2, "second message is dropped");
        e.element("config.scopes", 0, 1, "expected a string");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({
                "config": {"scopes": ["expected a string"]},
                "redirect_uris": [null, "fragment not allowed in 'http://a/#x'"],
            })
        );
        assert_eq!(
            e.message(),
            "2 schema violations (config.scopes.1: expected a string; \
             redirect_uris.2: fragment not allowed in 'http://a/#x')"
        );
    }
}
