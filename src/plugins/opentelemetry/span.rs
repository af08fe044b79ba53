//! The OTLP messages: the request's `kong` span with Kong's attributes
//! (`kong/observability/tracing/instrumentation.lua`: `request` and
//! `runloop_before_header_filter`), a log record of the request, and the
//! export requests that carry a batch under kingress's resource.

use super::propagation::id_size;
use super::trace::TraceContext;
use crate::model::PathMatch;
use crate::plugins::LogRecord;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord as OtlpLog, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, span::SpanKind};
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// Kong's instrumentation scope.
const SCOPE_NAME: &str = "kong-internal";
/// Kong's instrumentation scope version.
const SCOPE_VERSION: &str = "0.1.0";
/// OTLP's INFO severity number.
const SEVERITY_INFO: i32 = 9;

/// The request's root span, named `kong` as Kong names it.
pub(super) fn root(record: &LogRecord, context: &TraceContext) -> Span {
    let request = &record.request;
    let start = nanos(request.started_at);
    let end = start.saturating_add(record.response.total_latency.as_nanos() as u64);
    Span {
        trace_id: id_size(&context.trace_id, &[16]),
        span_id: context.span_id.to_vec(),
        trace_state: context.trace_state.clone(),
        parent_span_id: context
            .parent_id
            .as_deref()
            .map(|p| id_size(p, &[8]))
            .unwrap_or_default(),
        flags: u32::from(context.flags),
        name: "kong".into(),
        kind: SpanKind::Server as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        attributes: attributes(record),
        ..Span::default()
    }
}

/// One log record per request, in the request's trace and span.
pub(super) fn log(record: &LogRecord, context: &TraceContext) -> OtlpLog {
    let request = &record.request;
    let now = nanos(SystemTime::now());
    let body = format!(
        "{} {} {}",
        request.method,
        request.uri.path(),
        record.response.status.as_u16()
    );
    OtlpLog {
        time_unix_nano: now,
        observed_time_unix_nano: now,
        severity_number: SEVERITY_INFO,
        severity_text: "INFO".into(),
        body: Some(string(body)),
        attributes: attributes(record),
        flags: u32::from(context.flags),
        trace_id: id_size(&context.trace_id, &[16]),
        span_id: context.span_id.to_vec(),
        ..OtlpLog::default()
    }
}

/// Kong's root span attributes.
fn attributes(record: &LogRecord) -> Vec<KeyValue> {
    let request = &record.request;
    let scheme = if request.tls { "https" } else { "http" };
    let host = request.host.clone().unwrap_or_default();
    // Kong's `http.url` carries the query too; it may hold an
    // `access_token` or `apikey`, and spans leave for a third party, so
    // kingress sends the path only (as its access log does).
    let target = request.uri.path().to_string();
    let flavor = match request.version {
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_2 => "2.0",
        http::Version::HTTP_3 => "3.0",
        _ => "1.1",
    };
    let client_ip = request.client_addr.ip().to_string();
    let route = request
        .route
        .paths
        .first()
        .map(kong_path)
        .unwrap_or_default();
    vec![
        attribute("http.method", string(request.method.as_str())),
        attribute("http.url", string(format!("{scheme}://{host}{target}"))),
        attribute("http.host", string(host)),
        attribute("http.scheme", string(scheme)),
        attribute("http.flavor", string(flavor)),
        attribute("http.client_ip", string(client_ip.clone())),
        attribute("net.peer.ip", string(client_ip)),
        attribute(
            "http.status_code",
            AnyValue {
                value: Some(any_value::Value::IntValue(i64::from(
                    record.response.status.as_u16(),
                ))),
            },
        ),
        attribute("http.route", string(route)),
    ]
}

/// A route path as Kong prints it (`~` before a regex).
fn kong_path(path: &PathMatch) -> String {
    match path {
        PathMatch::Plain(p) | PathMatch::Prefix(p) | PathMatch::Exact(p) => p.clone(),
        PathMatch::Regex(r) => format!("~{}", r.as_str().trim_start_matches('^')),
    }
}

/// The resource of every export: Kong's defaults (`service.name` kong,
/// `service.version`, `service.instance.id`), overridden by the
/// configured `resource_attributes`.
pub(super) fn resource(
    configured: Option<&BTreeMap<String, String>>,
    instance_id: &str,
) -> Resource {
    let mut merged: BTreeMap<String, String> = [
        ("service.name", "kong"),
        ("service.version", env!("CARGO_PKG_VERSION")),
        ("service.instance.id", instance_id),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in configured.into_iter().flatten() {
        merged.insert(k.clone(), v.clone());
    }
    Resource {
        attributes: merged
            .into_iter()
            .map(|(k, v)| attribute(&k, string(v)))
            .collect(),
        ..Resource::default()
    }
}

/// An `ExportTraceServiceRequest` with one resource and Kong's scope.
pub(super) fn traces(resource: &Resource, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource.clone()),
            scope_spans: vec![ScopeSpans {
                scope: Some(scope()),
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

/// An `ExportLogsServiceRequest` with one resource and Kong's scope.
pub(super) fn logs(resource: &Resource, log_records: Vec<OtlpLog>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(resource.clone()),
            scope_logs: vec![ScopeLogs {
                scope: Some(scope()),
                log_records,
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    }
}

fn scope() -> InstrumentationScope {
    InstrumentationScope {
        name: SCOPE_NAME.into(),
        version: SCOPE_VERSION.into(),
        ..InstrumentationScope::default()
    }
}

fn attribute(key: &str, value: AnyValue) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(value),
        ..KeyValue::default()
    }
}

fn string(s: impl Into<String>) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(s.into())),
    }
}

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
