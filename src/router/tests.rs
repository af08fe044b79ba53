//! One test per precedence rule and per matching rule (see the module docs of
//! `router.rs` for the rules themselves).

use super::fixtures::{RouteFixture, get, lookup, route, table, winner as w};
use super::{RouteMatch, Router};

// === conditions ===

#[test]
fn no_routes_no_match() {
    assert_eq!(lookup(&table(vec![]), &get("a.test", "/")), None);
}

#[test]
fn host_conditions() {
    let t = table(vec![
        route("exact").host("a.test").prefix("/"),
        route("leading").host("*.b.test").prefix("/"),
        route("trailing").host("c.*").prefix("/"),
    ]);
    assert_eq!(w(&t, &get("a.test", "/")).as_deref(), Some("exact"));
    assert_eq!(w(&t, &get("x.b.test", "/")).as_deref(), Some("leading"));
    assert_eq!(w(&t, &get("x.y.b.test", "/")).as_deref(), Some("leading"));
    // A wildcard stands for at least one label.
    assert_eq!(w(&t, &get("b.test", "/")), None);
    assert_eq!(w(&t, &get("c.io", "/")).as_deref(), Some("trailing"));
    assert_eq!(w(&t, &get("c.", "/")), None);
    assert_eq!(w(&t, &get("other.test", "/")), None);
    assert_eq!(w(&t, &get("", "/")), None);
}

#[test]
fn wildcard_not_at_a_dot_matches_like_the_model() {
    let t = table(vec![route("odd").host("*b.test").prefix("/")]);
    assert_eq!(w(&t, &get("xb.test", "/")).as_deref(), Some("odd"));
    assert_eq!(w(&t, &get("a.b.test", "/")).as_deref(), Some("odd"));
    assert_eq!(w(&t, &get("b.test", "/")), None);
}

#[test]
fn prefix_is_element_wise() {
    for pattern in ["/foo", "/foo/"] {
        let t = table(vec![route("r").prefix(pattern)]);
        for path in ["/foo", "/foo/", "/foo/bar", "/foo/bar/"] {
            assert!(lookup(&t, &get("h", path)).is_some(), "{pattern} {path}");
        }
        for path in ["/foobar", "/fo", "/", "/bar/foo"] {
            assert_eq!(lookup(&t, &get("h", path)), None, "{pattern} {path}");
        }
    }
}

#[test]
fn prefix_root_matches_every_path() {
    let t = table(vec![route("r").prefix("/")]);
    for path in ["/", "/a", "/a/b/", "//"] {
        assert_eq!(w(&t, &get("h", path)).as_deref(), Some("r"), "{path}");
    }
}

#[test]
fn plain_is_a_string_prefix() {
    let t = table(vec![route("r").plain("/foo")]);
    assert!(lookup(&t, &get("h", "/foobar")).is_some());
    assert!(lookup(&t, &get("h", "/foo")).is_some());
    assert_eq!(lookup(&t, &get("h", "/fo")), None);
}

#[test]
fn exact_is_equality() {
    let t = table(vec![route("r").exact("/foo")]);
    assert!(lookup(&t, &get("h", "/foo")).is_some());
    assert_eq!(lookup(&t, &get("h", "/foo/")), None);
    assert_eq!(lookup(&t, &get("h", "/foobar")), None);
}

#[test]
fn regex_must_match_at_the_start() {
    let t = table(vec![route("r").regex(r"/v\d+/users")]);
    assert!(lookup(&t, &get("h", "/v2/users/7")).is_some());
    assert_eq!(lookup(&t, &get("h", "/api/v2/users")), None);
    // An alternation is anchored as a whole, not just its first branch.
    let t = table(vec![route("r").regex("/a|/b")]);
    assert!(lookup(&t, &get("h", "/b")).is_some());
    assert_eq!(lookup(&t, &get("h", "/x/b")), None);
}

#[test]
fn method_must_be_listed() {
    let t = table(vec![route("r").prefix("/").methods(&["GET", "POST"])]);
    assert!(lookup(&t, &get("h", "/").method("POST")).is_some());
    assert_eq!(lookup(&t, &get("h", "/").method("DELETE")), None);
    // With the preferred route ruled out by method, the next one answers.
    let t = table(vec![
        route("get-only").host("h").exact("/x").methods(&["GET"]),
        route("any").host("h").prefix("/"),
    ]);
    assert_eq!(w(&t, &get("h", "/x")).as_deref(), Some("get-only"));
    assert_eq!(w(&t, &get("h", "/x").method("PUT")).as_deref(), Some("any"));
}

#[test]
fn route_without_paths_matches_any_path_below_routes_with_paths() {
    let t = table(vec![
        route("hostonly").host("h"),
        route("root").host("h").plain("/"),
    ]);
    assert_eq!(w(&t, &get("h", "/a")).as_deref(), Some("root"));
    let t = table(vec![route("hostonly").host("h")]);
    assert_eq!(
        lookup(&t, &get("h", "/a")),
        Some(RouteMatch {
            route: 0,
            strip_len: 0,
            path: 0,
            https_required: false
        })
    );
}

// === precedence ===

#[test]
fn more_condition_kinds_win() {
    let t = table(vec![
        route("none").prefix("/api"),
        route("methods").prefix("/").methods(&["GET"]),
        route("host").host("*.test").prefix("/"),
        route("host+methods")
            .host("*.test")
            .prefix("/")
            .methods(&["GET"]),
    ]);
    assert_eq!(
        w(&t, &get("a.test", "/api")).as_deref(),
        Some("host+methods")
    );
    // Each rule down the list takes over when the ones above cannot match.
    assert_eq!(
        w(&t, &get("a.test", "/api").method("PUT")).as_deref(),
        Some("host")
    );
    assert_eq!(w(&t, &get("other", "/api")).as_deref(), Some("methods"));
    assert_eq!(
        w(&t, &get("other", "/api").method("PUT")).as_deref(),
        Some("none")
    );
}

#[test]
fn condition_kinds_outrank_host_and_path_specificity() {
    let t = table(vec![
        route("exact-host-long-path")
            .host("a.test")
            .exact("/api/v1/users"),
        route("wildcard-root-get")
            .host("*.test")
            .prefix("/")
            .methods(&["GET"]),
    ]);
    assert_eq!(
        w(&t, &get("a.test", "/api/v1/users")).as_deref(),
        Some("wildcard-root-get")
    );
}

#[test]
fn exact_host_beats_wildcard_beats_none() {
    let t = table(vec![
        route("none").prefix("/"),
        route("wildcard").host("*.test").prefix("/"),
        route("exact").host("a.test").prefix("/"),
    ]);
    assert_eq!(w(&t, &get("a.test", "/")).as_deref(), Some("exact"));
    assert_eq!(w(&t, &get("b.test", "/")).as_deref(), Some("wildcard"));
    assert_eq!(w(&t, &get("b.io", "/")).as_deref(), Some("none"));
}

#[test]
fn host_rank_beats_path_length() {
    let t = table(vec![
        route("wildcard-long").host("*.test").prefix("/a/b/c"),
        route("exact-root").host("a.test").prefix("/"),
    ]);
    assert_eq!(
        w(&t, &get("a.test", "/a/b/c")).as_deref(),
        Some("exact-root")
    );
}

#[test]
fn longer_wildcard_wins_then_leading_over_trailing() {
    let t = table(vec![
        route("short").host("*.test").prefix("/"),
        route("long").host("*.api.test").prefix("/"),
    ]);
    assert_eq!(w(&t, &get("x.api.test", "/")).as_deref(), Some("long"));
    assert_eq!(w(&t, &get("x.web.test", "/")).as_deref(), Some("short"));
    // ".cd.ef" and "ab.cd." are both six bytes.
    let t = table(vec![
        route("trailing").host("ab.cd.*").prefix("/"),
        route("leading").host("*.cd.ef").prefix("/"),
    ]);
    assert_eq!(w(&t, &get("ab.cd.ef", "/")).as_deref(), Some("leading"));
}

#[test]
fn host_rank_comes_from_the_host_that_matched() {
    let t = table(vec![
        route("mixed").host("*.test").host("a.io").prefix("/"),
        route("exact").host("b.test").prefix("/"),
    ]);
    assert_eq!(w(&t, &get("b.test", "/")).as_deref(), Some("exact"));
    assert_eq!(w(&t, &get("a.io", "/")).as_deref(), Some("mixed"));
}

#[test]
fn exact_path_beats_prefix_of_the_same_length() {
    let t = table(vec![
        route("prefix").prefix("/foo"),
        route("plain").plain("/foo"),
        route("exact").exact("/foo"),
    ]);
    assert_eq!(w(&t, &get("h", "/foo")).as_deref(), Some("exact"));
    assert_eq!(w(&t, &get("h", "/foo/x")).as_deref(), Some("prefix"));
}

#[test]
fn exact_path_beats_regex_of_any_priority() {
    let t = table(vec![
        route("regex").regex("/.*").priority(100),
        route("exact").exact("/healthz"),
    ]);
    assert_eq!(w(&t, &get("h", "/healthz")).as_deref(), Some("exact"));
    assert_eq!(w(&t, &get("h", "/other")).as_deref(), Some("regex"));
}

#[test]
fn regex_beats_any_prefix() {
    let t = table(vec![
        route("long-prefix").prefix("/api/v1/users"),
        route("regex").regex("/api/.*"),
    ]);
    assert_eq!(
        w(&t, &get("h", "/api/v1/users/1")).as_deref(),
        Some("regex")
    );
}

#[test]
fn regex_priority_then_longer_source() {
    let t = table(vec![
        route("low").regex("/a/.*").priority(1),
        route("high").regex("/a.*").priority(5),
        route("longer-low").regex("/a/b.*").priority(1),
    ]);
    assert_eq!(w(&t, &get("h", "/a/b/c")).as_deref(), Some("high"));
    let t = table(vec![
        route("short").regex("/a/.*"),
        route("long").regex("/a/b.*"),
    ]);
    assert_eq!(w(&t, &get("h", "/a/b/c")).as_deref(), Some("long"));
    assert_eq!(w(&t, &get("h", "/a/c")).as_deref(), Some("short"));
}

#[test]
fn longer_prefix_wins() {
    let t = table(vec![
        route("root").prefix("/"),
        route("api").prefix("/api"),
        route("v1").plain("/api/v1"),
    ]);
    assert_eq!(w(&t, &get("h", "/api/v1/x")).as_deref(), Some("v1"));
    assert_eq!(w(&t, &get("h", "/api/v2")).as_deref(), Some("api"));
    assert_eq!(w(&t, &get("h", "/web")).as_deref(), Some("root"));
}

#[test]
fn prefix_counts_its_slash_and_beats_plain_of_the_same_length() {
    // Prefix "/foo" is measured as "/foo/": longer than Plain "/foo", as
    // long as Plain "/foo/", shorter than Plain "/foo/b".
    let t = table(vec![
        route("plain4").plain("/foo"),
        route("plain5").plain("/foo/"),
        route("prefix").prefix("/foo"),
    ]);
    assert_eq!(w(&t, &get("h", "/foo/x")).as_deref(), Some("prefix"));
    assert_eq!(w(&t, &get("h", "/foo")).as_deref(), Some("prefix"));
    let t = table(vec![
        route("prefix").prefix("/foo"),
        route("plain6").plain("/foo/b"),
    ]);
    assert_eq!(w(&t, &get("h", "/foo/bar")).as_deref(), Some("plain6"));
}

#[test]
fn ties_go_to_the_first_declared_route_then_path() {
    let t = table(vec![
        route("first").host("h").prefix("/a"),
        route("second").host("h").prefix("/a"),
    ]);
    assert_eq!(w(&t, &get("h", "/a/b")).as_deref(), Some("first"));
    let t = table(vec![
        route("second").host("h").prefix("/a"),
        route("first").host("h").prefix("/a"),
    ]);
    assert_eq!(w(&t, &get("h", "/a/b")).as_deref(), Some("second"));
    // Within one route, regexes of equal rank: the first path decides the
    // strip length.
    let strip = |t| lookup(&t, &get("h", "/a/bc")).map(|m| m.strip_len);
    assert_eq!(
        strip(table(vec![route("r").regex("/a/b").regex("/a.*")])),
        Some(4)
    );
    assert_eq!(
        strip(table(vec![route("r").regex("/a.*").regex("/a/b")])),
        Some(5)
    );
}

// === strip length and https ===

#[test]
fn strip_len_per_path_kind() {
    let strip = |r: crate::model::Route, path: &str| {
        lookup(&table(vec![r]), &get("h", path)).map(|m| m.strip_len)
    };
    assert_eq!(strip(route("r").prefix("/foo/"), "/foo/bar"), Some(4));
    assert_eq!(strip(route("r").prefix("/foo"), "/foo"), Some(4));
    assert_eq!(strip(route("r").prefix("/"), "/foo"), Some(0));
    assert_eq!(strip(route("r").plain("/foo/"), "/foo/bar"), Some(5));
    assert_eq!(strip(route("r").exact("/foo"), "/foo"), Some(4));
    assert_eq!(strip(route("r").regex(r"/v\d+"), "/v12/x"), Some(4));
}

#[test]
fn https_only_route_matches_plain_http_but_flags_it() {
    let t = table(vec![route("r").prefix("/").protocols(&["https"])]);
    let flag = |req| lookup(&t, &req).map(|m| m.https_required);
    assert_eq!(flag(get("h", "/")), Some(true));
    assert_eq!(flag(get("h", "/").https()), Some(false));
    for protocols in [&[][..], &["http", "https"], &["http"]] {
        let t = table(vec![route("r").prefix("/").protocols(protocols)]);
        assert_eq!(
            lookup(&t, &get("h", "/")).map(|m| m.https_required),
            Some(false)
        );
        assert_eq!(
            lookup(&t, &get("h", "/").https()).map(|m| m.https_required),
            Some(false)
        );
    }
}

#[test]
fn https_flag_does_not_change_which_route_wins() {
    let t = table(vec![
        route("any").prefix("/"),
        route("secure").prefix("/admin").protocols(&["https"]),
    ]);
    let m = lookup(&t, &get("h", "/admin")).expect("a route matches");
    assert_eq!((m.route, m.https_required), (1, true));
}

// === robustness ===

#[test]
fn path_probe_inside_a_utf8_sequence_does_not_panic() {
    // "/é" is 3 bytes; a 2-byte key would end inside "é".
    let t = table(vec![route("r").plain("/a"), route("root").prefix("/")]);
    assert_eq!(w(&t, &get("h", "/é")).as_deref(), Some("root"));
}

#[test]
fn router_for_another_table_never_panics() {
    let big = table(
        (0..5)
            .map(|i| route(&format!("r{i}")).prefix("/"))
            .collect(),
    );
    let small = table(vec![]);
    let router = Router::new(&big);
    let req = get("h", "/");
    assert_eq!(super::find(&small, &router, &req.info()), None);
}

#[test]
fn router_debug_is_a_summary_and_router_is_shareable() {
    fn shareable<T: Send + Sync + std::fmt::Debug>() {}
    shareable::<Router>();
    let t = table(vec![
        route("a")
            .host("a.test")
            .host("*.b.test")
            .prefix("/")
            .exact("/x"),
        route("b").regex("/secret-looking-path"),
    ]);
    let debug = format!("{:?}", Router::new(&t));
    assert_eq!(
        debug,
        "Router { exact_hosts: 1, wildcard_hosts: 1, entries: 5 }"
    );
}

#[test]
fn many_nested_regex_literals_still_go_in_precedence_order() {
    // Literals "/a", "/a/a", ... all start the path below: more candidate
    // lists than the merge takes, so the lookup scans in order instead.
    let routes: Vec<_> = (1..=10)
        .map(|n| {
            let literal = "/a".repeat(n);
            route(&format!("r{n}"))
                .regex(&format!("{literal}.*"))
                .priority(n as i64 % 3)
        })
        .collect();
    let t = table(routes);
    let req = get("h", &"/a".repeat(12));
    // Priority 2 goes to n = 2, 5, 8; the longest source among them is n = 8.
    assert_eq!(w(&t, &req).as_deref(), Some("r8"));
    let t = table(t.routes[..6].iter().map(|r| (**r).clone()).collect());
    assert_eq!(w(&t, &req).as_deref(), Some("r5"));
}

#[test]
fn header_conditions_must_all_hold() {
    let t = table(vec![
        route("canary")
            .prefix("/")
            .header("x-env", &["canary", "beta"])
            .header("x-team", &["a"]),
        route("plain").prefix("/"),
    ]);
    let both = get("h", "/x").header("x-env", "Beta").header("x-team", "a");
    assert_eq!(w(&t, &both).as_deref(), Some("canary"));
    // One header short, or a value not listed: the route does not match.
    let short = get("h", "/x").header("x-env", "canary");
    assert_eq!(w(&t, &short).as_deref(), Some("plain"));
    let other = get("h", "/x").header("x-env", "prod").header("x-team", "a");
    assert_eq!(w(&t, &other).as_deref(), Some("plain"));
    // Without a fallback route nothing matches.
    let alone = table(vec![
        route("canary").prefix("/").header("x-env", &["canary"]),
    ]);
    assert_eq!(w(&alone, &get("h", "/x")), None);
}

#[test]
fn header_routes_beat_longer_paths_and_more_headers_win() {
    let t = table(vec![
        route("long").prefix("/api/v1"),
        route("one").prefix("/").header("x-a", &["1"]),
        route("two")
            .prefix("/")
            .header("x-a", &["1"])
            .header("x-b", &["2"]),
    ]);
    let req = get("h", "/api/v1/x").header("x-a", "1");
    assert_eq!(w(&t, &req).as_deref(), Some("one"));
    let req = req.header("x-b", "2");
    assert_eq!(w(&t, &req).as_deref(), Some("two"));
    assert_eq!(w(&t, &get("h", "/api/v1/x")).as_deref(), Some("long"));
}

#[test]
fn snis_hold_tls_requests_only() {
    let t = table(vec![
        route("sni").prefix("/").snis(&["a.example"]),
        route("any").prefix("/"),
    ]);
    assert_eq!(
        w(&t, &get("h", "/").tls("a.example")).as_deref(),
        Some("sni")
    );
    assert_eq!(
        w(&t, &get("h", "/").tls("b.example")).as_deref(),
        Some("any")
    );
    assert_eq!(w(&t, &get("h", "/").tls("")).as_deref(), Some("any"));
    // Kong: plain HTTP is not held to snis.
    assert_eq!(w(&t, &get("h", "/")).as_deref(), Some("sni"));
}
