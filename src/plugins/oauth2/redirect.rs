//! Redirect URIs returned by `/oauth2/authorize`: Kong's parameters merged
//! into the registered URI's query (or, for the implicit grant, fragment),
//! keys sorted, encoded like LuaSocket's `url.escape` (everything but
//! `[A-Za-z0-9_]` as `%xx` with lower-case hex).

use std::collections::BTreeMap;
use std::fmt::Write;

/// `registered` with `params` merged into its query (`fragment` false) or
/// fragment (`fragment` true); `params` win over existing values.
pub(super) fn build(registered: &str, params: &[(&str, String)], fragment: bool) -> String {
    let (rest, old_fragment) = match registered.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (registered, None),
    };
    let (base, old_query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let existing = if fragment { old_fragment } else { old_query };
    let mut merged: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
    for pair in existing
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = match pair.split_once('=') {
            Some((k, v)) => (decode(k), Some(decode(v))),
            None => (decode(pair), None),
        };
        merged.entry(k).or_default().push(v);
    }
    for (k, v) in params {
        merged.insert(k.to_string(), vec![Some(v.clone())]);
    }
    let encoded = encode(&merged);
    let mut out = base.to_string();
    if fragment {
        if let Some(q) = old_query {
            out.push('?');
            out.push_str(q);
        }
        out.push('#');
        out.push_str(&encoded);
    } else {
        out.push('?');
        out.push_str(&encoded);
        if let Some(f) = old_fragment {
            out.push('#');
            out.push_str(f);
        }
    }
    out
}

fn encode(args: &BTreeMap<String, Vec<Option<String>>>) -> String {
    let mut parts = Vec::new();
    for (k, values) in args {
        for v in values {
            parts.push(match v {
                Some(v) => format!("{}={}", escape(k), escape(v)),
                None => escape(k),
            });
        }
    }
    parts.join("&")
}

/// LuaSocket `url.escape`.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02x}");
        }
    }
    out
}

/// `ngx.decode_args` value decoding (`+` is a space).
fn decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_redirects_merge_into_the_query_sorted() {
        let uri = build(
            "https://app.example/cb?z=1&a=b%20c",
            &[("code", "abc".into()), ("state", "x,y \"z\"".into())],
            false,
        );
        assert_eq!(
            uri,
            "https://app.example/cb?a=b%20c&code=abc&state=x%2cy%20%22z%22&z=1"
        );
    }

    #[test]
    fn errors_and_state() {
        let uri = build(
            "http://cb.example/",
            &[
                ("error", "invalid_scope".into()),
                ("error_description", "\"x\" is an invalid scope".into()),
                ("state", "s-1".into()),
            ],
            false,
        );
        assert_eq!(
            uri,
            "http://cb.example/?error=invalid_scope&error_description=%22x%22%20is%20an%20invalid%20scope&state=s%2d1"
        );
    }

    #[test]
    fn implicit_goes_into_the_fragment() {
        let uri = build(
            "https://app.example/cb?keep=1#old=2",
            &[
                ("access_token", "t".into()),
                ("token_type", "bearer".into()),
            ],
            true,
        );
        assert_eq!(
            uri,
            "https://app.example/cb?keep=1#access_token=t&old=2&token_type=bearer"
        );
    }

    #[test]
    fn kong_params_override_and_repeats_survive() {
        let uri = build(
            "https://a/?code=old&r=1&r=2&flag",
            &[("code", "new".into())],
            false,
        );
        assert_eq!(uri, "https://a/?code=new&flag&r=1&r=2");
    }
}
