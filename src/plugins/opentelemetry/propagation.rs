//! Kong's tracing header formats (`kong/observability/tracing/propagation/
//! extractors/*` and `injectors/*`): what a client's headers say about its
//! trace, and the headers that carry ours to the upstream. Baggage headers
//! (`uberctx-*`, `ot-baggage-*`) and `tracestate` pass through untouched.

use crate::model::plugin::opentelemetry::Format;
use http::{HeaderMap, HeaderName};

/// What a client's tracing headers said (Kong's extracted context).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Extracted {
    /// The trace (8 or 16 bytes).
    pub trace_id: Option<Vec<u8>>,
    /// The client's span: the parent of kingress's span.
    pub span_id: Option<Vec<u8>>,
    /// The client span's own parent (b3, jaeger).
    pub parent_id: Option<Vec<u8>>,
    /// The client's sampling decision, if it made one.
    pub should_sample: Option<bool>,
    /// W3C trace flags.
    pub w3c_flags: Option<u8>,
    /// B3's debug flag (`X-B3-Flags: 1`, `d`).
    pub debug: bool,
    /// Read from the single `b3` header.
    pub single_header: bool,
}

/// What is injected: kingress's span in the client's trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Outgoing<'a> {
    /// The trace (8 or 16 bytes).
    pub trace_id: &'a [u8],
    /// kingress's span, the upstream's parent.
    pub span_id: [u8; 8],
    /// kingress's span's parent (the client's span).
    pub parent_id: Option<&'a [u8]>,
    /// The sampling decision.
    pub sampled: bool,
    /// B3's debug flag, kept.
    pub debug: bool,
}

/// The first format of `formats` whose headers are present and valid, and
/// what they say (Kong: first found wins; an invalid header is ignored
/// with a warning and the next format is tried).
pub(crate) fn extract(formats: &[Format], headers: &HeaderMap) -> Option<(Format, Extracted)> {
    formats.iter().find_map(|format| {
        let found = match format {
            Format::W3c => w3c(headers),
            Format::B3 | Format::B3Single => b3(headers),
            Format::Jaeger => jaeger(headers),
            Format::Ot => ot(headers),
            // Refused by the configuration.
            _ => None,
        };
        // Kong's b3 extractor "finds" an empty context whenever a
        // `tracestate` is present, which would hide every W3C parent sent
        // with a tracestate; a context without a trace id or a sampling
        // decision counts as not found here.
        found
            .filter(|e| e.trace_id.is_some() || e.should_sample.is_some())
            .map(|e| (*format, e))
    })
}

/// The headers of `format` for `out`.
pub(crate) fn inject(format: Format, out: &Outgoing<'_>) -> Vec<(HeaderName, String)> {
    let trace = |size: &[usize]| hex::encode(id_size(out.trace_id, size));
    let span = hex::encode(out.span_id);
    let parent = out.parent_id.map(|p| hex::encode(id_size(p, &[8])));
    let name = HeaderName::from_static;
    match format {
        Format::W3c => vec![(
            name("traceparent"),
            format!(
                "00-{}-{span}-{}",
                trace(&[16]),
                if out.sampled { "01" } else { "00" }
            ),
        )],
        Format::B3 => {
            let mut h = vec![
                (name("x-b3-traceid"), trace(&[16, 8])),
                (name("x-b3-spanid"), span),
            ];
            if let Some(parent) = parent {
                h.push((name("x-b3-parentspanid"), parent));
            }
            if out.debug {
                h.push((name("x-b3-flags"), "1".into()));
            } else {
                h.push((name("x-b3-sampled"), sampled_digit(out.sampled)));
            }
            h
        }
        Format::B3Single => {
            let sampled = if out.debug {
                "d".to_string()
            } else {
                sampled_digit(out.sampled)
            };
            let mut value = format!("{}-{span}-{sampled}", trace(&[16, 8]));
            if let Some(parent) = parent {
                value = format!("{value}-{parent}");
            }
            vec![(name("b3"), value)]
        }
        Format::Jaeger => vec![(
            name("uber-trace-id"),
            format!(
                "{}:{span}:{}:{}",
                trace(&[16, 8]),
                parent.unwrap_or_else(|| "0".into()),
                if out.sampled { "01" } else { "00" }
            ),
        )],
        Format::Ot => vec![
            (name("ot-tracer-traceid"), trace(&[8, 16])),
            (name("ot-tracer-spanid"), span),
            (name("ot-tracer-sampled"), sampled_digit(out.sampled)),
        ],
        // Refused by the configuration.
        _ => Vec::new(),
    }
}

/// Kong's `to_id_size`: an id of an allowed size stays; otherwise it is
/// cut to (or left-padded with zeros to) the first allowed size.
pub(crate) fn id_size(id: &[u8], allowed: &[usize]) -> Vec<u8> {
    if allowed.contains(&id.len()) {
        return id.to_vec();
    }
    let size = allowed.first().copied().unwrap_or(id.len());
    if id.len() > size {
        id[id.len() - size..].to_vec()
    } else {
        let mut padded = vec![0; size - id.len()];
        padded.extend_from_slice(id);
        padded
    }
}

fn sampled_digit(sampled: bool) -> String {
    if sampled { "1" } else { "0" }.into()
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Kong's `from_hex`: an odd number of digits gets a leading zero.
fn from_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 == 1 {
        hex::decode(format!("0{s}")).ok()
    } else {
        hex::decode(s).ok()
    }
}

fn all_zero(id: &[u8]) -> bool {
    id.iter().all(|b| *b == 0)
}

/// `traceparent: 00-<32 hex>-<16 hex>-<2 hex>`.
fn w3c(headers: &HeaderMap) -> Option<Extracted> {
    let value = header(headers, "traceparent").filter(|v| !v.is_empty())?;
    let parts: Vec<&str> = value.split('-').collect();
    let invalid = |why: &str| {
        tracing::warn!(target: "kingress::opentelemetry", "invalid W3C traceparent header ({why}); ignoring");
        None
    };
    let [version, trace, parent, flags] = parts[..] else {
        return invalid("not four fields");
    };
    if ![version, trace, parent, flags].iter().all(|p| is_hex(p)) {
        return invalid("not hexadecimal");
    }
    if version != "00" {
        return invalid("version");
    }
    let trace_id = from_hex(trace).filter(|t| t.len() == 16 && !all_zero(t));
    let Some(trace_id) = trace_id.filter(|_| trace.len() == 32) else {
        return invalid("trace id");
    };
    let span_id = from_hex(parent).filter(|p| parent.len() == 16 && !all_zero(p));
    let Some(span_id) = span_id else {
        return invalid("parent id");
    };
    if flags.len() != 2 {
        return invalid("flags");
    }
    let flags = u8::from_str_radix(flags, 16).ok()?;
    Some(Extracted {
        trace_id: Some(trace_id),
        span_id: Some(span_id),
        should_sample: Some(flags & 1 == 1),
        w3c_flags: Some(flags),
        ..Extracted::default()
    })
}

/// The B3 headers: the single `b3` header (or a `b3=` entry of
/// `tracestate`) first, then `X-B3-*` fill in what it left out.
fn b3(headers: &HeaderMap) -> Option<Extracted> {
    const ANY: [&str; 7] = [
        "b3",
        "tracestate",
        "x-b3-traceid",
        "x-b3-spanid",
        "x-b3-parentspanid",
        "x-b3-sampled",
        "x-b3-flags",
    ];
    if !ANY.iter().any(|h| headers.contains_key(*h)) {
        return None;
    }
    let mut out = Extracted::default();
    let single = header(headers, "b3").map(str::to_string).or_else(|| {
        headers
            .get_all("tracestate")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("b3=").map(str::to_string))
    });
    if let Some(single) = single {
        out.single_header = true;
        b3_single(&single, &mut out);
    }
    // The multi-header form.
    match header(headers, "x-b3-sampled") {
        Some("1" | "true") => out.should_sample = out.should_sample.or(Some(true)),
        Some("0" | "false") => out.should_sample = out.should_sample.or(Some(false)),
        _ => {}
    }
    if header(headers, "x-b3-flags") == Some("1") {
        out.debug = true;
        out.should_sample = out.should_sample.or(Some(true));
    }
    let id = |name: &str, sizes: &[usize]| -> Result<Option<Vec<u8>>, ()> {
        match header(headers, name) {
            None => Ok(None),
            Some(v) if sizes.contains(&v.len()) && is_hex(v) => Ok(from_hex(v)),
            Some(_) => Err(()),
        }
    };
    let (trace, span, parent) = (
        id("x-b3-traceid", &[16, 32]),
        id("x-b3-spanid", &[16]),
        id("x-b3-parentspanid", &[16]),
    );
    if let (Ok(trace), Ok(span), Ok(parent)) = (trace, span, parent) {
        out.trace_id = out.trace_id.or(trace);
        out.span_id = out.span_id.or(span);
        out.parent_id = out.parent_id.or(parent);
    }
    if out.trace_id.is_none() {
        out.span_id = None;
        out.parent_id = None;
    }
    Some(out)
}

/// `b3: {trace}-{span}[-{sampled}[-{parent}]]`, or just the sampling
/// state (`0`, `1`, `d`).
fn b3_single(value: &str, out: &mut Extracted) {
    match value {
        "1" => out.should_sample = Some(true),
        "d" => {
            out.should_sample = Some(true);
            out.debug = true;
        }
        "0" => out.should_sample = Some(false),
        _ => {
            let parts: Vec<&str> = value.split('-').collect();
            let (trace, span) = (parts.first().copied(), parts.get(1).copied());
            let sampled = parts.get(2).copied().unwrap_or("");
            let parent = parts.get(3).copied().unwrap_or("");
            let valid = parts.len() <= 4
                && trace.is_some_and(|t| (t.len() == 16 || t.len() == 32) && is_hex(t))
                && span.is_some_and(|s| s.len() == 16 && is_hex(s))
                && ["", "0", "1", "d"].contains(&sampled)
                && (parent.is_empty() || (parent.len() == 16 && is_hex(parent)));
            if !valid {
                tracing::warn!(target: "kingress::opentelemetry", "b3 single header invalid; ignoring");
                return;
            }
            match sampled {
                "1" => out.should_sample = Some(true),
                "d" => {
                    out.should_sample = Some(true);
                    out.debug = true;
                }
                "0" => out.should_sample = Some(false),
                _ => {}
            }
            out.trace_id = trace.and_then(from_hex);
            out.span_id = span.and_then(from_hex);
            out.parent_id = (!parent.is_empty()).then(|| from_hex(parent)).flatten();
        }
    }
}

/// `uber-trace-id: {trace}:{span}:{parent}:{flags}`.
fn jaeger(headers: &HeaderMap) -> Option<Extracted> {
    let value = header(headers, "uber-trace-id").filter(|v| !v.is_empty())?;
    let parts: Vec<&str> = value.split(':').collect();
    let [trace, span, parent, flags] = parts[..] else {
        tracing::warn!(target: "kingress::opentelemetry", "invalid jaeger uber-trace-id header; ignoring");
        return None;
    };
    if ![trace, span, parent, flags].iter().all(|p| is_hex(p)) {
        tracing::warn!(target: "kingress::opentelemetry", "invalid jaeger uber-trace-id header; ignoring");
        return None;
    }
    let trace_id = from_hex(trace).filter(|t| trace.len() <= 32 && !all_zero(t))?;
    let span_id = from_hex(span).filter(|s| span.len() <= 16 && !all_zero(s))?;
    if flags.len() > 2 {
        return None;
    }
    let flags = u8::from_str_radix(flags, 16).ok()?;
    let parent_id = from_hex(parent).filter(|p| !all_zero(p));
    Some(Extracted {
        trace_id: Some(id_size(&trace_id, &[16, 8])),
        span_id: Some(id_size(&span_id, &[8])),
        parent_id: parent_id.map(|p| id_size(&p, &[8])),
        should_sample: Some(flags & 1 == 1),
        ..Extracted::default()
    })
}

/// `ot-tracer-traceid`, `ot-tracer-spanid`, `ot-tracer-sampled`.
fn ot(headers: &HeaderMap) -> Option<Extracted> {
    const ANY: [&str; 3] = ["ot-tracer-sampled", "ot-tracer-traceid", "ot-tracer-spanid"];
    if !ANY.iter().any(|h| headers.contains_key(*h)) {
        return None;
    }
    let mut out = Extracted::default();
    match header(headers, "ot-tracer-sampled") {
        Some("1" | "true") => out.should_sample = Some(true),
        Some("0" | "false") => out.should_sample = Some(false),
        _ => {}
    }
    let trace = header(headers, "ot-tracer-traceid");
    let span = header(headers, "ot-tracer-spanid");
    let trace_ok = trace.is_none_or(|t| (t.len() == 16 || t.len() == 32) && is_hex(t));
    let span_ok = span.is_none_or(|s| s.len() == 16 && is_hex(s));
    if trace_ok && span_ok {
        out.trace_id = trace.and_then(from_hex);
        out.span_id = out.trace_id.as_ref().and(span.and_then(from_hex));
    }
    Some(out)
}

#[cfg(test)]
mod tests;
