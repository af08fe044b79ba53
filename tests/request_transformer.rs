//! Kong's `request-transformer` through the real proxy on loopback,
//! following `spec/03-plugins/36-request-transformer/02-access_spec.lua`:
//! each Kong route (`test<n>.test`) is a path prefix here (`/t<n>`), and the
//! recording upstream reports what it received.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

#[path = "request_transformer/templates.rs"]
mod templates;

use kingress::model::{PathMatch, PathRegex, Route};
use serde_json::{Value, json};
use support::auth::plugin;
use support::oauth2::{Reply, request};
use support::proxy::{TestProxy, route, service, table};
use support::upstream::Upstream;

/// A route: its paths, `strip_path`, and the plugin's config.
struct R(&'static str, bool, Value);

async fn start(routes: Vec<R>) -> (Upstream, TestProxy) {
    let up = Upstream::start("api").await;
    let routes: Vec<Route> = routes
        .into_iter()
        .enumerate()
        .map(|(i, R(path, strip, config))| {
            let mut r = route(&format!("r{i}"), &[], "api");
            r.paths = vec![match path.strip_prefix('~') {
                Some(re) => PathMatch::Regex(PathRegex::new(re).unwrap()),
                None => PathMatch::Plain(path.to_string()),
            }];
            r.strip_path = strip;
            r.plugins = vec![plugin("request-transformer", &config)];
            r
        })
        .collect();
    let proxy = TestProxy::start(table(routes, vec![service("api", &[up.addr])])).await;
    (up, proxy)
}

async fn send(
    proxy: &TestProxy,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &str)>,
) -> Reply {
    request(method, &proxy.http_url(path), headers, body).await
}

fn header<'a>(r: &'a Reply, name: &str) -> &'a Value {
    &r.body["headers"][name]
}

fn form(r: &Reply) -> Vec<(String, String)> {
    let body = r.body["body"].as_str().unwrap();
    let mut pairs: Vec<_> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    pairs.sort();
    pairs
}

fn query(r: &Reply) -> Vec<(String, String)> {
    let q = r.body["query"].as_str().unwrap_or_default();
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

fn sent_json(r: &Reply) -> Value {
    serde_json::from_str(r.body["body"].as_str().unwrap()).unwrap()
}

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

#[tokio::test]
async fn http_method() {
    let (_up, proxy) = start(vec![
        R("/t7", false, json!({"http_method": "POST"})),
        R("/t8", false, json!({"http_method": "GET"})),
        R(
            "/t20",
            false,
            json!({"http_method": "POST",
            "add": {"headers": ["Content-Type:application/json"], "body": ["body:somecontent"]}}),
        ),
    ])
    .await;
    // "changes the HTTP method from GET to POST"
    let r = send(
        &proxy,
        "GET",
        "/t7/request?hello=world&name=marco",
        &[],
        None,
    )
    .await;
    assert_eq!(r.body["method"], "POST");
    assert_eq!(r.body["query"], "hello=world&name=marco");
    // "changes the HTTP method from POST to GET": the form joins the query.
    let r = send(
        &proxy,
        "POST",
        "/t8/request?hello=world",
        &[],
        Some((FORM, "name=marco")),
    )
    .await;
    assert_eq!(r.body["method"], "GET");
    assert_eq!(
        query(&r),
        [
            ("hello".into(), "world".into()),
            ("name".into(), "marco".into())
        ]
    );
    // "changes the HTTP method from GET to POST and adds JSON body"
    let r = send(&proxy, "GET", "/t20/request", &[], None).await;
    assert_eq!(r.body["method"], "POST");
    assert_eq!(*header(&r, "content-type"), "application/json");
    assert_eq!(sent_json(&r), json!({"body": "somecontent"}));
    assert_eq!(*header(&r, "content-length"), "22");
}

#[tokio::test]
async fn remove() {
    let (_up, proxy) = start(vec![R(
        "/t4",
        false,
        json!({"remove": {
        "headers": ["x-to-remove"], "querystring": ["q1"], "body": ["toremoveform"]}}),
    )])
    .await;
    // "specified header"
    let r = send(
        &proxy,
        "GET",
        "/t4",
        &[("x-to-remove", "true"), ("x-another-header", "true")],
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(header(&r, "x-to-remove").is_null());
    assert_eq!(*header(&r, "x-another-header"), "true");
    // "parameters on url encoded form POST"
    let r = send(
        &proxy,
        "POST",
        "/t4",
        &[],
        Some((FORM, "toremoveform=yes&nottoremove=yes")),
    )
    .await;
    assert_eq!(form(&r), [("nottoremove".into(), "yes".into())]);
    // "parameters from JSON body in POST"
    let r = send(
        &proxy,
        "POST",
        "/t4",
        &[],
        Some((JSON, r#"{"toremoveform":"yes","nottoremove":"yes"}"#)),
    )
    .await;
    assert_eq!(sent_json(&r), json!({"nottoremove": "yes"}));
    // "does not fail if JSON body is malformed in POST"
    let r = send(
        &proxy,
        "POST",
        "/t4",
        &[],
        Some((JSON, "malformed json body")),
    )
    .await;
    assert_eq!(r.body["body"], "malformed json body");
    // "does not fail if body is empty and content type is application/json"
    let r = send(&proxy, "POST", "/t4", &[], Some((JSON, "{}"))).await;
    assert_eq!(r.body["body"], "{}");
    assert_eq!(*header(&r, "content-length"), "2");
    // "does not fail if body is empty in POST"
    let r = send(&proxy, "POST", "/t4", &[], Some(("text/plain", ""))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["body"], "");
    // "parameters on multipart POST"
    let b = "--xx\r\nContent-Disposition: form-data; name=\"toremoveform\"\r\n\r\nyes\r\n\
             --xx\r\nContent-Disposition: form-data; name=\"nottoremove\"\r\n\r\nyes\r\n--xx--\r\n";
    let r = send(
        &proxy,
        "POST",
        "/t4",
        &[],
        Some(("multipart/form-data; boundary=xx", b)),
    )
    .await;
    let sent = r.body["body"].as_str().unwrap();
    assert!(
        !sent.contains("toremoveform") && sent.contains("name=\"nottoremove\"\r\n\r\nyes\r\n"),
        "{sent}"
    );
    // "args on GET if it exist"
    let r = send(&proxy, "GET", "/t4?q1=v1&q2=v2", &[], None).await;
    assert_eq!(r.body["query"], "q2=v2");
    // "preserves empty json array"
    let r = send(
        &proxy,
        "POST",
        "/t4",
        &[],
        Some((JSON, r#"{"emptyarray":[]}"#)),
    )
    .await;
    assert_eq!(r.body["body"], r#"{"emptyarray":[]}"#);
}

#[tokio::test]
async fn rename() {
    let (_up, proxy) = start(vec![
        R("/t9", false, json!({"rename": {"headers": ["x-to-rename:x-is-renamed"],
            "querystring": ["originalparam:renamedparam"], "body": ["originalparam:renamedparam"]}})),
        R("/mock", false, json!({"rename": {"headers": ["rename:Rename", "identical:identical"],
            "querystring": ["inexist:exist"]}})),
    ])
    .await;
    // "specified header" / "override value if target header already exist"
    let r = send(
        &proxy,
        "GET",
        "/t9",
        &[
            ("x-to-rename", "new-result"),
            ("X-Is-Renamed", "old-result"),
        ],
        None,
    )
    .await;
    assert!(header(&r, "x-to-rename").is_null());
    assert_eq!(*header(&r, "x-is-renamed"), "new-result");
    // "does not add as new header if header does not exist"
    let r = send(&proxy, "GET", "/t9", &[("x-a-header", "true")], None).await;
    assert!(header(&r, "x-is-renamed").is_null());
    // "specified parameters in url encoded body on POST"
    let r = send(
        &proxy,
        "POST",
        "/t9",
        &[],
        Some((FORM, "originalparam=yes")),
    )
    .await;
    assert_eq!(form(&r), [("renamedparam".into(), "yes".into())]);
    // "parameters from JSON body in POST"
    let r = send(
        &proxy,
        "POST",
        "/t9",
        &[],
        Some((JSON, r#"{"originalparam":"yes","nottorename":"yes"}"#)),
    )
    .await;
    assert_eq!(
        sent_json(&r),
        json!({"renamedparam": "yes", "nottorename": "yes"})
    );
    // "parameters on multipart POST"
    let b = "--b\r\nContent-Disposition: form-data; name=\"originalparam\"\r\n\r\nyes\r\n--b--\r\n";
    let r = send(
        &proxy,
        "POST",
        "/t9",
        &[],
        Some(("multipart/form-data; boundary=b", b)),
    )
    .await;
    let sent = r.body["body"].as_str().unwrap();
    assert!(
        sent.contains("name=\"renamedparam\"\r\n\r\nyes\r\n") && !sent.contains("originalparam"),
        "{sent}"
    );
    // "args on GET if it exists"
    let r = send(
        &proxy,
        "GET",
        "/t9?originalparam=true&nottorename=true",
        &[],
        None,
    )
    .await;
    assert_eq!(r.body["query"], "nottorename=true&renamedparam=true");
    // "rename correctly when only changing capitalization" / "does not
    // remove when renaming to the identical name" / "does not override
    // existing value with nil"
    let r = send(
        &proxy,
        "GET",
        "/mock/request?exist=true",
        &[("rename", "true"), ("identical", "true")],
        None,
    )
    .await;
    assert_eq!(*header(&r, "rename"), "true");
    assert_eq!(*header(&r, "identical"), "true");
    assert_eq!(r.body["query"], "exist=true");
}

#[tokio::test]
async fn replace() {
    let (_up, proxy) = start(vec![
        R(
            "/t5",
            false,
            json!({"replace": {"headers": ["h1:v1"], "querystring": ["q1:v1"], "body": ["p1:v1"]}}),
        ),
        R(
            "~/(gw/)?api/(?<subpath>htest)$",
            false,
            json!({"replace": {"uri": "/api/v2/$(uri_captures[\"subpath\"])"}}),
        ),
    ])
    .await;
    // "specified header if it exist" / "does not add as new header"
    let r = send(&proxy, "GET", "/t5", &[("h1", "V"), ("h2", "v2")], None).await;
    assert_eq!(*header(&r, "h1"), "v1");
    assert_eq!(*header(&r, "h2"), "v2");
    let r = send(&proxy, "GET", "/t5", &[("h2", "v2")], None).await;
    assert!(header(&r, "h1").is_null());
    // url encoded / json body, present and absent
    let r = send(&proxy, "POST", "/t5", &[], Some((FORM, "p1=v&p2=v1"))).await;
    assert_eq!(
        form(&r),
        [("p1".into(), "v1".into()), ("p2".into(), "v1".into())]
    );
    let r = send(&proxy, "POST", "/t5", &[], Some((FORM, "p2=v1"))).await;
    assert_eq!(form(&r), [("p2".into(), "v1".into())]);
    let r = send(
        &proxy,
        "POST",
        "/t5",
        &[],
        Some((JSON, r#"{"p1":"v","p2":"v1"}"#)),
    )
    .await;
    assert_eq!(sent_json(&r), json!({"p1": "v1", "p2": "v1"}));
    let r = send(&proxy, "POST", "/t5", &[], Some((JSON, r#"{"p2":"v1"}"#))).await;
    assert_eq!(sent_json(&r), json!({"p2": "v1"}));
    // "args on POST if it exist" / "does not add new args"
    let r = send(&proxy, "POST", "/t5?q1=v&q2=v2", &[], None).await;
    assert_eq!(r.body["query"], "q1=v1&q2=v2");
    let r = send(&proxy, "POST", "/t5?q2=v2", &[], None).await;
    assert_eq!(r.body["query"], "q2=v2");
    // "replaces request uri with optional capture prefix" / "with the
    // capture prefix"
    for path in ["/api/htest", "/gw/api/htest"] {
        let r = send(&proxy, "GET", path, &[], None).await;
        assert_eq!(r.body["path"], "/api/v2/htest", "{path}");
    }
}

#[tokio::test]
async fn add_and_append() {
    let (_up, proxy) = start(vec![
        R("/t1", false, json!({"add": {"headers": ["h1:v1", "h2:value:2"], "querystring": ["q1:v1"], "body": ["p1:v1"]}})),
        R("/t2", false, json!({"add": {"headers": ["host:mark"]}})),
        R("/t6", false, json!({"append": {"headers": ["h1:v1", "h1:v2", "h1:#value_with_hash", "h2:v1"],
            "querystring": ["q1:v1", "q1:v2", "q2:v1"], "body": ["p1:v1", "p1:v2", "p2:value:1"]}})),
        R("/t22", false, json!({"http_method": "POST", "remove": {"headers": ["Authorization"]},
            "add": {"headers": ["Authorization:Basic test"]}})),
    ])
    .await;
    // "new headers" (a colon in the value) / "does not change or append
    // value if header already exists"
    let r = send(&proxy, "GET", "/t1", &[("h1", "v3")], None).await;
    assert_eq!(*header(&r, "h1"), "v3");
    assert_eq!(*header(&r, "h2"), "value:2");
    // "new parameter in url encoded body on POST" / "does not change"
    let r = send(&proxy, "POST", "/t1", &[], Some((FORM, "hello=world"))).await;
    assert_eq!(
        form(&r),
        [("hello".into(), "world".into()), ("p1".into(), "v1".into())]
    );
    let r = send(&proxy, "POST", "/t1", &[], Some((FORM, "p1=v2"))).await;
    assert_eq!(form(&r), [("p1".into(), "v2".into())]);
    // "new parameter in JSON body on POST" / "does not fail if malformed"
    let r = send(
        &proxy,
        "POST",
        "/t1",
        &[],
        Some((JSON, r#"{"hello":"world"}"#)),
    )
    .await;
    assert_eq!(sent_json(&r), json!({"hello": "world", "p1": "v1"}));
    let r = send(
        &proxy,
        "POST",
        "/t1",
        &[],
        Some((JSON, "malformed json body")),
    )
    .await;
    assert_eq!(r.body["body"], "malformed json body");
    // "new parameter on multipart POST"
    let b = "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\ny\r\n--b--\r\n";
    let r = send(
        &proxy,
        "POST",
        "/t1",
        &[],
        Some(("multipart/form-data; boundary=b", b)),
    )
    .await;
    let sent = r.body["body"].as_str().unwrap();
    assert!(
        sent.contains("name=\"x\"\r\n\r\ny\r\n") && sent.contains("name=\"p1\"\r\n\r\nv1\r\n"),
        "{sent}"
    );
    // "new querystring on GET" / "does not change … if querystring exists"
    let r = send(&proxy, "GET", "/t1?q2=v2", &[], None).await;
    assert_eq!(r.body["query"], "q1=v1&q2=v2");
    let r = send(&proxy, "GET", "/t1?q1=v2", &[], None).await;
    assert_eq!(r.body["query"], "q1=v2");
    // "should not change the host header"
    let r = send(&proxy, "GET", "/t2", &[], None).await;
    assert_ne!(*header(&r, "host"), "mark");
    // append: "new header if header does not exists" / "values to existing
    // headers" / "can append a value with '#'"
    let r = send(&proxy, "GET", "/t6", &[], None).await;
    assert_eq!(*header(&r, "h1"), json!(["v1", "v2", "#value_with_hash"]));
    assert_eq!(*header(&r, "h2"), "v1");
    assert_eq!(r.body["query"], "q1=v1&q1=v2&q2=v1");
    // "values to existing querystring" / url encoded body
    let r = send(&proxy, "POST", "/t6?q1=v0", &[], Some((FORM, "p1=v0"))).await;
    assert_eq!(r.body["query"], "q1=v0&q1=v1&q1=v2&q2=v1");
    assert_eq!(r.body["body"], "p1=v0&p1=v1&p1=v2&p2=value%3A1");
    // "remove then add header (regression test)"
    for sent in [&[("authorization", "Basic dGVzdDp0ZXN0")][..], &[]] {
        let r = send(&proxy, "GET", "/t22", sent, None).await;
        assert_eq!(*header(&r, "authorization"), "Basic test");
    }
}

#[tokio::test]
async fn query_untouched_without_query_entries() {
    // "query parameters are not #urlencoded to upstream URL"
    let (_up, proxy) = start(vec![R("/t23", false, json!({}))]).await;
    let r = send(&proxy, "GET", "/t23/?expected=$&+,/:;?@", &[], None).await;
    assert_eq!(r.body["query"], "expected=$&+,/:;?@");
}

#[tokio::test]
async fn bodies_beyond_the_bound_are_refused() {
    let (_up, proxy) = start(vec![R("/big", false, json!({"add": {"body": ["p1:v1"]}}))]).await;
    let big = format!(
        "a={}",
        "x".repeat(kingress::plugins::request_transformer::BODY_LIMIT)
    );
    let r = send(&proxy, "POST", "/big", &[], Some((FORM, &big))).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.body, json!({"message": "Payload too large"}));
    // A body without an edited content type is never read.
    let r = send(&proxy, "POST", "/big", &[], Some(("text/plain", &big))).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn the_proxy_s_forwarding_fields_win_over_what_the_plugin_made_of_the_client_s() {
    // The plugin edits the request's own fields; the proxy sets
    // `X-Forwarded-*` and `X-Real-IP` after it, as Kong's `proxy_set_header`
    // does: an untrusted client's copies go whatever the plugin did, and
    // each field reaches the upstream once.
    let (_up, proxy) = start(vec![R(
        "/fwd",
        false,
        json!({"replace": {"headers": ["x-forwarded-host:plugin.example"]},
               "add": {"headers": ["x-forwarded-port:1", "x-other:1"]},
               "remove": {"headers": ["x-forwarded-path"]}}),
    )])
    .await;
    let spoofed = [
        ("X-Forwarded-Host", "evil.example"),
        ("x-real-ip", "203.0.113.9"),
    ];
    let r = send(&proxy, "GET", "/fwd", &spoofed, None).await;
    assert_eq!(r.status, 200);
    assert_eq!(*header(&r, "x-forwarded-host"), "127.0.0.1");
    assert_eq!(
        *header(&r, "x-forwarded-port"),
        proxy.http.port().to_string()
    );
    assert_eq!(*header(&r, "x-forwarded-path"), "/fwd");
    assert_eq!(*header(&r, "x-real-ip"), "127.0.0.1");
    assert_eq!(*header(&r, "x-forwarded-for"), "127.0.0.1");
    assert_eq!(*header(&r, "x-other"), "1");
}
