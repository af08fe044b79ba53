//! What templates read: the client's headers and query arguments as they
//! were before the plugin changed anything (Kong loads them once, before
//! its first edit), and the captures of the route's regex path. Only the
//! tables some template reads are taken.

use super::args::Args;
use crate::model::PathMatch;
use crate::model::plugin::RequestTransformerConfig;
use crate::model::plugin::request_transformer::{Env, Found, Key, Ops, Source};
use crate::plugins::{Exchange, PluginError};
use http::HeaderMap;
use std::borrow::Cow;
use std::collections::HashMap;

/// The tables templates read, taken from the request.
#[derive(Debug, Default)]
pub(super) struct Snapshot {
    headers: Option<(HeaderMap, Option<String>)>,
    query: Option<Args>,
    captures: Captures,
}

#[derive(Debug, Default)]
struct Captures {
    numbered: Vec<Option<String>>,
    named: HashMap<String, String>,
}

// === impl Snapshot ===

impl Snapshot {
    /// Takes the tables `config`'s templates read.
    pub(super) fn take(config: &RequestTransformerConfig, exchange: &Exchange<'_>) -> Self {
        let reads = |source| reads(config, source);
        let mut snapshot = Self::default();
        if reads(Source::Headers) {
            let authority = exchange
                .request
                .uri()
                .authority()
                .map(|a| a.as_str().to_string());
            snapshot.headers = Some((exchange.headers().clone(), authority));
        }
        if reads(Source::QueryParams) {
            let query = exchange.request.uri().query().unwrap_or_default();
            snapshot.query = Some(Args::decode(query.as_bytes()));
        }
        if reads(Source::UriCaptures) {
            snapshot.captures = captures(exchange);
        }
        snapshot
    }

    /// Renders an entry's value (`None` when it has none).
    pub(super) fn value(
        &self,
        op: &crate::model::plugin::request_transformer::Op,
    ) -> Result<Option<String>, PluginError> {
        op.value
            .as_ref()
            .map(|t| {
                t.render(self)
                    .map_err(|e| PluginError::Internal(format!("request-transformer: {e}")))
            })
            .transpose()
    }
}

impl Env for Snapshot {
    fn lookup(&self, source: Source, key: &Key) -> Found<'_> {
        let Key::Name(name) = key else {
            return match (source, key) {
                (Source::UriCaptures, Key::Index(i)) => {
                    match self.captures.numbered.get(*i).and_then(Option::as_deref) {
                        Some(v) => Found::Text(Cow::Borrowed(v)),
                        None => Found::Unset,
                    }
                }
                _ => Found::Unset,
            };
        };
        match source {
            Source::Headers => {
                let Some((headers, authority)) = &self.headers else {
                    return Found::Unset;
                };
                // ngx.req.get_headers(): lower-case, `_` read as `-`.
                let name = name.to_ascii_lowercase().replace('_', "-");
                let mut values = headers.get_all(name.as_str()).iter();
                match (values.next(), values.next()) {
                    (Some(v), None) => Found::Text(String::from_utf8_lossy(v.as_bytes())),
                    (Some(_), Some(_)) => Found::NotText,
                    (None, _) if name == "host" => authority
                        .as_deref()
                        .map_or(Found::Unset, |a| Found::Text(Cow::Borrowed(a))),
                    (None, _) => Found::Unset,
                }
            }
            Source::QueryParams => match self.query.as_ref().and_then(|q| q.get(name)) {
                Some([Some(v)]) => Found::Text(Cow::Borrowed(v)),
                Some(_) => Found::NotText,
                None => Found::Unset,
            },
            Source::UriCaptures => match self.captures.named.get(name) {
                Some(v) => Found::Text(Cow::Borrowed(v)),
                None => Found::Unset,
            },
        }
    }
}

/// Whether any template of `config` reads `source`.
fn reads(config: &RequestTransformerConfig, source: Source) -> bool {
    let o = &config.ops;
    let in_ops = |ops: &Ops| {
        [&ops.body, &ops.headers, &ops.querystring]
            .into_iter()
            .flatten()
            .any(|op| op.value.as_ref().is_some_and(|t| t.reads(source)))
    };
    o.uri.as_ref().is_some_and(|t| t.reads(source))
        || [&o.remove, &o.rename, &o.replace, &o.add, &o.append]
            .into_iter()
            .any(in_ops)
}

/// The captures of the route's regex path on the request's path, as Kong's
/// router hands them over: `[0]` the match, `[n]` each group, and the
/// named groups by name too. Empty for other paths.
fn captures(exchange: &Exchange<'_>) -> Captures {
    let Some(PathMatch::Regex(re)) = exchange.route.paths.get(exchange.matched_path) else {
        return Captures::default();
    };
    let re = re.regex();
    let Some(found) = re.captures(exchange.request.uri().path()) else {
        return Captures::default();
    };
    let numbered = found
        .iter()
        .map(|m| m.map(|m| m.as_str().to_string()))
        .collect();
    let named = re
        .capture_names()
        .flatten()
        .filter_map(|n| {
            found
                .name(n)
                .map(|m| (n.to_string(), m.as_str().to_string()))
        })
        .collect();
    Captures { numbered, named }
}
