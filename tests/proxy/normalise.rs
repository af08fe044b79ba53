//! Hostile request paths against two routes on one upstream: `/mock`
//! (a `Prefix` path behind oauth2) and `/` (no plugin). Each service sets
//! its own `Host` for the upstream, so the echo names the route that
//! matched. Requests go out as raw bytes (HTTP/1.1) or through hyper's
//! HTTP/2 client, so no client library tidies the paths first.

use super::*;
use kingress::model::{PathMatch, PathRegex, Shared};
use support::client::{RawResponse, h2c, raw_http1};
use support::oauth2;

const MOCK_HOST: &str = "mock.internal";
const ROOT_HOST: &str = "root.internal";

/// What a request target must lead to.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// The `/mock` route: 401 without a token; with one, the upstream
    /// reads this path.
    Mock(&'static str),
    /// The `/` route: the upstream reads this path (no token needed).
    Root(&'static str),
    /// kingress answers 400 with Kong's body; nothing is forwarded.
    Refused,
    /// The HTTP parser answers this status before any routing.
    Parser(u16),
}

use Expect::{Mock, Parser, Refused, Root};

/// The two routes on one upstream, with the oauth2 fixtures' consumers and
/// applications.
async fn start() -> (Upstream, TestProxy) {
    let up = Upstream::start("echo").await;
    let config = oauth2::default_config();
    let mut t = oauth2::oauth_table(&up, &config);
    let mut mock = oauth2::oauth_route("mock", "/mock", "svc-mock", "p-mock", &config);
    mock.paths = vec![PathMatch::Prefix("/mock".into())];
    let root = route("root", &["/"], "svc-root");
    t.routes = vec![Shared::new(mock), Shared::new(root)];
    for (name, host) in [("svc-mock", MOCK_HOST), ("svc-root", ROOT_HOST)] {
        let mut s = service(name, &[up.addr]);
        s.host_header = Some(host.into());
        t.services.insert(name.into(), s);
    }
    let proxy = TestProxy::start(t).await;
    (up, proxy)
}

async fn get(proxy: &TestProxy, target: &str, token: Option<&str>) -> RawResponse {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let request =
        format!("GET {target} HTTP/1.1\r\nHost: a.test\r\n{auth}Connection: close\r\n\r\n");
    raw_http1(proxy.http, request.as_bytes()).await
}

/// Asserts that `res` is the echo of the route whose service sets `host`,
/// with the upstream reading `path` and the query as sent.
#[track_caller]
fn assert_reached(res: &RawResponse, host: &str, path: &str, target: &str) {
    assert_eq!(res.status, 200, "{target:?}: {:?}", res.json());
    let echo = res.json();
    assert_eq!(
        echo["headers"]["host"], host,
        "{target:?} matched the wrong route"
    );
    assert_eq!(echo["path"], path, "{target:?}");
    let query = target.split_once('?').map(|(_, q)| q);
    assert_eq!(echo["query"].as_str(), query, "{target:?}");
    // What matched is also what the upstream is told was requested.
    assert_eq!(echo["headers"]["x-forwarded-path"], path, "{target:?}");
}

#[track_caller]
fn assert_refused(res: &RawResponse, target: &str) {
    assert_eq!(res.status, 400, "{target:?}: {:?}", res.json());
    assert_eq!(res.json(), json!({"message": "Bad request"}), "{target:?}");
}

fn cases() -> Vec<(String, Expect)> {
    let fixed: &[(&str, Expect)] = &[
        ("/mock", Mock("/mock")),
        ("/mock/x", Mock("/mock/x")),
        // Unreserved characters in any spelling.
        ("/%6Dock", Mock("/mock")),
        ("/mo%63k", Mock("/mock")),
        ("/%6d%6F%63%6b", Mock("/mock")),
        ("/mo%63%6b/%7e%41", Mock("/mock/~A")),
        ("/%4Dock", Root("/Mock")),
        ("/MOCK", Root("/MOCK")),
        // Slashes.
        ("//mock", Mock("/mock")),
        ("///mock/x", Mock("/mock/x")),
        ("/mock//x//", Mock("/mock/x/")),
        // Dot segments, raw and encoded.
        ("/./mock", Mock("/mock")),
        ("/x/../mock", Mock("/mock")),
        ("/%2e/mock", Mock("/mock")),
        ("/x/%2E%2E/mock", Mock("/mock")),
        ("/x/.%2e/mock", Mock("/mock")),
        ("/%20/../mock", Mock("/mock")),
        ("/x/y/%2e%2e/%2E%2E/mock/z", Mock("/mock/z")),
        ("/mock/./x//y/", Mock("/mock/x/y/")),
        ("/mock/x/..", Mock("/mock/")),
        ("/mock/.", Mock("/mock/")),
        // Above the root.
        ("/../mock", Refused),
        ("/%2E%2E/mock", Refused),
        ("/.%2e/mock", Refused),
        ("/mock/../../mock", Refused),
        ("/%2e%2e", Refused),
        // Encoded reserved characters stay encoded (and upper-cased).
        ("/mock%2Fx", Root("/mock%2Fx")),
        ("/mock%2f", Root("/mock%2F")),
        ("/%5Cmock", Root("/%5Cmock")),
        ("/mock/%252e%252e/x", Mock("/mock/%252e%252e/x")),
        ("/%0d%0aX:y", Root("/%0D%0AX:y")),
        // Dots that some upstream would still see.
        ("/x%2F..%2Fmock", Refused),
        ("/x%2f%2e%2e%2fmock", Refused),
        ("/x%5C..%5Cmock", Refused),
        ("/x/..;/mock", Refused),
        ("/.;/mock", Refused),
        // Parameters: opaque text, as in Kong and nginx.
        ("/mock/x;p=1", Mock("/mock/x;p=1")),
        ("/mock;jsessionid=1", Root("/mock;jsessionid=1")),
        ("/;/mock", Root("/;/mock")),
        // Malformed escapes, NUL, backslashes.
        ("/%mock", Refused),
        ("/mock%zz", Refused),
        ("/mock%4", Refused),
        ("/mock%00", Refused),
        ("/mock/..%00", Refused),
        ("/mock\0", Parser(400)),
        ("/mock\\x", Refused),
        ("/\\mock", Refused),
        // Unicode, overlong forms, Latin-1.
        ("/mock/%c3%a9", Mock("/mock/%C3%A9")),
        ("/mock/é", Mock("/mock/%C3%A9")),
        ("/%C0%AE%C0%AE/mock", Refused),
        ("/%c0%ae/mock", Refused),
        ("/%E9", Refused),
        // Characters clients send raw: one (encoded) spelling upstream.
        ("/mock/{\"a\"}", Mock("/mock/%7B%22a%22%7D")),
        ("/mock|x", Root("/mock%7Cx")),
        // Not origin-form.
        ("*", Refused),
        // The query string is forwarded untouched.
        ("/mock?x=/../y&z=%2e", Mock("/mock")),
        ("/x/../mock?a=%2F", Mock("/mock")),
        ("/%6Dock?access=%6D", Mock("/mock")),
        // Absolute-form: the path is normalised the same way.
        ("http://a.test/x/../%6Dock", Mock("/mock")),
    ];
    let mut cases: Vec<(String, Expect)> = fixed.iter().map(|(t, e)| (t.to_string(), *e)).collect();
    // Long: 2,000 segments up and down again.
    cases.push((
        format!("/{}{}mock", "a/".repeat(2000), "../".repeat(2000)),
        Mock("/mock"),
    ));
    let long: &'static str = Box::leak(format!("/mock/{}", "x".repeat(8000)).into_boxed_str());
    cases.push((long.to_string(), Mock(long)));
    cases.push((format!("/{}", "x".repeat(70_000)), Parser(414)));
    cases
}

#[tokio::test]
async fn hostile_paths_route_and_forward_their_canonical_form() {
    let (_up, proxy) = start().await;
    let token = oauth2::cc_token(&proxy, "/mock", &[]).await;
    let token = token.str("access_token");
    let cases = cases();
    assert!(cases.len() >= 40);
    for (target, expect) in &cases {
        let target = target.as_str();
        let shown = &target[..target.len().min(80)];
        let res = get(&proxy, target, None).await;
        match *expect {
            Mock(path) => {
                assert_eq!(res.status, 401, "{shown:?} bypassed the oauth2 route");
                let with_token = get(&proxy, target, Some(token)).await;
                assert_reached(&with_token, MOCK_HOST, path, target);
            }
            Root(path) => assert_reached(&res, ROOT_HOST, path, target),
            Refused => assert_refused(&res, shown),
            Parser(status) => assert_eq!(res.status, status, "{shown:?}"),
        }
    }
}

#[tokio::test]
async fn strip_path_and_the_service_path_apply_to_the_canonical_path() {
    let up = Upstream::start("a").await;
    let mut api = route("api", &["/api"], "with-path");
    api.paths = vec![PathMatch::Prefix("/api".into())];
    api.strip_path = true;
    let mut numbers = route("numbers", &[], "svc");
    numbers.paths = vec![PathMatch::Regex(PathRegex::new("/re/[0-9]+$").unwrap())];
    let mut with_path = service("with-path", &[up.addr]);
    with_path.path = Some("/v1".into());
    let proxy = TestProxy::start(table(
        vec![api, numbers, route("root", &["/"], "svc")],
        vec![with_path, service("svc", &[up.addr])],
    ))
    .await;
    let cases = [
        ("/%61pi//users/./x?q=%2e", "/v1/users/x", "/api/users/x"),
        ("/x/../api/%2e%2E/api", "/v1", "/api"),
        ("/re/%31%32", "/re/12", "/re/12"),
        ("/re/1/../%32", "/re/2", "/re/2"),
    ];
    for (target, upstream, forwarded) in cases {
        let request = format!("GET {target} HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n");
        let res = raw_http1(proxy.http, request.as_bytes()).await;
        assert_eq!(res.status, 200, "{target}");
        let echo = res.json();
        assert_eq!(echo["path"], upstream, "{target}");
        assert_eq!(echo["headers"]["x-forwarded-path"], forwarded, "{target}");
        assert_eq!(
            echo["query"].as_str(),
            target.split_once('?').map(|(_, q)| q)
        );
    }
}

#[tokio::test]
async fn http2_paths_are_normalised_the_same_way() {
    let (_up, proxy) = start().await;
    let token = oauth2::cc_token(&proxy, "/mock", &[]).await;
    let token = token.str("access_token");
    let cases = [
        ("/%6Dock", Mock("/mock")),
        ("//mock", Mock("/mock")),
        ("/x/../mock", Mock("/mock")),
        ("/%2e/mock/%7e?q=%2e", Mock("/mock/~")),
        ("/mock%2Fx", Root("/mock%2Fx")),
        ("/%2E%2E/mock", Refused),
        ("/x/..;/mock", Refused),
        ("/mock%00", Refused),
    ];
    let send = |path: &str, token: Option<&str>| {
        let mut request = http::Request::get(format!("http://a.test{path}"));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        h2c(proxy.http, request.body(Empty::<Bytes>::new()).unwrap())
    };
    for (path, expect) in cases {
        let (status, echo) = send(path, None).await;
        let (status, echo) = match expect {
            Mock(_) => {
                assert_eq!(status, 401, "{path} bypassed the oauth2 route over HTTP/2");
                send(path, Some(token)).await
            }
            _ => (status, echo),
        };
        match expect {
            Mock(want) | Root(want) => {
                let host = if matches!(expect, Mock(_)) {
                    MOCK_HOST
                } else {
                    ROOT_HOST
                };
                assert_eq!(status, 200, "{path}: {echo}");
                assert_eq!(echo["headers"]["host"], host, "{path}");
                assert_eq!(echo["path"], want, "{path}");
                assert_eq!(echo["query"].as_str(), path.split_once('?').map(|(_, q)| q));
            }
            Refused => {
                assert_eq!(status, 400, "{path}");
                assert_eq!(echo, json!({"message": "Bad request"}), "{path}");
            }
            Parser(_) => unreachable!("no parser cases over HTTP/2"),
        }
    }
}
