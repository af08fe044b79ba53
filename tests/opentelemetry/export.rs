//! `04-exporter_spec.lua` and `05-otelcol_spec.lua`: what reaches the
//! collector, decoded with the published protobuf types.

use super::{get, seen, traced};
use crate::support::otlp::{Collector, int_attribute, string_attribute};
use crate::support::upstream::Upstream;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use serde_json::json;
use std::time::{Duration, Instant};

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT: &str = "b7ad6b7169203331";

#[tokio::test]
async fn the_kong_span_is_exported_in_the_clients_trace() {
    // "works" / "#propagate w3c traceparent": the exported span is the
    // upstream's parent and the client's child, with Kong's attributes,
    // under Kong's resource and scope, as protobuf with the configured
    // headers.
    let (up, collector) = (Upstream::start("up").await, Collector::start().await);
    let proxy = traced(
        &up,
        &json!({"traces_endpoint": collector.traces_url(),
                "headers": {"Authorization": "Bearer otel-token"},
                "resource_attributes": {"service.name": "edge", "deployment.environment": "test"},
                "queue": {"max_coalescing_delay": 0.05}}),
    )
    .await;
    let (status, _, h) = get(
        &proxy.http_url("/orders?id=7"),
        &[("traceparent", &format!("00-{TRACE}-{PARENT}-01"))],
    )
    .await;
    assert_eq!(status, 200);
    let upstream_parent = seen(&h, "traceparent").unwrap()[36..52].to_string();

    let spans = collector.wait_spans(1).await;
    assert_eq!(spans.len(), 1);
    let span = &spans[0];
    assert_eq!(hex::encode(&span.trace_id), TRACE);
    assert_eq!(hex::encode(&span.span_id), upstream_parent);
    assert_eq!(hex::encode(&span.parent_span_id), PARENT);
    assert_eq!(span.name, "kong");
    assert_eq!(span.kind, SpanKind::Server as i32);
    assert!(span.end_time_unix_nano >= span.start_time_unix_nano);
    assert!(span.start_time_unix_nano > 0);
    let a = &span.attributes;
    assert_eq!(string_attribute(a, "http.method").as_deref(), Some("GET"));
    assert_eq!(int_attribute(a, "http.status_code"), Some(200));
    assert_eq!(string_attribute(a, "http.scheme").as_deref(), Some("http"));
    assert_eq!(string_attribute(a, "http.flavor").as_deref(), Some("1.1"));
    assert_eq!(
        string_attribute(a, "net.peer.ip").as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(string_attribute(a, "http.route").as_deref(), Some("/"));
    let url = string_attribute(a, "http.url").unwrap();
    // The path only: a query may carry a token.
    assert!(
        url.starts_with("http://127.0.0.1") && url.ends_with("/orders"),
        "{url}"
    );

    let export = &collector.trace_exports()[0];
    assert_eq!(export.headers["content-type"], "application/x-protobuf");
    assert_eq!(export.headers["authorization"], "Bearer otel-token");
    let resource_spans = &export.body.resource_spans[0];
    let resource = resource_spans.resource.as_ref().unwrap();
    assert_eq!(
        string_attribute(&resource.attributes, "service.name").as_deref(),
        Some("edge")
    );
    assert_eq!(
        string_attribute(&resource.attributes, "deployment.environment").as_deref(),
        Some("test")
    );
    assert!(string_attribute(&resource.attributes, "service.instance.id").is_some());
    let scope = resource_spans.scope_spans[0].scope.as_ref().unwrap();
    assert_eq!(
        (scope.name.as_str(), scope.version.as_str()),
        ("kong-internal", "0.1.0")
    );
}

#[tokio::test]
async fn spans_are_batched() {
    // "#batch_span_count" (deprecated, mapped to queue.max_batch_size):
    // five requests, one export of five spans.
    let (up, collector) = (Upstream::start("up").await, Collector::start().await);
    let proxy = traced(
        &up,
        &json!({"traces_endpoint": collector.traces_url(), "batch_span_count": 5,
                "queue": {"max_coalescing_delay": 30}}),
    )
    .await;
    for _ in 0..5 {
        assert_eq!(get(&proxy.http_url("/"), &[]).await.0, 200);
    }
    let spans = collector.wait_spans(5).await;
    assert_eq!(spans.len(), 5);
    assert_eq!(collector.trace_exports().len(), 1);
}

#[tokio::test]
async fn a_failing_collector_is_retried() {
    // Kong's queue: a batch the collector refuses is sent again.
    let (up, collector) = (Upstream::start("up").await, Collector::start().await);
    collector.fail_next(2);
    let proxy = traced(
        &up,
        &json!({"traces_endpoint": collector.traces_url(),
                "queue": {"max_coalescing_delay": 0, "initial_retry_delay": 0.05}}),
    )
    .await;
    get(&proxy.http_url("/"), &[]).await;
    assert_eq!(collector.wait_spans(1).await.len(), 1);
    assert_eq!(collector.requests(), 3);
    assert_eq!(proxy.runtime.opentelemetry.dropped(), 0);
}

#[tokio::test]
async fn sampling_rate_zero_exports_nothing() {
    // "#sampling_rate": at 0 nothing is exported and the upstream is told
    // the trace is not sampled; a client's unsampled trace is not exported
    // at rate 1 either.
    let (up, collector) = (Upstream::start("up").await, Collector::start().await);
    let proxy = traced(
        &up,
        &json!({"traces_endpoint": collector.traces_url(), "sampling_rate": 0,
                "queue": {"max_coalescing_delay": 0}}),
    )
    .await;
    let (_, _, h) = get(&proxy.http_url("/"), &[]).await;
    assert!(seen(&h, "traceparent").unwrap().ends_with("-00"));
    let (up2, collector2) = (Upstream::start("up2").await, Collector::start().await);
    let proxy2 = traced(
        &up2,
        &json!({"traces_endpoint": collector2.traces_url(), "sampling_rate": 1,
                "queue": {"max_coalescing_delay": 0}}),
    )
    .await;
    let (_, _, h) = get(
        &proxy2.http_url("/"),
        &[("traceparent", &format!("00-{TRACE}-{PARENT}-00"))],
    )
    .await;
    assert!(seen(&h, "traceparent").unwrap().ends_with("-00"));
    // A sampled request afterwards arrives: the exporter works, and what
    // was skipped stayed skipped.
    get(
        &proxy2.http_url("/"),
        &[("traceparent", &format!("00-{TRACE}-{PARENT}-01"))],
    )
    .await;
    assert_eq!(collector2.wait_spans(1).await.len(), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(collector2.spans().len(), 1);
    assert_eq!(collector.requests(), 0);
}

#[tokio::test]
async fn a_stuck_collector_never_slows_the_proxy() {
    // Kong's queue "never blocks": with a collector that never answers and
    // room for two spans, requests are served as fast as without, and
    // the overflow is dropped and counted.
    let (up, collector) = (Upstream::start("up").await, Collector::start().await);
    collector.hold();
    let proxy = traced(
        &up,
        &json!({"traces_endpoint": collector.traces_url(), "read_timeout": 60000,
                "send_timeout": 60000,
                "queue": {"max_entries": 2, "max_batch_size": 1, "max_coalescing_delay": 0}}),
    )
    .await;
    let started = Instant::now();
    for _ in 0..30 {
        assert_eq!(get(&proxy.http_url("/"), &[]).await.0, 200);
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "{took:?}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while proxy.runtime.opentelemetry.dropped() < 27 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // One batch in flight, two waiting: the rest dropped (28 when the
    // sender had not yet taken the first span when the second came).
    let dropped = proxy.runtime.opentelemetry.dropped();
    assert!((27..=28).contains(&dropped), "{dropped}");
    assert_eq!(collector.requests(), 1);
}

#[tokio::test]
async fn logs_endpoint_gets_a_record_in_the_trace() {
    // 05-otelcol_spec "#logs": records carry the request's trace and span.
    let (up, collector) = (Upstream::start("up").await, Collector::start().await);
    let proxy = traced(
        &up,
        &json!({"logs_endpoint": collector.logs_url(),
                "queue": {"max_coalescing_delay": 0}}),
    )
    .await;
    let (_, _, h) = get(
        &proxy.http_url("/logged"),
        &[("traceparent", &format!("00-{TRACE}-{PARENT}-01"))],
    )
    .await;
    let span = seen(&h, "traceparent").unwrap()[36..52].to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    while collector.log_exports().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let exports = collector.log_exports();
    let record = &exports[0].body.resource_logs[0].scope_logs[0].log_records[0];
    assert_eq!(hex::encode(&record.trace_id), TRACE);
    assert_eq!(hex::encode(&record.span_id), span);
    assert_eq!(record.severity_text, "INFO");
    assert_eq!(
        int_attribute(&record.attributes, "http.status_code"),
        Some(200)
    );
    // No traces_endpoint: no span export.
    assert!(collector.trace_exports().is_empty());
}
