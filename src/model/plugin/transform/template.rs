//! Kong's request-transformer value templates (penlight's `$(expr)` with the
//! `#` escape disabled), limited to what needs no Lua: plain lookups in
//! `headers`, `query_params` and `uri_captures`, quoted string literals, and
//! `a or b` fallbacks of those. Anything else (`10 * x`, function calls,
//! `shared`, assignments) is refused when the configuration is read, instead
//! of failing every request as Kong's sandbox does.

use std::borrow::Cow;

/// A parsed template: text with `$(…)` expressions in it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    /// `a or b or …`: the first term that is set.
    Expr(Vec<Term>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Term {
    Literal(String),
    Lookup(Source, Key),
}

/// The tables a template may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The client's request headers (`headers.x_name` reads `x-name`).
    Headers,
    /// The client's query arguments.
    QueryParams,
    /// The captures of the route's regex path (`[0]` is the whole match).
    UriCaptures,
}

/// How a table is indexed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    /// `t.name` or `t["name"]`.
    Name(String),
    /// `t[1]`.
    Index(usize),
}

/// What a lookup found, as the template sees it.
#[derive(Debug)]
pub enum Found<'a> {
    /// Nothing (Lua's `nil`): the next `or` term, else empty text.
    Unset,
    /// A string.
    Text(Cow<'a, str>),
    /// A value Lua cannot concatenate (a repeated header, a query argument
    /// without `=`): rendering fails, as in Kong (a 500).
    NotText,
}

/// Where a template reads its lookups.
pub trait Env {
    /// The value of `source[key]`.
    fn lookup(&self, source: Source, key: &Key) -> Found<'_>;
}

/// Rendering failed: a lookup found a value that is not text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("template value of {0} is not a string")]
pub struct RenderError(pub String);

// === impl Template ===

impl Template {
    /// Parses `text`; the error says what is not supported.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut rest = text;
        let mut literal = String::new();
        while let Some(at) = rest.find("$(") {
            // penlight matches balanced parentheses (`%b()`), quotes or not.
            let Some(len) = balanced(&rest[at + 1..]) else {
                break;
            };
            literal.push_str(&rest[..at]);
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            let inner = &rest[at + 2..at + 1 + len];
            pieces.push(Piece::Expr(expression(inner)?));
            rest = &rest[at + 1 + len + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Self { pieces })
    }

    /// Whether the template has no expression (renders as its text).
    pub fn is_plain(&self) -> bool {
        self.pieces.iter().all(|p| matches!(p, Piece::Text(_)))
    }

    /// Whether any expression reads `source`.
    pub fn reads(&self, source: Source) -> bool {
        self.pieces.iter().any(|p| match p {
            Piece::Expr(terms) => terms
                .iter()
                .any(|t| matches!(t, Term::Lookup(s, _) if *s == source)),
            Piece::Text(_) => false,
        })
    }

    /// The text with every expression replaced by its value (`nil` as
    /// empty text, penlight's `(expr or '')`).
    pub fn render(&self, env: &dyn Env) -> Result<String, RenderError> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Expr(terms) => {
                    for term in terms {
                        match term {
                            Term::Literal(s) => {
                                out.push_str(s);
                                break;
                            }
                            Term::Lookup(source, key) => match env.lookup(*source, key) {
                                Found::Unset => continue,
                                Found::Text(t) => {
                                    out.push_str(&t);
                                    break;
                                }
                                Found::NotText => {
                                    return Err(RenderError(describe(*source, key)));
                                }
                            },
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

/// The length of the balanced `( … )` group `s` starts with, up to and
/// including its closing parenthesis' index.
fn balanced(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn describe(source: Source, key: &Key) -> String {
    let table = match source {
        Source::Headers => "headers",
        Source::QueryParams => "query_params",
        Source::UriCaptures => "uri_captures",
    };
    match key {
        Key::Name(n) => format!("{table}[\"{n}\"]"),
        Key::Index(i) => format!("{table}[{i}]"),
    }
}

const UNSUPPORTED: &str = "only lookups in headers, query_params and uri_captures, \
    quoted strings and 'or' are supported (no Lua)";

/// `term (or term)*`.
fn expression(text: &str) -> Result<Vec<Term>, String> {
    let mut terms = Vec::new();
    let mut rest = text.trim();
    loop {
        let (term, after) = term(rest).ok_or_else(|| format!("'{text}': {UNSUPPORTED}"))?;
        terms.push(term);
        let after = after.trim_start();
        if after.is_empty() {
            return Ok(terms);
        }
        rest = after
            .strip_prefix("or")
            .filter(|r| r.starts_with(char::is_whitespace))
            .ok_or_else(|| format!("'{text}': {UNSUPPORTED}"))?
            .trim_start();
    }
}

/// One term at the start of `s` and what follows it.
fn term(s: &str) -> Option<(Term, &str)> {
    if let Some((lit, rest)) = quoted(s) {
        return Some((Term::Literal(lit), rest));
    }
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    let source = match &s[..end] {
        "headers" => Source::Headers,
        "query_params" => Source::QueryParams,
        "uri_captures" => Source::UriCaptures,
        _ => return None,
    };
    let rest = s[end..].trim_start();
    if let Some(after) = rest.strip_prefix('.') {
        let after = after.trim_start();
        let name_end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..name_end];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        return Some((
            Term::Lookup(source, Key::Name(name.to_string())),
            &after[name_end..],
        ));
    }
    let inner = rest.strip_prefix('[')?.trim_start();
    let (key, after) = if let Some((name, after)) = quoted(inner) {
        (Key::Name(name), after)
    } else {
        let digits = inner
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(inner.len());
        let n = inner[..digits].parse().ok()?;
        (Key::Index(n), &inner[digits..])
    };
    let after = after.trim_start().strip_prefix(']')?;
    Some((Term::Lookup(source, key), after))
}

/// A Lua string literal in single or double quotes at the start of `s`
/// (the escapes `\\`, `\'`, `\"`), and what follows it.
fn quoted(s: &str) -> Option<(String, &str)> {
    let quote = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                (_, e @ ('\\' | '\'' | '"')) => out.push(e),
                _ => return None,
            },
            c if c == quote => return Some((out, &s[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Map(HashMap<(u8, String), Option<&'static str>>);

    impl Env for Map {
        fn lookup(&self, source: Source, key: &Key) -> Found<'_> {
            let k = match key {
                Key::Name(n) => n.clone(),
                Key::Index(i) => i.to_string(),
            };
            match self.0.get(&(source as u8, k)) {
                Some(Some(v)) => Found::Text(Cow::Borrowed(v)),
                Some(None) => Found::NotText,
                None => Found::Unset,
            }
        }
    }

    fn env() -> Map {
        let mut m = HashMap::new();
        m.insert((Source::UriCaptures as u8, "user1".into()), Some("foo"));
        m.insert((Source::UriCaptures as u8, "0".into()), Some("/u/foo"));
        m.insert((Source::Headers as u8, "x-remove-header".into()), Some("h"));
        m.insert((Source::QueryParams as u8, "q1".into()), Some("20"));
        m.insert((Source::QueryParams as u8, "many".into()), None);
        Map(m)
    }

    fn render(t: &str) -> Result<String, RenderError> {
        Template::parse(t).unwrap().render(&env())
    }

    // spec/03-plugins/36-request-transformer/01-schema_spec.lua and the
    // "request rewrite using template" cases of 02-access_spec.lua.
    #[test]
    fn kong_lookups_render() {
        assert_eq!(render("$(uri_captures.user1)").unwrap(), "foo");
        assert_eq!(render("/r$(uri_captures[0])").unwrap(), "/r/u/foo");
        assert_eq!(render("$(uri_captures[\"user1\"])x").unwrap(), "foox");
        assert_eq!(render("$(headers['x-remove-header'])").unwrap(), "h");
        assert_eq!(render("$(query_params.q1)").unwrap(), "20");
        assert_eq!(render("$(uri_captures.user2)").unwrap(), "");
        assert_eq!(
            render("$(uri_captures.user2 or 'default2')").unwrap(),
            "default2"
        );
        assert_eq!(
            render("$('$(uri_captures.user1)')").unwrap(),
            "$(uri_captures.user1)"
        );
        assert_eq!(
            render("#value_with_hash $ (x)").unwrap(),
            "#value_with_hash $ (x)"
        );
        assert_eq!(render("a$(b").unwrap(), "a$(b");
        assert!(Template::parse("plain").unwrap().is_plain());
        assert!(
            Template::parse("$(headers.a)")
                .unwrap()
                .reads(Source::Headers)
        );
        assert!(
            !Template::parse("$(headers.a)")
                .unwrap()
                .reads(Source::UriCaptures)
        );
    }

    #[test]
    fn a_value_that_is_not_text_fails_rendering() {
        assert_eq!(
            render("$(query_params.many)").unwrap_err(),
            RenderError("query_params[\"many\"]".into())
        );
    }

    #[test]
    fn lua_beyond_lookups_is_refused() {
        for t in [
            "$(uri_captures user2)",
            "$(10 * uri_captures.user1)",
            "$(ERROR())",
            "$(shared.my_version)",
            "$(shared.written = true)",
            "$(type(headers[\"X-Foo\"]) == \"table\")",
            "$(headers.)",
            "$(headers[x])",
            "$(os.exit())",
            "$(headers.a or)",
        ] {
            let e = Template::parse(t).unwrap_err();
            assert!(e.contains("no Lua"), "{t}: {e}");
        }
    }
}
