//! `request-transformer`: every field of Kong's schema
//! (`kong/plugins/request-transformer/schema.lua`) with its defaults and
//! messages; priority 801.
//!
//! Values may be Kong templates (`$(uri_captures.user1)`); they are parsed
//! here, once, and anything beyond plain lookups is refused (see
//! [`template`]). Kong checks body and query templates when the plugin is
//! configured and header and uri templates on each request (a 500); both
//! are checked here, so a configuration that would fail every request is a
//! problem instead.

use super::ConfigError;
use super::schema::{self, Schema};
use super::transform::template::{self, Template};
use super::transform::{check_colon, check_each, check_header, header_value_ok, split};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[cfg(test)]
mod tests;

/// The request-transformer plugin's configuration.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestTransformerConfig {
    /// The method the upstream request uses (upper-case letters).
    pub http_method: Option<String>,
    /// Names to remove.
    pub remove: Lists,
    /// `old:new` names to rename.
    pub rename: Lists,
    /// `name:value` to replace where present, and the upstream path.
    pub replace: ReplaceLists,
    /// `name:value` to add where absent.
    pub add: Lists,
    /// `name:value` to append.
    pub append: Lists,
    /// The entries parsed (not printed).
    #[serde(skip)]
    pub ops: Compiled,
}

/// One operation's entries for each part of the request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Lists {
    /// Body parameters (form, JSON or multipart bodies).
    pub body: Vec<String>,
    /// Headers.
    pub headers: Vec<String>,
    /// Query arguments.
    pub querystring: Vec<String>,
}

/// [`Lists`] plus `uri`, the `replace` record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReplaceLists {
    /// Body parameters.
    pub body: Vec<String>,
    /// Headers.
    pub headers: Vec<String>,
    /// Query arguments.
    pub querystring: Vec<String>,
    /// The whole upstream path (a template).
    pub uri: Option<String>,
}

/// The entries of every operation, parsed, in Kong's order of operations
/// (remove, rename, replace, add, append).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Compiled {
    /// `remove`.
    pub remove: Ops,
    /// `rename` (the value is the new name).
    pub rename: Ops,
    /// `replace`.
    pub replace: Ops,
    /// `add`.
    pub add: Ops,
    /// `append`.
    pub append: Ops,
    /// `replace.uri`.
    pub uri: Option<Template>,
}

/// One operation's parsed entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ops {
    /// Body parameters.
    pub body: Vec<Op>,
    /// Headers (names lower-cased; Kong's names are case-insensitive).
    pub headers: Vec<Op>,
    /// Query arguments.
    pub querystring: Vec<Op>,
}

/// One `name:value` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op {
    /// The name.
    pub name: String,
    /// The value; `None` when empty (Kong then skips the entry's value).
    pub value: Option<Template>,
}

impl Schema for RequestTransformerConfig {
    const NAME: &'static str = "request-transformer";
    const PRIORITY: u32 = 801;
    const CONSUMER_SCOPED: bool = true;

    fn parse(config: &Value) -> Result<Self, ConfigError> {
        let mut parsed: Self = schema::read(config)?;
        parsed.validate()?;
        parsed.ops = parsed.compile()?;
        Ok(parsed)
    }

    fn defaults() -> Map<String, Value> {
        schema::defaults_of::<Self>()
    }

    fn render(&self) -> Value {
        schema::render_of(self)
    }
}

// === impl RequestTransformerConfig ===

impl RequestTransformerConfig {
    /// Kong's element checks, field by field in schema order.
    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(m) = &self.http_method
            && (m.is_empty() || !m.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(ConfigError::field(
                "config.http_method",
                format!("invalid value: {m}"),
            ));
        }
        let header = |e: &str| check_header(e, false);
        let colon_header = |e: &str| check_colon(e).and_then(|()| check_header(e, false));
        let rename_header = |e: &str| check_colon(e).and_then(|()| check_header(e, true));
        check_each("config.remove.headers", &self.remove.headers, header)?;
        check_each("config.rename.body", &self.rename.body, has_value)?;
        check_each("config.rename.headers", &self.rename.headers, rename_header)?;
        check_each(
            "config.rename.querystring",
            &self.rename.querystring,
            has_value,
        )?;
        check_each("config.replace.body", &self.replace.body, has_value)?;
        check_each(
            "config.replace.headers",
            &self.replace.headers,
            colon_header,
        )?;
        check_each(
            "config.replace.querystring",
            &self.replace.querystring,
            has_value,
        )?;
        for (name, lists) in [("add", &self.add), ("append", &self.append)] {
            check_each(&format!("config.{name}.body"), &lists.body, has_value)?;
            check_each(
                &format!("config.{name}.headers"),
                &lists.headers,
                colon_header,
            )?;
            check_each(
                &format!("config.{name}.querystring"),
                &lists.querystring,
                has_value,
            )?;
        }
        Ok(())
    }

    /// Parses every entry and template; header values that are plain text
    /// must be header values (no CR/LF).
    fn compile(&self) -> Result<Compiled, ConfigError> {
        let ops = |op: &str, body: &[String], headers: &[String], query: &[String]| {
            Ok::<_, ConfigError>(Ops {
                body: entries(&format!("config.{op}.body"), body, false)?,
                headers: entries(&format!("config.{op}.headers"), headers, true)?,
                querystring: entries(&format!("config.{op}.querystring"), query, false)?,
            })
        };
        let uri = match &self.replace.uri {
            Some(uri) => {
                let t = Template::parse(uri)
                    .map_err(|e| ConfigError::field("config.replace.uri", unsupported(uri, &e)))?;
                if t.is_plain() && !uri.starts_with('/') {
                    return Err(ConfigError::field(
                        "config.replace.uri",
                        "path must start with /",
                    ));
                }
                Some(t)
            }
            None => None,
        };
        let (rm, rn, rp) = (&self.remove, &self.rename, &self.replace);
        Ok(Compiled {
            remove: ops("remove", &rm.body, &rm.headers, &rm.querystring)?,
            rename: ops("rename", &rn.body, &rn.headers, &rn.querystring)?,
            replace: ops("replace", &rp.body, &rp.headers, &rp.querystring)?,
            add: ops(
                "add",
                &self.add.body,
                &self.add.headers,
                &self.add.querystring,
            )?,
            append: ops(
                "append",
                &self.append.body,
                &self.append.headers,
                &self.append.querystring,
            )?,
            uri,
        })
    }

    /// Whether any entry edits the body.
    pub fn edits_body(&self) -> bool {
        let o = &self.ops;
        [&o.remove, &o.rename, &o.replace, &o.add, &o.append]
            .iter()
            .any(|ops| !ops.body.is_empty())
    }

    /// Whether any entry edits the query string.
    pub fn edits_query(&self) -> bool {
        let o = &self.ops;
        [&o.remove, &o.rename, &o.replace, &o.add, &o.append]
            .iter()
            .any(|ops| !ops.querystring.is_empty())
    }
}

/// Kong's `check_for_value`: a body or query entry needs a value, and the
/// value must be a template Kong can compile (here: one without Lua).
fn has_value(entry: &str) -> Result<(), String> {
    match split(entry) {
        Some((_, value)) if !value.is_empty() => Template::parse(value)
            .map(drop)
            .map_err(|e| unsupported(value, &e)),
        Some((name, _)) => Err(format!("key '{name}' has no value")),
        None => Err(format!("key '{entry}' has no value")),
    }
}

fn unsupported(value: &str, error: &str) -> String {
    format!("value '{value}' is not in supported format, error:{error}")
}

/// Parses the entries at `path`.
fn entries(path: &str, items: &[String], headers: bool) -> Result<Vec<Op>, ConfigError> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = || format!("{path}.{}", i + 1);
        let (name, value) = split(item).unwrap_or((item, ""));
        let value = match value {
            "" => None,
            v => {
                let t =
                    Template::parse(v).map_err(|e| ConfigError::field(at(), unsupported(v, &e)))?;
                if headers && t.is_plain() && !header_value_ok(v) {
                    return Err(ConfigError::field(
                        at(),
                        format!("'{v}' is not a valid header value"),
                    ));
                }
                Some(t)
            }
        };
        let name = if headers {
            name.to_ascii_lowercase()
        } else {
            name.to_string()
        };
        out.push(Op { name, value });
    }
    Ok(out)
}

/// Template reading for the phases.
pub use template::{Env, Found, Key, Source};
