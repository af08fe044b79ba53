//! Kong's `spec/03-plugins/37-opentelemetry/02-schema_spec.lua` cases, the
//! rules of Kong's schema (`queue`, `propagation`, timeouts, the entity
//! check), the deprecated fields and kingress's refusals.

use super::*;
use serde_json::json;

fn parse(v: Value) -> Result<OpentelemetryConfig, String> {
    OpentelemetryConfig::parse(&v).map_err(|e| e.to_string())
}

fn err(v: Value) -> String {
    parse(v).unwrap_err()
}

#[test]
fn defaults_follow_kong() {
    let c = parse(json!({"traces_endpoint": "http://collector:4318/v1/traces"})).unwrap();
    assert_eq!(c.queue.max_batch_size, 200);
    assert_eq!(c.queue.max_coalescing_delay, 1.0);
    assert_eq!(c.queue.max_entries, 10_000);
    assert_eq!(c.queue.max_retry_time, 60.0);
    assert_eq!(c.queue.initial_retry_delay, 0.01);
    assert_eq!(c.queue.concurrency_limit, 1);
    assert_eq!(
        (c.connect_timeout, c.send_timeout, c.read_timeout),
        (1000, 5000, 5000)
    );
    assert_eq!(c.header_type, HeaderType::Preserve);
    assert_eq!(c.sampling_rate(), DEFAULT_SAMPLING_RATE);
    assert_eq!(
        Value::Object(OpentelemetryConfig::defaults()),
        json!({
            "traces_endpoint": null, "logs_endpoint": null, "headers": null,
            "resource_attributes": null,
            "queue": {"max_batch_size": 200, "max_coalescing_delay": 1.0, "max_entries": 10000,
                      "max_bytes": null, "max_retry_time": 60.0, "initial_retry_delay": 0.01,
                      "max_retry_delay": 60.0, "concurrency_limit": 1},
            "batch_span_count": null, "batch_flush_delay": null,
            "connect_timeout": 1000, "send_timeout": 5000, "read_timeout": 5000,
            "http_response_header_for_traceid": null, "header_type": "preserve",
            "sampling_rate": null,
            "propagation": {"extract": null, "clear": null, "inject": null, "default_format": "w3c"}
        })
    );
}

#[test]
fn at_least_one_endpoint() {
    assert_eq!(
        err(json!({})),
        "@entity: at least one of these fields must be non-empty: \
         'config.traces_endpoint', 'config.logs_endpoint'"
    );
    assert!(parse(json!({"logs_endpoint": "http://c/v1/logs"})).is_ok());
}

#[test]
fn endpoint_shorthand_sets_traces_endpoint() {
    // Kong's deprecated `endpoint` (the schema spec's configs use it).
    let c = parse(json!({"endpoint": "http://example.dev"})).unwrap();
    assert_eq!(c.traces_endpoint.as_deref(), Some("http://example.dev"));
    assert!(
        err(json!({"endpoint": "http://a", "traces_endpoint": "http://b"}))
            .starts_with("config.endpoint: both deprecated and new field are used")
    );
    let mut form = json!({"endpoint": "http://a"}).as_object().unwrap().clone();
    OpentelemetryConfig::fold_shorthands(&mut form);
    assert_eq!(Value::Object(form), json!({"traces_endpoint": "http://a"}));
}

#[test]
fn urls_are_checked() {
    assert_eq!(
        err(json!({"traces_endpoint": "/v1/traces"})),
        "config.traces_endpoint: missing scheme in url"
    );
    assert!(err(json!({"logs_endpoint": "grpc://c:4317"})).contains("http and https only"));
    assert!(err(json!({"traces_endpoint": "{vault://env/otel}"})).contains("vault references"));
}

#[test]
fn resource_attributes_follow_kong_and_refuse_templates() {
    // "rejects invalid attribute values"
    assert_eq!(
        err(json!({"endpoint": "http://example.dev", "resource_attributes": {"foo": ""}})),
        "config.resource_attributes: length must be at least 1"
    );
    // "rejects invalid attribute keys": JSON keys are strings; a value of
    // another type is refused instead.
    assert_eq!(
        err(json!({"endpoint": "http://example.dev", "resource_attributes": {"foo": 1}})),
        "config.resource_attributes.foo: expected a string"
    );
    // "accepts variable values": Kong renders Lua templates; kingress runs
    // no Lua and says so.
    assert!(
        err(json!({"endpoint": "http://example.dev",
                       "resource_attributes": {"foo": "$(headers.host)"}}))
        .contains("Lua templates in resource attributes are not supported")
    );
    assert!(
        parse(json!({"endpoint": "http://example.dev",
                         "resource_attributes": {"service.name": "edge"}}))
        .is_ok()
    );
}

#[test]
fn ranges_and_names() {
    let e = |extra: Value| {
        let mut v = json!({"traces_endpoint": "http://c"});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        err(v)
    };
    assert_eq!(
        e(json!({"sampling_rate": 1.5})),
        "config.sampling_rate: value should be between 0 and 1"
    );
    assert_eq!(
        e(json!({"connect_timeout": -1})),
        "config.connect_timeout: value should be between 0 and 2147483646"
    );
    assert_eq!(
        e(json!({"queue": {"max_batch_size": 0}})),
        "config.queue.max_batch_size: value should be between 1 and 1000000"
    );
    assert_eq!(
        e(json!({"queue": {"concurrency_limit": 2}})),
        "config.queue.concurrency_limit: expected one of: -1, 1"
    );
    assert_eq!(
        e(json!({"queue": {"initial_retry_delay": 0}})),
        "config.queue.initial_retry_delay: value should be between 0.001 and 1000000"
    );
    assert_eq!(
        e(json!({"queue": {"nope": 1}})),
        "config.queue.nope: unknown field"
    );
    assert!(
        e(json!({"headers": {"bad name": "x"}}))
            .starts_with("config.headers: bad header name 'bad name'")
    );
    assert!(
        e(json!({"http_response_header_for_traceid": "a b"}))
            .starts_with("config.http_response_header_for_traceid: bad header name")
    );
    assert!(
        e(json!({"propagation": {"clear": ["ok", "not ok"]}}))
            .starts_with("config.propagation.clear.2: bad header name")
    );
    assert_eq!(
        e(json!({"header_type": "nope"})),
        "config.header_type: expected one of: preserve, ignore, b3, b3-single, w3c, jaeger, ot, aws, gcp, datadog, instana"
    );
    assert_eq!(
        e(json!({"propagation": {"inject": ["nope"]}})),
        "config.propagation.inject.1: expected one of: preserve, w3c, b3, b3-single, jaeger, ot, datadog, aws, gcp, instana"
    );
    assert!(
        e(json!({"propagation": {"extract": ["b3-single"]}}))
            .starts_with("config.propagation.extract.1: expected one of: w3c, b3,")
    );
}

#[test]
fn unimplemented_formats_are_refused_by_name() {
    for (config, field) in [
        (
            json!({"propagation": {"extract": ["w3c", "datadog"]}}),
            "config.propagation.extract.2",
        ),
        (
            json!({"propagation": {"inject": ["aws"]}}),
            "config.propagation.inject.1",
        ),
        (
            json!({"propagation": {"default_format": "gcp"}}),
            "config.propagation.default_format",
        ),
        (json!({"header_type": "instana"}), "config.header_type"),
    ] {
        let mut v = config;
        v["traces_endpoint"] = json!("http://c");
        let message = err(v);
        assert!(message.starts_with(&format!("{field}: the '")), "{message}");
        assert!(message.contains("not supported by kingress"), "{message}");
    }
}

#[test]
fn deprecated_fields_map_as_kong_maps_them() {
    // Kong's Queue.get_plugin_params: a value other than the old default
    // replaces the queue's.
    let c = parse(
        json!({"traces_endpoint": "http://c", "batch_span_count": 50,
                         "batch_flush_delay": 7, "queue": {"max_batch_size": 10}}),
    )
    .unwrap();
    let q = c.effective_queue();
    assert_eq!((q.max_batch_size, q.max_coalescing_delay), (50, 7.0));
    let c = parse(
        json!({"traces_endpoint": "http://c", "batch_span_count": 200,
                         "batch_flush_delay": 3, "queue": {"max_batch_size": 10}}),
    )
    .unwrap();
    let q = c.effective_queue();
    assert_eq!((q.max_batch_size, q.max_coalescing_delay), (10, 1.0));
}

#[test]
fn header_type_folds_into_propagation() {
    // Kong's propagation.get_plugin_params.
    let c = parse(json!({"traces_endpoint": "http://c"})).unwrap();
    let p = c.effective_propagation();
    assert_eq!(p.extract, Format::EXTRACT_ALL.to_vec());
    assert_eq!(p.inject, vec![Inject::Preserve]);
    let c = parse(json!({"traces_endpoint": "http://c", "header_type": "ignore"})).unwrap();
    let p = c.effective_propagation();
    assert!(p.extract.is_empty());
    assert_eq!(p.inject, vec![Inject::Format(Format::W3c)]);
    let c = parse(json!({"traces_endpoint": "http://c", "header_type": "b3"})).unwrap();
    assert_eq!(
        c.effective_propagation().inject,
        vec![Inject::Preserve, Inject::Format(Format::B3)]
    );
    // Any of extract/clear/inject set: `propagation` as it is.
    let c = parse(json!({"traces_endpoint": "http://c", "header_type": "b3",
                         "propagation": {"extract": ["w3c"]}}))
    .unwrap();
    let p = c.effective_propagation();
    assert_eq!(p.extract, vec![Format::W3c]);
    assert!(p.inject.is_empty());
}

#[test]
fn header_values_never_print() {
    let c = parse(json!({"traces_endpoint": "http://c",
                         "headers": {"Authorization": "Bearer s3cret"}}))
    .unwrap();
    assert!(!format!("{c:?}").contains("s3cret"));
    let rendered = c.render();
    assert_eq!(rendered["headers"]["Authorization"], MASK);
    assert!(!rendered.to_string().contains("s3cret"));
    assert_eq!(
        c.headers.unwrap()["Authorization"].0.expose(),
        "Bearer s3cret"
    );
}

#[test]
fn render_round_trips() {
    let given = json!({"traces_endpoint": "http://c:4318/v1/traces", "sampling_rate": 0.25,
                       "propagation": {"extract": ["b3", "w3c"], "inject": ["preserve", "jaeger"],
                                       "clear": ["x-b3-sampled"], "default_format": "b3"},
                       "resource_attributes": {"service.name": "edge"},
                       "queue": {"max_entries": 5}});
    let c = parse(given).unwrap();
    let again = parse(c.render()).unwrap();
    assert_eq!(c, again);
    assert_eq!(
        c.render()["propagation"]["inject"],
        json!(["preserve", "jaeger"])
    );
}
