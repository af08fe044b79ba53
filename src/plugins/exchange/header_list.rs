//! The few headers plugins ask the proxy to set, kept in order in a short
//! list rather than a `HeaderMap`: a map hashes each name once to store it
//! and the proxy hashes it again to apply it, where a request carries a
//! handful of these at most and comparing names is cheaper than hashing
//! them (a `HeaderMap` also allocates its index on the first insert).

use http::{HeaderMap, HeaderName, HeaderValue};

/// Where a header can be set, replacing its values: the response's own
/// headers, or the list of those the proxy adds to it later.
pub trait SetHeader {
    /// Sets `name` to `value` alone.
    fn set_header(&mut self, name: HeaderName, value: HeaderValue);
}

impl SetHeader for HeaderMap {
    fn set_header(&mut self, name: HeaderName, value: HeaderValue) {
        self.insert(name, value);
    }
}

impl SetHeader for HeaderList {
    fn set_header(&mut self, name: HeaderName, value: HeaderValue) {
        self.insert(name, value);
    }
}

/// Headers in the order they were set, several values per name allowed.
/// Each entry also says whether it is its name's first in the list, so
/// applying the list never searches it.
/// No `Debug`: the values may be tokens (openid-connect's upstream
/// access-token header).
#[derive(Default)]
pub struct HeaderList(Vec<Entry>);

struct Entry {
    name: HeaderName,
    value: HeaderValue,
    first: bool,
}

/// Room made on the first push: the most one request's plugins usually set.
const TYPICAL: usize = 8;

// === impl HeaderList ===

impl HeaderList {
    /// An empty list (allocates nothing).
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// How many fields the list sets (at most the fields it adds to a
    /// map: some may replace fields already there).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the list sets nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sets `name` to `value` alone, replacing any values it had.
    pub fn insert(&mut self, name: HeaderName, value: HeaderValue) {
        if self.contains_key(&name) {
            self.remove(&name);
        }
        self.push(name, value, true);
    }

    /// Adds a value to `name`, keeping the ones it had.
    pub fn append(&mut self, name: HeaderName, value: HeaderValue) {
        let first = !self.contains_key(&name);
        self.push(name, value, first);
    }

    fn push(&mut self, name: HeaderName, value: HeaderValue, first: bool) {
        if self.0.capacity() == 0 {
            self.0.reserve_exact(TYPICAL);
        }
        self.0.push(Entry { name, value, first });
    }

    /// Removes every value of `name`; whether it had any. (A removal takes
    /// all of a name's values, so the first of each name left is still
    /// marked first.)
    pub fn remove(&mut self, name: &HeaderName) -> bool {
        let before = self.0.len();
        self.0.retain(|e| e.name != name);
        self.0.len() != before
    }

    /// Keeps only the headers whose name `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&HeaderName) -> bool) {
        self.0.retain(|e| keep(&e.name));
    }

    /// The first value of `name`.
    pub fn get(&self, name: &HeaderName) -> Option<&HeaderValue> {
        self.0.iter().find(|e| e.name == name).map(|e| &e.value)
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a HeaderValue> {
        self.0
            .iter()
            .filter(move |e| e.name == name)
            .map(|e| &e.value)
    }

    /// Whether `name` has a value.
    pub fn contains_key(&self, name: &HeaderName) -> bool {
        self.get(name).is_some()
    }

    /// The names, once each for every value.
    pub fn keys(&self) -> impl Iterator<Item = &HeaderName> {
        self.0.iter().map(|e| &e.name)
    }

    /// Puts the list into `headers`: a name's values replace what `headers`
    /// had under it, except names `keep` says add to what is there (a
    /// session cookie must not erase the upstream's `Set-Cookie`).
    pub fn apply(self, headers: &mut HeaderMap, keep: impl Fn(&HeaderName) -> bool) {
        for Entry { name, value, first } in self.0 {
            if first && !keep(&name) {
                headers.insert(name, value);
            } else {
                headers.append(name, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::SET_COOKIE;

    fn name(s: &'static str) -> HeaderName {
        HeaderName::from_static(s)
    }

    fn value(s: &'static str) -> HeaderValue {
        HeaderValue::from_static(s)
    }

    #[test]
    fn insert_replaces_every_value_append_keeps_them() {
        let mut list = HeaderList::new();
        list.append(name("x-a"), value("1"));
        list.append(name("x-a"), value("2"));
        list.insert(name("x-b"), value("3"));
        assert_eq!(list.get_all(&name("x-a")).collect::<Vec<_>>(), ["1", "2"]);
        list.insert(name("x-a"), value("4"));
        assert_eq!(list.get_all(&name("x-a")).collect::<Vec<_>>(), ["4"]);
        assert_eq!(list.keys().count(), 2);
        assert!(list.remove(&name("x-b")));
        assert!(!list.remove(&name("x-b")));
        assert!(!list.contains_key(&name("x-b")));
        assert_eq!(list.get(&name("x-a")).unwrap(), "4");
    }

    #[test]
    fn apply_replaces_the_targets_values_except_kept_names() {
        let mut headers = HeaderMap::new();
        headers.append("x-a", value("old1"));
        headers.append("x-a", value("old2"));
        headers.append(SET_COOKIE, value("upstream=1"));
        headers.insert("x-other", value("kept"));
        let mut list = HeaderList::new();
        list.append(name("x-a"), value("new1"));
        list.append(SET_COOKIE, value("session=2"));
        list.append(name("x-a"), value("new2"));
        list.apply(&mut headers, |n| n == SET_COOKIE);
        assert_eq!(
            headers.get_all("x-a").iter().collect::<Vec<_>>(),
            ["new1", "new2"]
        );
        assert_eq!(
            headers.get_all(SET_COOKIE).iter().collect::<Vec<_>>(),
            ["upstream=1", "session=2"]
        );
        assert_eq!(headers["x-other"], "kept");
    }
}
