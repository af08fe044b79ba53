//! Client headers that never reach a plugin or the upstream: names with
//! `_` (nginx's `underscores_in_headers off`, which Kong inherits, unless
//! `--underscores-in-headers`) and every spelling of an identity header
//! (`plugins::consumer::is_identity`), whatever the flag says.

use crate::plugins::HeaderList;
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

/// Applies what the plugins asked for to the upstream request's headers:
/// the `removed` ones go, and each header in `set` replaces the request's
/// own, all its values kept. With `--underscores-in-headers` a header a
/// plugin owns must not reach the upstream a second time as `x_user` beside
/// `x-user`, so every spelling goes; without it the client's `_` names were
/// screened out before any plugin ran and there is nothing to look for.
pub(super) fn apply_plugin_headers(
    headers: &mut HeaderMap,
    removed: &[HeaderName],
    set: HeaderList,
    underscores_allowed: bool,
) {
    for name in removed {
        headers.remove(name);
    }
    let owned = || removed.iter().chain(set.keys());
    if underscores_allowed
        && owned().next().is_some()
        && headers.keys().any(|k| k.as_str().contains('_'))
    {
        let spelled: Vec<HeaderName> = headers
            .keys()
            .filter(|k| k.as_str().contains('_'))
            .filter(|k| owned().any(|n| same_header(k.as_str(), n.as_str())))
            .cloned()
            .collect();
        for name in spelled {
            headers.remove(name);
        }
    }
    set.apply(headers, |_| false);
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
        let mut set = HeaderList::new();
        set.insert(
            HeaderName::from_static("x-user"),
            HeaderValue::from_static("v"),
        );
        apply_plugin_headers(&mut h, &removed, set, true);
        assert_eq!(names(&h), ["x-user", "x_other", "x_username"]);
    }

    #[test]
    fn a_set_header_replaces_the_request_own_with_all_its_values() {
        let mut h = map(&["x-user", "x-keep"]);
        h.append("x-user", HeaderValue::from_static("client-2"));
        let mut set = HeaderList::new();
        let name = HeaderName::from_static;
        set.append(name("x-user"), HeaderValue::from_static("a"));
        set.append(name("x-user"), HeaderValue::from_static("b"));
        set.insert(name("x-new"), HeaderValue::from_static("n"));
        apply_plugin_headers(&mut h, &[], set, false);
        let users: Vec<_> = h.get_all("x-user").iter().collect();
        assert_eq!(users, ["a", "b"]);
        assert_eq!(h["x-new"], "n");
        assert_eq!(h["x-keep"], "v");
    }
}
