//! The request's place in a trace: Kong's `get_inject_ctx` (ids, parent,
//! sampling decision) and `propagation.propagate` (extract, clear, inject).

use super::propagation::{self, Outgoing};
use crate::model::plugin::OpentelemetryConfig;
use crate::model::plugin::opentelemetry::{Format, Inject};
use crate::plugins::Exchange;
use http::HeaderName;

/// What the access phase decided, kept for the log phase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceContext {
    /// The trace (16 bytes, or 8 when a 64-bit B3/OT/Jaeger id came in).
    pub trace_id: Vec<u8>,
    /// kingress's span (the upstream's parent).
    pub span_id: [u8; 8],
    /// The client's span, if it sent one.
    pub parent_id: Option<Vec<u8>>,
    /// Whether the span is exported.
    pub sampled: bool,
    /// W3C trace flags of the outgoing context.
    pub flags: u8,
    /// The client's `tracestate`, recorded on the span.
    pub trace_state: String,
}

/// Extracts the client's context, decides ids and sampling, clears and
/// injects the configured headers.
pub(super) fn propagate(config: &OpentelemetryConfig, exchange: &mut Exchange<'_>) -> TraceContext {
    let propagation = config.effective_propagation();
    let found = propagation::extract(&propagation.extract, exchange.headers());
    let (format, extracted) = match found {
        Some((format, e)) => (Some(format), e),
        None => (None, Default::default()),
    };
    let trace_id = extracted
        .trace_id
        .clone()
        .unwrap_or_else(|| rand::random::<[u8; 16]>().to_vec());
    let span_id = new_span_id();
    // Kong: the root span's parent is the extracted span, else the
    // extracted parent.
    let parent_id = extracted.span_id.clone().or(extracted.parent_id.clone());
    let sampled = match extracted.should_sample {
        Some(false) => false,
        _ => sample(&trace_id, config.sampling_rate()),
    };
    let flags = extracted.w3c_flags.unwrap_or(0) | u8::from(sampled);
    let trace_state = exchange
        .headers()
        .get_all("tracestate")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    for name in &propagation.clear {
        if let Ok(name) = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()) {
            exchange.clear_upstream_header(name);
        }
    }
    let out = Outgoing {
        trace_id: &trace_id,
        span_id,
        parent_id: parent_id.as_deref(),
        sampled,
        debug: extracted.debug,
    };
    for inject in &propagation.inject {
        let format = match inject {
            Inject::Format(f) => *f,
            Inject::Preserve => match format.unwrap_or(propagation.default_format) {
                Format::B3 if extracted.single_header => Format::B3Single,
                other => other,
            },
        };
        for (name, value) in propagation::inject(format, &out) {
            exchange.set_upstream_header(name, &value);
        }
    }
    TraceContext {
        trace_id,
        span_id,
        parent_id,
        sampled,
        flags,
        trace_state,
    }
}

/// A random, non-zero span id.
fn new_span_id() -> [u8; 8] {
    loop {
        let id: [u8; 8] = rand::random();
        if id != [0; 8] {
            return id;
        }
    }
}

/// Kong's trace-id based probability sampler: at 1 or more always, at 0
/// or less never, otherwise when the trace id's first 8 bytes, read as a
/// little-endian integer, fall below `rate` of their range (so every
/// replica decides alike for one trace).
pub(super) fn sample(trace_id: &[u8], rate: f64) -> bool {
    if rate >= 1.0 {
        return true;
    }
    if rate <= 0.0 {
        return false;
    }
    let Some(first) = trace_id.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) else {
        return false;
    };
    (u64::from_le_bytes(first) as f64) < rate * u64::MAX as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampler_bounds_and_probability() {
        assert!(sample(&[0xff; 16], 1.0));
        assert!(!sample(&[0; 16], 0.0));
        assert!(sample(&[0; 16], 0.5));
        assert!(!sample(&[0xff; 16], 0.5));
        // About half of random trace ids at 0.5.
        let hits = (0..2000)
            .filter(|_| sample(&rand::random::<[u8; 16]>(), 0.5))
            .count();
        assert!((800..1200).contains(&hits), "{hits}");
    }
}
