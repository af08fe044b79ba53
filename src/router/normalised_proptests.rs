//! Properties of the canonical path: it is a fixed point, it carries no
//! dot segment, empty segment or needless escape, every spelling of a path
//! comes back to it, and so the route a request gets depends on the
//! canonical path only.

use crate::model::Table;
use crate::model::normalise::normalise;
use crate::router::fixtures::{RouteFixture, get, route, table, winner};
use proptest::prelude::*;

/// Pieces that make hostile paths: separators, dots in every spelling,
/// escapes good and bad, parameters, loose and non-ASCII characters.
const PIECES: &[&str] = &[
    "/", "//", ".", "..", "%2e", "%2E", "%2f", "%2F", "%5c", "%6D", "%6d", "%63", "mock", "ock",
    "m", "a", "b", "x.y", "%", "%z", "%4", "%00", ";", ";x=1", "é", "%C3%A9", "%c3%a9", "%C0%AE",
    "{", "|", "\\", " ", "~", "%7E", "%25", "%3F",
];

/// Segments of canonical paths, for spelling them differently.
const SEGMENTS: &[&str] = &[
    "mock", "a", "b", "x.y", "~u", "a%2Fb", "%C3%A9", "..b", ".c", "v1;p=2", "%25", "%7B",
];

/// Routes that care about exactly the paths `SEGMENTS` make, plus `/`.
fn routes() -> Table {
    table(vec![
        route("mock").prefix("/mock"),
        route("a-b").exact("/a/b"),
        route("x-y").regex("/x\\.y/[a-z~]+"),
        route("utf8").plain("/%C3%A9"),
        route("dots").prefix("/..b/.c"),
        route("slash").plain("/a%2Fb"),
        route("root").plain("/"),
    ])
}

fn hostile_path() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..12)
        .prop_map(|pieces| format!("/{}", pieces.concat()))
}

/// A canonical path and random choices for respelling it.
fn canonical_and_choices() -> impl Strategy<Value = (String, Vec<u8>)> {
    (
        prop::collection::vec(prop::sample::select(SEGMENTS), 0..5),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 1..64),
    )
        .prop_map(|(segments, slash, choices)| {
            let mut path = format!("/{}", segments.join("/"));
            if slash && !segments.is_empty() {
                path.push('/');
            }
            (path, choices)
        })
}

/// Another spelling of the canonical `path`: unreserved characters
/// percent-encoded in either case, escapes in lower case, `./`, `x/../` and
/// extra slashes inserted before segments, `.` and `..` themselves encoded.
fn respell(path: &str, choices: &[u8]) -> String {
    let mut next = choices.iter().cycle().copied();
    let mut choice = move || next.next().unwrap_or(0);
    let mut out = String::new();
    let bytes = path.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'/' {
            out.push('/');
            match choice() % 6 {
                0 => out.push('/'),
                1 => out.push_str("./"),
                2 => out.push_str("%2e/"),
                3 => out.push_str("zz/../"),
                4 => out.push_str("q/%2E%2e/"),
                _ => {}
            }
        } else if b == b'%' {
            // An escape that must stay: only its case may change.
            let escape = &path[i..i + 3];
            if choice() % 2 == 0 {
                out.push_str(&escape.to_ascii_lowercase());
            } else {
                out.push_str(escape);
            }
            i += 3;
            continue;
        } else if (b.is_ascii_alphanumeric() || b"-._~".contains(&b)) && choice() % 3 == 0 {
            let escape = format!("%{b:02X}");
            if choice() % 2 == 0 {
                out.push_str(&escape.to_ascii_lowercase());
            } else {
                out.push_str(&escape);
            }
        } else {
            out.push(char::from(b));
        }
        i += 1;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn normalising_twice_changes_nothing(path in hostile_path()) {
        if let Ok(once) = normalise(&path) {
            let twice = normalise(&once).map(|p| p.into_owned());
            prop_assert_eq!(twice.as_deref(), Ok(&*once), "{:?}", path);
        }
    }

    #[test]
    fn canonical_paths_have_one_spelling(path in hostile_path()) {
        if let Ok(n) = normalise(&path) {
            prop_assert!(n.starts_with('/'));
            prop_assert!(!n.contains("//"), "{:?} -> {:?}", path, n);
            for segment in n.split('/') {
                prop_assert!(segment != "." && segment != "..", "{:?} -> {:?}", path, n);
            }
            let bytes = n.as_bytes();
            for (i, &b) in bytes.iter().enumerate() {
                prop_assert!(b.is_ascii_graphic(), "{:?} -> {:?}", path, n);
                if b == b'%' {
                    let escape = &n[i + 1..i + 3];
                    prop_assert_eq!(escape, escape.to_ascii_uppercase());
                    let value = u8::from_str_radix(escape, 16).unwrap_or(0);
                    prop_assert!(
                        !(value.is_ascii_alphanumeric() || b"-._~".contains(&value)),
                        "{:?} -> {:?}", path, n
                    );
                }
            }
        }
    }

    #[test]
    fn the_route_depends_on_the_canonical_path_only(path in hostile_path()) {
        let t = routes();
        if let Ok(n) = normalise(&path) {
            let again = normalise(&n).map(|p| p.into_owned()).unwrap_or_default();
            prop_assert_eq!(winner(&t, &get("", &n)), winner(&t, &get("", &again)));
        }
    }

    #[test]
    fn every_spelling_comes_back_to_the_canonical_path(
        (path, choices) in canonical_and_choices(),
    ) {
        let t = routes();
        let spelled = respell(&path, &choices);
        let n = normalise(&spelled).map(|p| p.into_owned());
        prop_assert_eq!(n.as_deref(), Ok(path.as_str()), "{:?}", spelled);
        prop_assert_eq!(
            winner(&t, &get("", n.as_deref().unwrap_or_default())),
            winner(&t, &get("", &path))
        );
    }
}
