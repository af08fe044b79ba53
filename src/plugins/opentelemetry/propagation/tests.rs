//! Kong's `spec/03-plugins/37-opentelemetry/03-propagation_spec.lua` and
//! `spec/01-unit/26-observability/01-tracer_pdk_spec`-style header cases:
//! each format read and written.

use super::*;
use http::HeaderValue;

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const SPAN: &str = "b7ad6b7169203331";

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

fn out<'a>(trace: &'a [u8], parent: Option<&'a [u8]>, sampled: bool) -> Outgoing<'a> {
    Outgoing {
        trace_id: trace,
        span_id: [1, 2, 3, 4, 5, 6, 7, 8],
        parent_id: parent,
        sampled,
        debug: false,
    }
}

#[test]
fn w3c_traceparent_is_read_and_validated() {
    let h = headers(&[("traceparent", &format!("00-{TRACE}-{SPAN}-01"))]);
    let (format, e) = extract(&[Format::W3c], &h).unwrap();
    assert_eq!(format, Format::W3c);
    assert_eq!(e.trace_id.unwrap(), hex::decode(TRACE).unwrap());
    assert_eq!(e.span_id.unwrap(), hex::decode(SPAN).unwrap());
    assert_eq!(e.should_sample, Some(true));
    for bad in [
        format!("01-{TRACE}-{SPAN}-01"),
        format!("00-{}-{SPAN}-01", "0".repeat(32)),
        format!("00-{TRACE}-{}-01", "0".repeat(16)),
        format!("00-{TRACE}-{SPAN}-1"),
        format!("00-{TRACE}-zzzzzzzzzzzzzzzz-01"),
        format!("00-{TRACE}-{SPAN}"),
    ] {
        assert_eq!(
            extract(&[Format::W3c], &headers(&[("traceparent", &bad)])),
            None,
            "{bad}"
        );
    }
}

#[test]
fn first_format_found_wins() {
    let h = headers(&[
        ("traceparent", &format!("00-{TRACE}-{SPAN}-00")),
        ("x-b3-traceid", "1111111111111111"),
        ("x-b3-spanid", "2222222222222222"),
    ]);
    assert_eq!(
        extract(&[Format::B3, Format::W3c], &h).unwrap().0,
        Format::B3
    );
    assert_eq!(
        extract(&[Format::W3c, Format::B3], &h).unwrap().0,
        Format::W3c
    );
    assert_eq!(extract(&[Format::Jaeger], &h), None);
    // A tracestate alone is no B3 context: W3C gets its turn.
    let h = headers(&[
        ("traceparent", &format!("00-{TRACE}-{SPAN}-01")),
        ("tracestate", "vendor=1"),
    ]);
    assert_eq!(
        extract(&[Format::B3, Format::W3c], &h).unwrap().0,
        Format::W3c
    );
}

#[test]
fn b3_single_and_multi() {
    let h = headers(&[("b3", &format!("{TRACE}-{SPAN}-1-{}", "3".repeat(16)))]);
    let (_, e) = extract(&[Format::B3], &h).unwrap();
    assert!(e.single_header);
    assert_eq!(e.should_sample, Some(true));
    assert_eq!(e.parent_id.unwrap(), vec![0x33; 8]);
    let h = headers(&[("b3", "d")]);
    let (_, e) = extract(&[Format::B3], &h).unwrap();
    assert!(e.debug && e.trace_id.is_none());
    let h = headers(&[
        ("x-b3-traceid", "1111111111111111"),
        ("x-b3-spanid", SPAN),
        ("x-b3-sampled", "0"),
    ]);
    let (_, e) = extract(&[Format::B3], &h).unwrap();
    assert!(!e.single_header);
    assert_eq!(e.trace_id.unwrap().len(), 8);
    assert_eq!(e.should_sample, Some(false));
    // An invalid id drops the ids, not the sampling decision.
    let h = headers(&[("x-b3-traceid", "xyz"), ("x-b3-sampled", "1")]);
    let (_, e) = extract(&[Format::B3], &h).unwrap();
    assert_eq!((e.trace_id, e.should_sample), (None, Some(true)));
}

#[test]
fn jaeger_and_ot() {
    let h = headers(&[("uber-trace-id", &format!("{TRACE}:{SPAN}:0:1"))]);
    let (_, e) = extract(&[Format::Jaeger], &h).unwrap();
    assert_eq!(e.trace_id.unwrap(), hex::decode(TRACE).unwrap());
    assert_eq!(e.parent_id, None);
    assert_eq!(e.should_sample, Some(true));
    let h = headers(&[
        ("ot-tracer-traceid", TRACE),
        ("ot-tracer-spanid", SPAN),
        ("ot-tracer-sampled", "1"),
    ]);
    let (_, e) = extract(&[Format::Ot], &h).unwrap();
    assert_eq!(e.span_id.unwrap(), hex::decode(SPAN).unwrap());
}

#[test]
fn injected_headers_per_format() {
    let trace = hex::decode(TRACE).unwrap();
    let parent = hex::decode(SPAN).unwrap();
    let o = out(&trace, Some(&parent), true);
    let one = |f| {
        inject(f, &o)
            .into_iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        one(Format::W3c),
        vec![format!("traceparent: 00-{TRACE}-0102030405060708-01")]
    );
    assert_eq!(
        one(Format::B3),
        vec![
            format!("x-b3-traceid: {TRACE}"),
            "x-b3-spanid: 0102030405060708".to_string(),
            format!("x-b3-parentspanid: {SPAN}"),
            "x-b3-sampled: 1".to_string(),
        ]
    );
    assert_eq!(
        one(Format::B3Single),
        vec![format!("b3: {TRACE}-0102030405060708-1-{SPAN}")]
    );
    assert_eq!(
        one(Format::Jaeger),
        vec![format!("uber-trace-id: {TRACE}:0102030405060708:{SPAN}:01")]
    );
    assert_eq!(
        one(Format::Ot),
        vec![
            format!("ot-tracer-traceid: {TRACE}"),
            "ot-tracer-spanid: 0102030405060708".to_string(),
            "ot-tracer-sampled: 1".to_string(),
        ]
    );
    // A 64-bit trace id is padded for W3C, kept for B3.
    let short = vec![0x11; 8];
    let o = out(&short, None, false);
    let w3c = &inject(Format::W3c, &o)[0].1;
    assert_eq!(
        w3c,
        &format!(
            "00-{}{}-0102030405060708-00",
            "0".repeat(16),
            "1".repeat(16)
        )
    );
    assert_eq!(inject(Format::B3, &o)[0].1, "1".repeat(16));
}
