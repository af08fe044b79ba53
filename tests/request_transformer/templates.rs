//! `02-access_spec.lua`'s "request rewrite using template" cases, and the
//! identity headers and header injection a template must not produce.

use super::{R, header, query, send, start};
use serde_json::json;

#[tokio::test]
async fn templates() {
    let user = "/requests/user1/(?P<user1>\\w+)/user2/(?P<user2>\\S+)";
    let (_up, proxy) = start(vec![
        R(Box::leak(format!("~/t10{user}").into_boxed_str()), false, json!({"add": {"querystring":
            ["uri_param1:$(uri_captures.user1)", "uri_param2[some_index][1]:$(uri_captures.user2)"]}})),
        R(Box::leak(format!("~/t11{user}").into_boxed_str()), true, json!({"replace": {"uri":
            "/requests/user2/$(uri_captures.user2)/user1/$(uri_captures.user1)"}})),
        R("/t12", false, json!({"add": {"querystring":
            ["uri_param1:$(uri_captures.user1 or 'default1')", "uri_param2:$(uri_captures.user2 or 'default2')"]}})),
        R("~/t14/user1/(?P<user1>\\w+)/user2/(?P<user2>\\S+)", true, json!({"replace": {"uri": "/requests$(uri_captures[0])"}})),
        R(Box::leak(format!("~/t15{user}").into_boxed_str()), false, json!({
            "add": {"querystring": ["uri_param1:$(uri_captures.user1)", "uri_param2:$(headers.host)"],
                    "headers": ["x-test-header:$(query_params.q1)"]},
            "remove": {"querystring": ["q1"]}})),
        R("/t16", false, json!({"replace": {"querystring": ["q2:$(headers['x-remove-header'])"]},
            "add": {"headers": ["x-test-header:$(headers['x-remove-header'])"]},
            "remove": {"headers": ["x-remove-header"]}})),
        R("/t17", false, json!({"replace": {"querystring": ["q2:$(headers['x-replace-header'])"],
            "headers": ["x-replace-header:the new value"]},
            "add": {"headers": ["x-test-header:$(headers['x-replace-header'])"]}})),
        R("/t18", false, json!({"add": {"querystring": ["q1:$('$(uri_captures.user1)')"]}})),
        R("/t24", false, json!({"add": {"headers": ["x-user-agent:$(headers.x_foo)"]}})),
    ])
    .await;
    // "template as querystring parameters on GET"
    let r = send(
        &proxy,
        "GET",
        "/t10/requests/user1/foo/user2/bar?q1=20",
        &[],
        None,
    )
    .await;
    assert_eq!(
        r.body["query"],
        "q1=20&uri_param1=foo&uri_param2%5Bsome_index%5D%5B1%5D=bar"
    );
    // "should update request path using hash"
    let r = send(
        &proxy,
        "GET",
        "/t11/requests/user1/foo/user2/bar",
        &[],
        None,
    )
    .await;
    assert_eq!(r.body["path"], "/requests/user2/bar/user1/foo");
    // "should not add querystring if hash missing"
    let r = send(&proxy, "GET", "/t12/requests/?q1=20", &[], None).await;
    assert_eq!(
        r.body["query"],
        "q1=20&uri_param1=default1&uri_param2=default2"
    );
    // "should not fail when uri template rendered using index"
    let r = send(&proxy, "GET", "/t14/user1/foo/user2/bar", &[], None).await;
    assert_eq!(r.body["path"], "/requests/t14/user1/foo/user2/bar");
    // "validate using headers/req_querystring for rendering templates"
    let r = send(
        &proxy,
        "GET",
        "/t15/requests/user1/foo/user2/bar?q1=20",
        &[],
        None,
    )
    .await;
    let host = format!("127.0.0.1:{}", proxy.http.port());
    assert_eq!(
        query(&r),
        [
            ("uri_param1".into(), "foo".into()),
            ("uri_param2".into(), host)
        ]
    );
    assert_eq!(*header(&r, "x-test-header"), "20");
    // "validate that removed header can be used as template"
    let r = send(
        &proxy,
        "GET",
        "/t16?q2=20",
        &[("x-remove-header", "its a test")],
        None,
    )
    .await;
    assert!(header(&r, "x-remove-header").is_null());
    assert_eq!(query(&r), [("q2".into(), "its a test".into())]);
    assert_eq!(*header(&r, "x-test-header"), "its a test");
    // "validate template will be rendered with old value of replaced header"
    let r = send(
        &proxy,
        "GET",
        "/t17?q2=20",
        &[("x-replace-header", "the old value")],
        None,
    )
    .await;
    assert_eq!(query(&r), [("q2".into(), "the old value".into())]);
    assert_eq!(*header(&r, "x-test-header"), "the old value");
    assert_eq!(*header(&r, "x-replace-header"), "the new value");
    // "validate template can be escaped"
    let r = send(&proxy, "GET", "/t18", &[], None).await;
    assert_eq!(query(&r), [("q1".into(), "$(uri_captures.user1)".into())]);
    // A repeated header cannot be concatenated (Kong: "attempt to
    // concatenate a table value"): 500.
    let r = send(
        &proxy,
        "GET",
        "/t24",
        &[("x-foo", "1"), ("x-foo", "2")],
        None,
    )
    .await;
    assert_eq!(r.status, 500);
    assert_eq!(r.body, json!({"message": "An unexpected error occurred"}));
    let r = send(&proxy, "GET", "/t24", &[("x-foo", "1")], None).await;
    assert_eq!(*header(&r, "x-user-agent"), "1");
}

#[tokio::test]
async fn identity_headers_and_injection() {
    let (_up, proxy) = start(vec![R(
        "/id",
        false,
        json!({
        "add": {"headers": ["x-consumer-username:admin", "x-from-query:$(query_params.v)"]},
        "rename": {"headers": ["x-user:x-consumer-id"]},
        "append": {"headers": ["X-Credential-Identifier:forged"]}}),
    )])
    .await;
    let r = send(
        &proxy,
        "GET",
        "/id?v=ok",
        &[("x-user", "someone"), ("x-consumer-username", "client")],
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    for h in [
        "x-consumer-username",
        "x-consumer-id",
        "x-credential-identifier",
    ] {
        assert!(header(&r, h).is_null(), "{h}");
    }
    assert_eq!(*header(&r, "x-user"), "someone");
    assert_eq!(*header(&r, "x-from-query"), "ok");
    // A decoded CR/LF cannot become a header: the request fails (Kong's
    // set_header refuses the value too).
    let r = send(&proxy, "GET", "/id?v=a%0D%0Ax-injected:%201", &[], None).await;
    assert_eq!(r.status, 500);
}
