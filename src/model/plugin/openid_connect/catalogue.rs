//! The field catalogue: every field of Kong's `openid-connect` schema with
//! its type, Kong's default and what kingress does with it. It is the one
//! source of truth for which fields parse, for the rule that a value whose
//! behaviour kingress lacks fails closed (naming field and value), for the
//! printed defaults and for the README's field table.
//!
//! Statuses:
//! - [`Status::Implemented`]: behaves as in Kong; the typed parser reads it.
//! - [`Status::Inert`]: any well-typed value is accepted and has no effect,
//!   for a stated reason (it is read only by a method kingress does not run,
//!   or it tunes nothing that decides what is accepted).
//! - [`Status::AcceptedAtDefault`]: Kong's default is what kingress does;
//!   any other value is refused.
//! - [`Status::RefusedWhenSet`]: the feature the field turns on is missing;
//!   any value other than the default (unset) is refused.

mod rows;
#[cfg(test)]
mod tests;

use super::read::field;
use crate::model::plugin::ConfigError;
use crate::model::plugin::schema::MASK;
use serde_json::{Map, Value};

/// What kingress does with a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Behaves as in Kong.
    Implemented,
    /// Accepted with any value, without effect (reason).
    Inert(&'static str),
    /// Only Kong's default is accepted (why other values are not).
    AcceptedAtDefault(&'static str),
    /// Refused unless unset or at its default (why).
    RefusedWhenSet(&'static str),
}

/// A field's type in Kong's schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `string`.
    Str,
    /// `number` (fractions allowed).
    Number,
    /// `integer`.
    Integer,
    /// `boolean`.
    Bool,
    /// Array of strings.
    Strings,
    /// A string from a fixed list.
    OneOf(&'static [&'static str]),
    /// Array of strings from a fixed list.
    SetOf(&'static [&'static str]),
    /// A record (object).
    Record,
    /// Array of records.
    Records,
    /// Array of claim paths (arrays of strings).
    Paths,
}

const STR: Kind = Kind::Str;
const NUMBER: Kind = Kind::Number;
const INTEGER: Kind = Kind::Integer;
const BOOL: Kind = Kind::Bool;
const STRINGS: Kind = Kind::Strings;
const RECORD: Kind = Kind::Record;
const RECORDS: Kind = Kind::Records;
const PATHS: Kind = Kind::Paths;

const fn one_of(values: &'static [&'static str]) -> Kind {
    Kind::OneOf(values)
}

const fn set_of(values: &'static [&'static str]) -> Kind {
    Kind::SetOf(values)
}

/// One field of Kong's schema.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    /// Kong's name.
    pub name: &'static str,
    /// Kong's type.
    pub kind: Kind,
    /// Kong's default (newest schema), as JSON text.
    pub default: &'static str,
    /// What kingress does with it.
    pub status: Status,
    /// The first Kong version with the field, when after 3.4.
    pub since: Option<&'static str>,
    /// The last Kong version with the field, when before 3.15.
    pub until: Option<&'static str>,
    /// Printed masked (a secret, or a record holding one).
    pub secret: bool,
    /// The default kingress applies when it differs from Kong's.
    pub kingress_default: Option<&'static str>,
}

const fn f(name: &'static str, kind: Kind, default: &'static str, status: Status) -> Field {
    Field {
        name,
        kind,
        default,
        status,
        since: None,
        until: None,
        secret: false,
        kingress_default: None,
    }
}

// === impl Field ===

impl Field {
    const fn since(mut self, version: &'static str) -> Self {
        self.since = Some(version);
        self
    }

    const fn until(mut self, version: &'static str) -> Self {
        self.until = Some(version);
        self
    }

    const fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    const fn kingress_default(mut self, default: &'static str) -> Self {
        self.kingress_default = Some(default);
        self
    }

    /// Kong's default as JSON.
    pub fn kong_default(&self) -> Value {
        serde_json::from_str(self.default).unwrap_or(Value::Null)
    }

    /// The default kingress applies (and prints).
    pub fn effective_default(&self) -> Value {
        serde_json::from_str(self.kingress_default.unwrap_or(self.default)).unwrap_or(Value::Null)
    }
}

/// Every field of Kong's schema, sorted by name.
pub fn fields() -> &'static [Field] {
    rows::FIELDS
}

/// The field called `name`.
pub fn find(name: &str) -> Option<&'static Field> {
    rows::FIELDS
        .binary_search_by(|f| f.name.cmp(name))
        .ok()
        .map(|i| &rows::FIELDS[i])
}

/// Checks every given field: known, of Kong's type, and (by its status)
/// at its default when kingress lacks what another value would ask for.
pub fn check(config: &Map<String, Value>) -> Result<(), ConfigError> {
    for (name, value) in config {
        let Some(spec) = find(name) else {
            return Err(field(name, "unknown field"));
        };
        if value.is_null() {
            continue;
        }
        check_kind(name, spec.kind, value)?;
        let why = match spec.status {
            Status::Implemented | Status::Inert(_) => continue,
            Status::AcceptedAtDefault(why) | Status::RefusedWhenSet(why) => why,
        };
        if !is_default(value, &spec.kong_default()) {
            let shown = if spec.secret {
                "a value other than the default".to_string()
            } else {
                format!("'{}'", short(value))
            };
            return Err(field(
                name,
                format!("{shown} is not supported by kingress: {why}"),
            ));
        }
    }
    Ok(())
}

/// The printed defaults: every field at the default kingress applies.
pub fn defaults() -> Map<String, Value> {
    rows::FIELDS
        .iter()
        .map(|f| (f.name.to_string(), f.effective_default()))
        .collect()
}

/// A configuration as the Admin API prints it: every field, given values
/// over the defaults, secrets masked. Fields of older Kong versions are
/// printed only when given.
pub fn render(given: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for f in rows::FIELDS {
        let value = match given_value(given, f) {
            Some(v) => v.clone(),
            None if f.until.is_some() => continue,
            None => f.effective_default(),
        };
        out.insert(
            f.name.to_string(),
            if f.secret { masked(value) } else { value },
        );
    }
    Value::Object(out)
}

/// The field's given value; `null` means "the default" except where it
/// means something of its own ([`KEEP_NULL`]).
fn given_value<'a>(given: &'a Map<String, Value>, f: &Field) -> Option<&'a Value> {
    given
        .get(f.name)
        .filter(|v| !v.is_null() || KEEP_NULL.contains(&f.name))
}

/// Fields where an explicit `null` is a value: `upstream_access_token_header:
/// null` turns the header off.
pub const KEEP_NULL: &[&str] = &["upstream_access_token_header"];

/// A secret's printed form: `null` stays, strings become [`MASK`], records
/// keep their shape with every string masked except the key facts a JWK
/// publishes (`kty`, `kid`, `alg`, `use`, `crv`).
fn masked(value: Value) -> Value {
    const PUBLIC: [&str; 5] = ["kty", "kid", "alg", "use", "crv"];
    match value {
        Value::String(_) => Value::String(MASK.into()),
        Value::Array(items) => Value::Array(items.into_iter().map(masked).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(_) if PUBLIC.contains(&k.as_str()) => v,
                        Value::String(_) if is_secret_member(&k) => Value::String(MASK.into()),
                        Value::Object(_) | Value::Array(_) => masked(v),
                        other => other,
                    };
                    (k, v)
                })
                .collect(),
        ),
        other => other,
    }
}

/// Members of a record field that hold secrets: JWK private parts and
/// passwords or keys of Redis records.
fn is_secret_member(key: &str) -> bool {
    const JWK_PRIVATE: [&str; 9] = ["d", "p", "q", "dp", "dq", "qi", "k", "oth", "r"];
    JWK_PRIVATE.contains(&key)
        || key.contains("password")
        || key.contains("secret")
        || key.ends_with("_json")
        || key == "t"
}

/// Kong's type check for one field, with Kong's messages.
fn check_kind(name: &str, kind: Kind, value: &Value) -> Result<(), ConfigError> {
    let expected = |what: &str| Err(field(name, format!("expected {what}")));
    match (kind, value) {
        (Kind::Str, Value::String(_)) | (Kind::Bool, Value::Bool(_)) => Ok(()),
        (Kind::Number, Value::Number(_)) => Ok(()),
        (Kind::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(()),
        (Kind::Str, _) => expected("a string"),
        (Kind::Bool, _) => expected("a boolean"),
        (Kind::Number, _) => expected("a number"),
        (Kind::Integer, _) => expected("an integer"),
        (Kind::OneOf(values), Value::String(s)) if values.contains(&s.as_str()) => Ok(()),
        (Kind::OneOf(values), _) => expected(&format!("one of: {}", values.join(", "))),
        (Kind::Record, Value::Object(_)) => Ok(()),
        (Kind::Record, _) => expected("a record"),
        // One string stands for a one-element array (form input, and
        // configurations that write `client_id: kong`).
        (Kind::Strings, Value::String(_)) => Ok(()),
        (Kind::SetOf(values), Value::String(s)) => one_value(name, name, values, s),
        // One JWK stands for a one-key array, as kingress read it before.
        (Kind::Records, Value::Object(_)) => Ok(()),
        (Kind::Strings | Kind::SetOf(_) | Kind::Records | Kind::Paths, Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                check_element(name, i, kind, item)?;
            }
            Ok(())
        }
        (Kind::Strings | Kind::SetOf(_) | Kind::Records | Kind::Paths, _) => expected("an array"),
    }
}

fn check_element(name: &str, i: usize, kind: Kind, item: &Value) -> Result<(), ConfigError> {
    let at = super::fields::element(name, i);
    match (kind, item) {
        (Kind::Strings, Value::String(_)) => Ok(()),
        (Kind::SetOf(values), Value::String(s)) => one_value(name, &at, values, s),
        (Kind::Records, Value::Object(_)) => Ok(()),
        (Kind::Paths, Value::Array(path)) if path.iter().all(Value::is_string) => Ok(()),
        (Kind::Records, _) => Err(field(&at, "expected a record")),
        (Kind::Paths, _) => Err(field(&at, "expected an array of strings")),
        _ => Err(field(&at, "expected a string")),
    }
}

fn one_value(name: &str, at: &str, values: &[&str], s: &str) -> Result<(), ConfigError> {
    let _ = name;
    if values.contains(&s) {
        return Ok(());
    }
    Err(field(at, format!("expected one of: {}", values.join(", "))))
}

/// Whether two given configurations print the same: each field compared
/// at its effective default when left out or `null`.
pub(super) fn same_given(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    let value = |map: &Map<String, Value>, f: &Field| given_value(map, f).cloned();
    a.keys().chain(b.keys()).all(|k| match find(k) {
        Some(f) => {
            let default = f.effective_default();
            let left = value(a, f).unwrap_or_else(|| default.clone());
            let right = value(b, f).unwrap_or(default);
            left == right
        }
        None => a.get(k) == b.get(k),
    })
}

/// Whether `value` asks for nothing beyond `default`: equal, with `null`
/// and empty arrays meaning unset, arrays compared as sets (Kong's sets;
/// one string standing for a one-element array), and records compared
/// member by member (a member left out or `null` is at its default).
pub(super) fn is_default(value: &Value, default: &Value) -> bool {
    match (value, default) {
        (Value::Null, _) => true,
        (Value::Array(items), Value::Null) => items.is_empty(),
        (Value::Object(map), Value::Null) => map.values().all(Value::is_null),
        (Value::String(s), Value::Array(d)) => d.len() == 1 && d[0].as_str() == Some(s),
        (Value::Array(items), Value::Array(d)) => {
            items.iter().all(|i| d.contains(i)) && d.iter().all(|i| items.contains(i))
        }
        (Value::Object(map), Value::Object(d)) => map
            .iter()
            .all(|(k, v)| is_default(v, d.get(k).unwrap_or(&Value::Null))),
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

/// A value shortened for a message.
fn short(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match text.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// The README's section between its `oidc-fields` markers: a heading, what
/// the statuses mean, and [`markdown_table`].
pub fn readme_section() -> String {
    let names = |methods: &[super::AuthMethod]| {
        methods
            .iter()
            .map(|m| format!("`{}`", m.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let implemented = names(super::IMPLEMENTED_METHODS);
    let default = names(super::DEFAULT_METHODS);
    format!(
        "## openid-connect fields\n\n\
         Every field of Kong's openid-connect schema (3.4 to 3.15) loads, so a \
         `deck dump` of a Kong plugin (every field at its default) loads unchanged. \
         Each field is *implemented* (as Kong), *accepted, no effect* (any \
         well-typed value; the reason is given), *accepted at default* or \
         *refused when set* (any other value fails closed with a problem naming \
         the field and the value). Kingress runs the methods {}. An absent \
         `auth_methods`, or Kong's default (all nine), means {}: the browser login \
         and the grants are opt-in, so that API clients get 401, not a 302 to the \
         identity provider. An explicit list naming another method is refused. \
         Generated from \
         `src/model/plugin/openid_connect/catalogue/rows.rs` (`tests/readme_oidc.rs` \
         checks it; `KINGRESS_BLESS=1` rewrites it).\n\n{}",
        implemented,
        default,
        markdown_table()
    )
}

/// The README's field table, one row per field.
pub fn markdown_table() -> String {
    let mut out = String::from("| field | Kong default | kingress |\n| --- | --- | --- |\n");
    for f in rows::FIELDS {
        let versions = match (f.since, f.until) {
            (Some(s), Some(u)) => format!(" (Kong {s}–{u})"),
            (Some(s), None) => format!(" (Kong {s}+)"),
            (None, Some(u)) => format!(" (Kong ≤ {u})"),
            (None, None) => String::new(),
        };
        let default = match f.kong_default() {
            Value::Null => "–".to_string(),
            Value::Object(_) => "record".to_string(),
            v => format!("`{v}`"),
        };
        let status = match f.status {
            Status::Implemented => "implemented".to_string(),
            Status::Inert(why) => format!("accepted, no effect: {why}"),
            Status::AcceptedAtDefault(why) => format!("accepted at default: {why}"),
            Status::RefusedWhenSet(why) => format!("refused when set: {why}"),
        };
        let kingress_default = f
            .kingress_default
            .map(|d| format!(" (kingress default `{d}`)"))
            .unwrap_or_default();
        out.push_str(&format!(
            "| `{}`{versions} | {default} | {status}{kingress_default} |\n",
            f.name
        ));
    }
    out
}
