//! `03-propagation_spec.lua`: the headers the upstream receives.

use super::{get, seen, traced};
use crate::support::otlp::Collector;
use crate::support::upstream::Upstream;
use serde_json::json;

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT: &str = "b7ad6b7169203331";

#[tokio::test]
async fn w3c_is_continued_with_a_new_span() {
    // "propagates tracing headers (w3c request)": same trace, kingress's
    // span as the parent, the sampled flag kept; tracestate passes.
    let (up, collector) = (Upstream::start("up").await, Collector::start().await);
    let proxy = traced(&up, &json!({"traces_endpoint": collector.traces_url()})).await;
    let (status, _, h) = get(
        &proxy.http_url("/w3c"),
        &[
            ("traceparent", &format!("00-{TRACE}-{PARENT}-01")),
            ("tracestate", "vendor=1"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let traceparent = seen(&h, "traceparent").unwrap();
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts[0], "00");
    assert_eq!(parts[1], TRACE);
    assert_ne!(parts[2], PARENT, "the upstream's parent is kingress's span");
    assert_eq!(parts[2].len(), 16);
    assert_eq!(parts[3], "01");
    assert_eq!(seen(&h, "tracestate"), Some("vendor=1"));
}

#[tokio::test]
async fn without_a_context_a_trace_starts() {
    // "default propagation headers (w3c)": no incoming headers, a new trace
    // injected in the default format.
    let (up, collector) = (Upstream::start("up").await, Collector::start().await);
    let proxy = traced(&up, &json!({"traces_endpoint": collector.traces_url()})).await;
    let (_, _, a) = get(&proxy.http_url("/"), &[]).await;
    let (_, _, b) = get(&proxy.http_url("/"), &[]).await;
    let (a, b) = (
        seen(&a, "traceparent").unwrap(),
        seen(&b, "traceparent").unwrap(),
    );
    assert_eq!(a.len(), 55, "{a}");
    assert!(a.ends_with("-01"), "{a}");
    assert_ne!(a[3..35], b[3..35], "each request its own trace");
}

#[tokio::test]
async fn b3_in_b3_out_with_preserve() {
    // "propagates tracing headers (b3-single request)" with the default
    // `preserve`: the format found is the format sent.
    let (up, collector) = (Upstream::start("up").await, Collector::start().await);
    let proxy = traced(&up, &json!({"traces_endpoint": collector.traces_url()})).await;
    let (_, _, h) = get(
        &proxy.http_url("/"),
        &[("b3", &format!("{TRACE}-{PARENT}-1"))],
    )
    .await;
    let b3 = seen(&h, "b3").unwrap();
    let parts: Vec<&str> = b3.split('-').collect();
    assert_eq!((parts[0], parts[2], parts[3]), (TRACE, "1", PARENT), "{b3}");
    assert_ne!(parts[1], PARENT);
    assert_eq!(seen(&h, "traceparent"), None);

    // Multi-header B3 in, `X-B3-*` out.
    let (_, _, h) = get(
        &proxy.http_url("/"),
        &[
            ("x-b3-traceid", TRACE),
            ("x-b3-spanid", PARENT),
            ("x-b3-sampled", "1"),
        ],
    )
    .await;
    assert_eq!(seen(&h, "x-b3-traceid"), Some(TRACE));
    assert_eq!(seen(&h, "x-b3-parentspanid"), Some(PARENT));
    assert_ne!(seen(&h, "x-b3-spanid"), Some(PARENT));
}

#[tokio::test]
async fn extract_clear_inject_as_configured() {
    // "propagates tracing headers (extract b3, clear b3, inject w3c and
    // jaeger)".
    let (up, collector) = (Upstream::start("up").await, Collector::start().await);
    let proxy = traced(
        &up,
        &json!({"traces_endpoint": collector.traces_url(), "propagation": {
            "extract": ["b3"], "clear": ["b3"], "inject": ["w3c", "jaeger"]}}),
    )
    .await;
    let (_, _, h) = get(
        &proxy.http_url("/"),
        &[
            ("b3", &format!("{TRACE}-{PARENT}-1")),
            // Not extracted: w3c is not in `extract`.
            (
                "traceparent",
                "00-11111111111111111111111111111111-2222222222222222-01",
            ),
        ],
    )
    .await;
    assert_eq!(seen(&h, "b3"), None, "cleared");
    let traceparent = seen(&h, "traceparent").unwrap();
    assert!(
        traceparent.starts_with(&format!("00-{TRACE}-")),
        "{traceparent}"
    );
    let jaeger = seen(&h, "uber-trace-id").unwrap();
    assert!(jaeger.starts_with(&format!("{TRACE}:")), "{jaeger}");
    assert!(jaeger.ends_with(&format!(":{PARENT}:01")), "{jaeger}");
}

#[tokio::test]
async fn trace_id_response_header() {
    // 04-exporter_spec "#http_response_header_for_traceid".
    let (up, collector) = (Upstream::start("up").await, Collector::start().await);
    let proxy = traced(
        &up,
        &json!({"traces_endpoint": collector.traces_url(),
                "http_response_header_for_traceid": "x-trace-id"}),
    )
    .await;
    let (_, headers, _) = get(
        &proxy.http_url("/"),
        &[("traceparent", &format!("00-{TRACE}-{PARENT}-01"))],
    )
    .await;
    assert_eq!(headers["x-trace-id"], TRACE);
    let (_, headers, h) = get(&proxy.http_url("/"), &[]).await;
    let fresh = seen(&h, "traceparent").unwrap();
    assert_eq!(headers["x-trace-id"].to_str().unwrap(), &fresh[3..35]);
}
