use super::*;
use http::HeaderValue;
use std::time::Duration;

#[test]
fn directives_parse_as_kong_parses_them() {
    let cc = Directives::parse("public, Max-Age=60, no-cache, private=\"x\", s-maxage=abc");
    assert!(cc.has("public"));
    assert!(cc.has("no-cache"));
    assert_eq!(cc.number("max-age"), Some(60.0));
    assert_eq!(cc.number("private"), None);
    assert!(cc.has("private"));
    // A value that is not a number is kept as text, not as a number.
    assert!(cc.has("s-maxage"));
    assert_eq!(cc.number("s-maxage"), None);
    assert!(!cc.has("no-store"));
    let mut headers = HeaderMap::new();
    headers.append(CACHE_CONTROL, HeaderValue::from_static("max-age=5"));
    headers.append(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let joined = Directives::of(&headers);
    assert_eq!(joined.number("max-age"), Some(5.0));
    assert!(joined.has("no-store"));
}

#[test]
fn resource_ttl_prefers_s_maxage_then_max_age_then_expires() {
    let now = SystemTime::now();
    let none = HeaderMap::new();
    let ttl = |v: &str, h: &HeaderMap| resource_ttl(&Directives::parse(v), h, now);
    assert_eq!(ttl("max-age=10, s-maxage=20", &none), 20);
    assert_eq!(ttl("max-age=10", &none), 10);
    assert_eq!(ttl("max-age=-5", &none), 0);
    assert_eq!(ttl("public", &none), 0);
    let mut expires = HeaderMap::new();
    let later = now + Duration::from_secs(5000);
    expires.insert(
        EXPIRES,
        HeaderValue::from_str(&httpdate::fmt_http_date(later)).unwrap(),
    );
    let from_expires = ttl("", &expires);
    assert!((4998..=5000).contains(&from_expires), "{from_expires}");
    // max-age wins over Expires.
    assert_eq!(ttl("max-age=3", &expires), 3);
    expires.insert(EXPIRES, HeaderValue::from_static("not a date"));
    assert_eq!(ttl("", &expires), 0);
}

#[test]
fn content_types_match_as_kong_matches_them() {
    let configured = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let defaults = configured(&["text/plain", "application/json"]);
    assert!(content_type_matches("application/json", &defaults));
    assert!(content_type_matches("Application/JSON", &defaults));
    // Parameters must be the same on both sides.
    assert!(!content_type_matches(
        "application/json; charset=utf-8",
        &defaults
    ));
    assert!(content_type_matches(
        "application/json; charset=utf-8",
        &configured(&["application/json;charset=utf-8"])
    ));
    assert!(!content_type_matches(
        "application/xml",
        &configured(&["application/xml; charset=UTF-8"])
    ));
    // Wildcards.
    assert!(content_type_matches(
        "application/xml",
        &configured(&["*/*"])
    ));
    assert!(content_type_matches(
        "application/xml",
        &configured(&["application/*"])
    ));
    assert!(!content_type_matches(
        "text/xml",
        &configured(&["application/*"])
    ));
    // Neither an invalid response type nor an invalid configured one matches.
    assert!(!content_type_matches(
        "application/xml;",
        &configured(&["*/*"])
    ));
    assert!(!content_type_matches(
        "application/xml",
        &configured(&["application/xml;"])
    ));
    assert!(MediaType::parse("text/html; charset=\"utf-8\"").is_some());
    assert!(MediaType::parse("text/html ").is_none());
    assert!(MediaType::parse("texthtml").is_none());
}
