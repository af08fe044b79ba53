use super::*;
use serde_json::json;

fn origins(list: &[&str]) -> Origins {
    let list: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    Origins::compile(&list).unwrap()
}

/// The ACAO Kong sends for `origin`: `Some(value)` or `None` (removed).
fn acao(o: &Origins, origin: &str) -> Option<String> {
    match o.allow(Some(origin)) {
        Allowed::Wildcard { .. } => Some("*".into()),
        Allowed::Origin(v) => Some(v),
        Allowed::Nobody => None,
    }
}

const PROBES: [&str; 11] = [
    "http://evil.test",
    "http://foo.test",
    "http://foo.test.evil.test",
    "http://something.foo.test",
    "http://evilfoo.test",
    "http://foo.test:80",
    "http://foo.test:8000",
    "https://foo.test:8000",
    "http://foo.test:90",
    "http://foobtest",
    "https://bar.test:1234",
];

/// `regex_testcases` of `01-access_spec.lua`: for each configuration, the
/// probes accepted (with the ACAO sent) — every other probe is rejected.
#[test]
fn kong_regex_testcases() {
    /// Configured origins, and the probes accepted with the ACAO sent.
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    let cases: &[Case<'_>] = &[
        (
            &["foo\\.test"],
            &[
                ("http://foo.test", "http://foo.test"),
                ("http://foo.test:80", "http://foo.test"),
                ("http://foo.test:8000", "http://foo.test:8000"),
                ("https://foo.test:8000", "https://foo.test:8000"),
                ("http://foo.test:90", "http://foo.test:90"),
            ],
        ),
        (
            &["(.*[./])?foo\\.test"],
            &[
                ("http://foo.test", "http://foo.test"),
                ("http://something.foo.test", "http://something.foo.test"),
                ("http://foo.test:80", "http://foo.test"),
                ("http://foo.test:8000", "http://foo.test:8000"),
                ("https://foo.test:8000", "https://foo.test:8000"),
                ("http://foo.test:90", "http://foo.test:90"),
            ],
        ),
        (
            &["(.*[./])?foo\\.test:8000"],
            &[
                ("http://foo.test:8000", "http://foo.test:8000"),
                ("https://foo.test:8000", "https://foo.test:8000"),
            ],
        ),
        (
            &["https://(.*[.])?foo\\.test:8000"],
            &[("https://foo.test:8000", "https://foo.test:8000")],
        ),
        (
            &["^http://(.*[.])?foo\\.test(:(80|90))?$"],
            &[
                ("http://foo.test", "http://foo.test"),
                ("http://something.foo.test", "http://something.foo.test"),
                ("http://foo.test:80", "http://foo.test"),
                ("http://foo.test:90", "http://foo.test:90"),
            ],
        ),
        (&["foo.test", "bar.test"], &[]),
        (
            &["http://foo.test", "https://bar.test:1234"],
            &[
                ("http://foo.test", "http://foo.test"),
                ("http://foo.test:80", "http://foo.test"),
                ("https://bar.test:1234", "https://bar.test:1234"),
            ],
        ),
        (
            &["bar.test", "foo\\.test"],
            &[
                ("http://foo.test", "http://foo.test"),
                ("http://foo.test:80", "http://foo.test"),
                ("http://foo.test:8000", "http://foo.test:8000"),
                ("https://foo.test:8000", "https://foo.test:8000"),
                ("http://foo.test:90", "http://foo.test:90"),
            ],
        ),
        (
            &["bar.test", "https://(.*\\.)?foo\\.test:8000"],
            &[("https://foo.test:8000", "https://foo.test:8000")],
        ),
    ];
    for (config, accepted) in cases {
        let o = origins(config);
        for probe in PROBES {
            let want = accepted
                .iter()
                .find(|(p, _)| *p == probe)
                .map(|(_, v)| v.to_string());
            assert_eq!(acao(&o, probe), want, "{config:?} given {probe}");
        }
    }
    // A single plain entry is sent whatever the origin.
    for single in ["foo.test", "https://bar.test:1234"] {
        let o = origins(&[single]);
        for probe in PROBES {
            assert_eq!(acao(&o, probe).as_deref(), Some(single));
        }
        assert_eq!(o.allow(None), Allowed::Origin(single.into()));
    }
}

#[test]
fn wildcards_and_absent_origins() {
    assert_eq!(
        origins(&[]).allow(Some("x")),
        Allowed::Wildcard { vary: false }
    );
    assert_eq!(
        origins(&["*"]).allow(None),
        Allowed::Wildcard { vary: false }
    );
    let o = origins(&["foo.bar", "*"]);
    assert_eq!(
        o.allow(Some("http://www.example.net")),
        Allowed::Wildcard { vary: true }
    );
    assert_eq!(o.allow(None), Allowed::Nobody);
    assert_eq!(origins(&["a\\.test"]).allow(None), Allowed::Nobody);
}

/// Hostile origins: a regex is never a substring match, and odd or huge
/// origins neither panic nor match.
#[test]
fn hostile_origins() {
    let o = origins(&["bar.test", "(.*\\.)?example\\.test"]);
    for evil in [
        "http://example.test.evil.test",
        "http://evilexample.test",
        "http://example.test@evil.test",
        "http://evil.test/example.test",
        "http://evil.test#example.test",
        "http://evil.test?x=.example.test",
        "example.test\n",
        "",
        "http://",
        "http://:80",
        "://example.test",
        "null",
    ] {
        assert_eq!(acao(&o, evil), None, "{evil:?}");
    }
    assert_eq!(
        acao(&o, "https://user@www.example.test:443/path"),
        Some("https://www.example.test".into())
    );
    let huge = format!("http://{}.example.test", "a".repeat(64 * 1024));
    assert_eq!(acao(&o, &huge), Some(huge.clone()));
    let huge_evil = format!("http://{}", "a.".repeat(32 * 1024));
    assert_eq!(acao(&o, &huge_evil), None);
}

#[test]
fn normalization_follows_luasocket() {
    let n = |s: &str| normalize(s);
    assert_eq!(n("http://foo.test:80").domain, "http://foo.test");
    assert_eq!(n("https://foo.test:443").domain, "https://foo.test");
    assert_eq!(n("https://foo.test:80").domain, "https://foo.test:80");
    assert_eq!(n("http://[::1]:8080").host, "::1");
    let bare = n("origin1.test");
    assert_eq!(
        (bare.domain.as_str(), bare.host.as_str()),
        ("origin1.test", "origin1.test")
    );
    assert_eq!(n("foo.test:8000").domain, "foo.test:8000");
}

#[test]
fn kong_schema_defaults_and_messages() {
    assert_eq!(
        Value::Object(CorsConfig::defaults()),
        json!({"origins": null, "headers": null, "exposed_headers": null,
               "methods": ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"],
               "max_age": null, "credentials": false, "private_network": false,
               "preflight_continue": false, "allow_origin_absent": true})
    );
    let e = |v| CorsConfig::parse(&v).unwrap_err().to_string();
    // 02-schema_spec: "origin accepts valid regex" / "errors with invalid regex".
    assert!(CorsConfig::parse(&json!({"origins": ["^http[s]?://example\\.com$", "*"]})).is_ok());
    assert_eq!(
        e(json!({"origins": ["a.test", "[a-z"]})),
        "config.origins.2: '[a-z' is not a valid regex"
    );
    assert_eq!(
        e(json!({"methods": ["GET", "FETCH"]})),
        "config.methods.2: expected one of: GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS, TRACE, CONNECT"
    );
    assert_eq!(
        e(json!({"max_age": "x"})),
        "config.max_age: expected a number"
    );
    assert_eq!(
        e(json!({"credentials": "yes"})),
        "config.credentials: expected a boolean"
    );
    let c = CorsConfig::parse(&json!({"max_age": 23, "methods": null})).unwrap();
    assert_eq!(c.render()["max_age"], 23);
    assert_eq!(c.methods.len(), 9);
    assert_eq!(
        CorsConfig::parse(&c.render()).unwrap(),
        c,
        "the rendering parses back to the same configuration"
    );
}

/// An origin that is not text matches no entry (a regex like `.*` would
/// otherwise match bytes the client's browser never sends).
#[test]
fn opaque_origins_match_nothing() {
    assert_eq!(origins(&[".*"]).allow_opaque(), Allowed::Nobody);
    assert_eq!(
        origins(&["*"]).allow_opaque(),
        Allowed::Wildcard { vary: false }
    );
    assert_eq!(
        origins(&["a.test", "*"]).allow_opaque(),
        Allowed::Wildcard { vary: true }
    );
    assert_eq!(
        origins(&["a.test"]).allow_opaque(),
        Allowed::Origin("a.test".into())
    );
}
