//! Client headers that never reach a plugin or the upstream: names with
//! `_` (nginx's `underscores_in_headers off`, which Kong inherits, unless
//! `--underscores-in-headers`) and every spelling of an identity header
//! (`plugins::consumer::is_identity`), whatever the flag says.

use crate::plugins::consumer::{is_identity, same_header};
use http::{HeaderMap, HeaderName};

/// Removes the headers a client may not send, before routing and plugins.
pub(super) fn screen(headers: &mut HeaderMap, underscores_allowed: bool) {
    let refused = |name: &HeaderName| {
        (!underscores_allowed && name.as_str().contains('_')) || is_identity(name.as_str())
    };
    // Most requests carry none: look before collecting.
    if !headers.keys().any(refused) {
        return;
    }
    let names: Vec<HeaderName> = headers.keys().filter(|n| refused(n)).cloned().collect();
    for name in names {
        headers.remove(name);
    }
}

/// Removes the headers plugins cleared (`removed`) or set (`set`) in every
/// spelling: a header a plugin owns must not reach the upstream a second
/// time as `x_user` beside `x-user` (possible only with
/// `--underscores-in-headers`).
pub(super) fn remove_every_spelling(
    headers: &mut HeaderMap,
    removed: &[HeaderName],
    set: &HeaderMap,
) {
    let names = || removed.iter().chain(set.keys());
    for name in names() {
        headers.remove(name);
    }
    if !headers.keys().any(|k| k.as_str().contains('_')) {
        return;
    }
    let spelled: Vec<HeaderName> = headers
        .keys()
        .filter(|k| k.as_str().contains('_'))
        .filter(|k| names().any(|n| same_header(k.as_str(), n.as_str())))
        .cloned()
        .collect();
    for name in spelled {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn map(names: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for n in names {
            h.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_static("v"),
            );
        }
        h
    }

    fn names(h: &HeaderMap) -> Vec<&str> {
        let mut v: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        v.sort();
        v
    }

    #[test]
    fn underscores_and_identities_are_dropped() {
        let sent = [
            "accept",
            "my_header",
            "X_Consumer_Username",
            "x-consumer-id",
            "x-authenticated_scope",
            "x-access-token",
        ];
        let mut h = map(&sent);
        screen(&mut h, false);
        assert_eq!(names(&h), ["accept", "x-access-token"]);
        let mut h = map(&sent);
        screen(&mut h, true);
        assert_eq!(names(&h), ["accept", "my_header", "x-access-token"]);
    }

    #[test]
    fn every_spelling_of_a_set_header_goes() {
        let mut h = map(&[
            "x_user",
            "x-user",
            "X_USER",
            "x_username",
            "x_other",
            "x_gone",
        ]);
        let removed = [HeaderName::from_static("x-gone")];
        remove_every_spelling(&mut h, &removed, &map(&["x-user"]));
        assert_eq!(names(&h), ["x_other", "x_username"]);
    }
}
