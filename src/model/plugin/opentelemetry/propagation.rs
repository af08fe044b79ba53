//! Kong's `propagation` record (`kong/observability/tracing/propagation/
//! schema.lua`) and the deprecated `header_type` it replaces, folded as
//! Kong's `propagation.get_plugin_params` folds them.

use serde::{Deserialize, Serialize};

/// A tracing header format (Kong's `propagation.utils.FORMATS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub enum Format {
    /// W3C Trace Context: `traceparent` (`tracestate` passes through).
    W3c,
    /// Zipkin B3, the `X-B3-*` headers (extraction reads `b3` as well).
    B3,
    /// Zipkin B3 in the single `b3` header.
    B3Single,
    /// Jaeger's `uber-trace-id`.
    Jaeger,
    /// OpenTracing's `ot-tracer-*`.
    Ot,
    /// Datadog's `x-datadog-*`.
    Datadog,
    /// AWS X-Ray's `x-amzn-trace-id`.
    Aws,
    /// Google Cloud's `x-cloud-trace-context`.
    Gcp,
    /// Instana's `x-instana-*`.
    Instana,
}

/// An element of `propagation.inject`: a format, or `preserve` (the format
/// the context was extracted from, else `default_format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub enum Inject {
    /// `preserve`.
    Preserve,
    /// A named format.
    Format(Format),
}

/// `config.propagation`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PropagationConfig {
    /// Formats tried on the client's headers, first found wins (`b3`
    /// covers `b3-single`, as in Kong).
    pub extract: Option<Vec<Format>>,
    /// Headers removed from the upstream request after extraction.
    pub clear: Option<Vec<String>>,
    /// Formats written to the upstream request.
    pub inject: Option<Vec<Inject>>,
    /// The format `preserve` falls back to.
    pub default_format: Format,
}

impl Default for PropagationConfig {
    /// The opentelemetry plugin's default: `default_format` w3c.
    fn default() -> Self {
        Self {
            extract: None,
            clear: None,
            inject: None,
            default_format: Format::W3c,
        }
    }
}

/// `config.header_type` (deprecated), Kong's default `preserve`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub enum HeaderType {
    /// Extract any format, inject the one found.
    #[default]
    Preserve,
    /// Extract nothing, inject `default_format`.
    Ignore,
    /// Extract any format, inject the one found and this one.
    Format(Format),
}

/// What the plugin extracts, clears and injects, once the deprecated
/// `header_type` is folded in.
#[derive(Clone, Debug, PartialEq)]
pub struct Effective {
    /// Formats to try, in order.
    pub extract: Vec<Format>,
    /// Headers to remove.
    pub clear: Vec<String>,
    /// Formats to inject.
    pub inject: Vec<Inject>,
    /// `preserve`'s fallback.
    pub default_format: Format,
}

// === impl Format ===

impl Format {
    /// Every format Kong's `header_type` forms extract, in Kong's order.
    pub const EXTRACT_ALL: [Format; 8] = [
        Format::B3,
        Format::W3c,
        Format::Jaeger,
        Format::Ot,
        Format::Datadog,
        Format::Aws,
        Format::Gcp,
        Format::Instana,
    ];

    /// Every format, in Kong's `FORMATS` order.
    pub const ALL: [Format; 9] = [
        Format::W3c,
        Format::B3,
        Format::B3Single,
        Format::Jaeger,
        Format::Ot,
        Format::Datadog,
        Format::Aws,
        Format::Gcp,
        Format::Instana,
    ];

    /// Kong's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::W3c => "w3c",
            Format::B3 => "b3",
            Format::B3Single => "b3-single",
            Format::Jaeger => "jaeger",
            Format::Ot => "ot",
            Format::Datadog => "datadog",
            Format::Aws => "aws",
            Format::Gcp => "gcp",
            Format::Instana => "instana",
        }
    }
}

// === impl PropagationConfig ===

impl PropagationConfig {
    /// Kong's `get_plugin_params`: a `propagation` with any of `extract`,
    /// `clear` or `inject` set is used as it is; otherwise `header_type`
    /// decides.
    pub fn effective(&self, header_type: HeaderType) -> Effective {
        let set = self.extract.is_some() || self.clear.is_some() || self.inject.is_some();
        let (extract, inject) = if set {
            (
                self.extract.clone().unwrap_or_default(),
                self.inject.clone().unwrap_or_default(),
            )
        } else {
            let preserve = Inject::Preserve;
            match header_type {
                HeaderType::Preserve => (Format::EXTRACT_ALL.to_vec(), vec![preserve]),
                HeaderType::Ignore => (Vec::new(), vec![Inject::Format(self.default_format)]),
                HeaderType::Format(f) => (
                    Format::EXTRACT_ALL.to_vec(),
                    vec![preserve, Inject::Format(f)],
                ),
            }
        };
        Effective {
            extract,
            clear: self.clear.clone().unwrap_or_default(),
            inject,
            default_format: self.default_format,
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| format!("expected one of: {}", names(&Format::ALL, &[])))
    }
}

/// `a, b, c` after the `extra` words.
fn names(formats: &[Format], extra: &[&str]) -> String {
    let mut all: Vec<&str> = extra.to_vec();
    all.extend(formats.iter().map(|f| f.as_str()));
    all.join(", ")
}

// === impl Inject ===

impl TryFrom<String> for Inject {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        if s == "preserve" {
            return Ok(Inject::Preserve);
        }
        s.parse()
            .map(Inject::Format)
            .map_err(|_| format!("expected one of: {}", names(&Format::ALL, &["preserve"])))
    }
}

impl From<Inject> for String {
    fn from(inject: Inject) -> String {
        match inject {
            Inject::Preserve => "preserve".into(),
            Inject::Format(f) => f.as_str().into(),
        }
    }
}

// === impl HeaderType ===

impl TryFrom<String> for HeaderType {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "preserve" => Ok(HeaderType::Preserve),
            "ignore" => Ok(HeaderType::Ignore),
            other => other.parse().map(HeaderType::Format).map_err(|_| {
                format!(
                    "expected one of: {}",
                    names(&HEADER_TYPE_FORMATS, &["preserve", "ignore"])
                )
            }),
        }
    }
}

impl From<HeaderType> for String {
    fn from(header_type: HeaderType) -> String {
        match header_type {
            HeaderType::Preserve => "preserve".into(),
            HeaderType::Ignore => "ignore".into(),
            HeaderType::Format(f) => f.as_str().into(),
        }
    }
}

/// The formats `header_type` names, in Kong's order.
const HEADER_TYPE_FORMATS: [Format; 9] = [
    Format::B3,
    Format::B3Single,
    Format::W3c,
    Format::Jaeger,
    Format::Ot,
    Format::Aws,
    Format::Gcp,
    Format::Datadog,
    Format::Instana,
];

impl TryFrom<String> for Format {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Format> for String {
    fn from(format: Format) -> String {
        format.as_str().into()
    }
}
