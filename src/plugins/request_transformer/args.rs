//! Query strings and form bodies as Kong's Lua tables of arguments
//! (`ngx.decode_args`, `kong.service.request.set_query`): a name holds one
//! value, several, or is a bare flag (`?debug`), and writing them back
//! sorts the `name=value` groups as Kong's `make_ordered_args` does.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, utf8_percent_encode};
use std::collections::BTreeMap;

/// What `ngx.escape_uri` leaves alone in an argument: RFC 3986 unreserved.
const ARG: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Arguments by name; each value `None` for a bare flag.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Args(BTreeMap<String, Vec<Option<String>>>);

// === impl Args ===

impl Args {
    /// `ngx.decode_args`: `&`-separated, `+` is a space, percent-decoded,
    /// a repeated name collects its values.
    pub(super) fn decode(raw: &[u8]) -> Self {
        let mut args = Self::default();
        for pair in raw.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(at) => (&pair[..at], Some(&pair[at + 1..])),
                None => (pair, None),
            };
            let name = unescape(name);
            if name.is_empty() {
                continue;
            }
            args.0.entry(name).or_default().push(value.map(unescape));
        }
        args
    }

    /// Whether no argument is set.
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The values of `name`, if set.
    pub(super) fn get(&self, name: &str) -> Option<&[Option<String>]> {
        self.0.get(name).map(Vec::as_slice)
    }

    /// Every argument.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&String, &Vec<Option<String>>)> {
        self.0.iter()
    }

    /// Whether `name` is set.
    pub(super) fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Removes `name`.
    pub(super) fn remove(&mut self, name: &str) {
        self.0.remove(name);
    }

    /// Moves the values of `old` to `new` (replacing what `new` had);
    /// whether `old` was set.
    pub(super) fn rename(&mut self, old: &str, new: &str) -> bool {
        if old == new {
            return false;
        }
        match self.0.remove(old) {
            Some(values) => {
                self.0.insert(new.to_string(), values);
                true
            }
            None => false,
        }
    }

    /// Sets `name` to the one value `value`.
    pub(super) fn set(&mut self, name: &str, value: String) {
        self.0.insert(name.to_string(), vec![Some(value)]);
    }

    /// Kong's `append_value`: a string becomes a list of it and `value`, a
    /// list grows, and anything else (absent, a bare flag) becomes `value`.
    pub(super) fn append(&mut self, name: &str, value: Option<String>) {
        let values = self.0.entry(name.to_string()).or_default();
        if matches!(values.as_slice(), [None]) {
            values.clear();
        }
        values.push(value);
    }

    /// The arguments as Kong's `set_query` writes them.
    pub(super) fn encode(&self) -> String {
        let mut groups: Vec<String> = self
            .0
            .iter()
            .map(|(name, values)| {
                let name = utf8_percent_encode(name, ARG).to_string();
                values
                    .iter()
                    .map(|v| match v {
                        Some(v) => format!("{name}={}", utf8_percent_encode(v, ARG)),
                        None => name.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join("&")
            })
            .collect();
        groups.sort();
        groups.join("&")
    }
}

fn unescape(raw: &[u8]) -> String {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    String::from_utf8_lossy(&percent_decode(&spaced).collect::<Vec<u8>>()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_and_encode_as_kong() {
        let a = Args::decode(b"q1=v1&flag&q1=v+2&e=&x%5B1%5D=%2F&&=skip");
        assert_eq!(
            a.get("q1").unwrap(),
            [Some("v1".to_string()), Some("v 2".to_string())]
        );
        assert_eq!(a.get("flag").unwrap(), [None]);
        assert_eq!(a.get("e").unwrap(), [Some(String::new())]);
        assert_eq!(a.get("x[1]").unwrap(), [Some("/".to_string())]);
        assert_eq!(
            a.encode(),
            "e=&flag&q1=v1&q1=v%202&x%5B1%5D=%2F",
            "groups sorted, RFC 3986 unreserved kept"
        );
    }

    #[test]
    fn operations_follow_kong_tables() {
        let mut a = Args::decode(b"a=1&f");
        assert!(a.rename("a", "b"));
        assert!(!a.rename("zz", "b"));
        assert!(!a.rename("b", "b"));
        a.append("b", Some("2".into()));
        a.append("f", Some("x".into()));
        a.append("n", Some("y".into()));
        assert_eq!(a.encode(), "b=1&b=2&f=x&n=y");
        a.set("b", "3".into());
        a.remove("n");
        assert_eq!(a.encode(), "b=3&f=x");
    }
}
