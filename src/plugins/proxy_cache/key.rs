//! Kong's cache key (`kong/plugins/proxy-cache/cache_key.lua`): the SHA-256
//! (hex) of `prefix|method|request line|params|headers`, where the prefix
//! scopes entries to the route (and the consumer, when one is
//! authenticated), params are the query arguments (all of them sorted, or
//! `vary_query_params` in configured order) and headers the
//! `vary_headers`, each as `name=value` (several values sorted and joined
//! with `,`) joined with `:`.

use crate::model::plugin::proxy_cache::ProxyCacheConfig;
use http::{HeaderMap, Method, Uri, Version};
use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Most query arguments read, as nginx's `get_uri_args` reads by default
/// (later ones do not vary the key).
const MAX_ARGS: usize = 100;

/// One argument's values: `None` for a bare `?a` (Kong's `true`).
type Values = Vec<Option<String>>;

/// What the key is built from.
#[derive(Debug)]
pub(super) struct KeyInput<'a> {
    /// The authenticated consumer's id, if any.
    pub(super) consumer: Option<&'a str>,
    /// The route's identity (kingress's route name, unique in a table).
    pub(super) route: Option<&'a str>,
    /// The request method.
    pub(super) method: &'a Method,
    /// The request target.
    pub(super) uri: &'a Uri,
    /// The HTTP version, part of nginx's `$request` line.
    pub(super) version: Version,
    /// The request headers.
    pub(super) headers: &'a HeaderMap,
}

/// The 64-hex-digit key of a request under `config`.
pub(super) fn build(input: &KeyInput<'_>, config: &ProxyCacheConfig) -> String {
    let mut line = request_line(input);
    if config.ignore_uri_case {
        line = line.to_lowercase();
    }
    let text = format!(
        "{}|{}|{}|{}|{}",
        prefix(input.consumer, input.route),
        input.method,
        line,
        params_key(&query_args(input.uri.query()), config),
        headers_key(input.headers, config),
    );
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Kong's `prefix_uuid`: `consumer:route`, `route`, or `default`.
pub(super) fn prefix(consumer: Option<&str>, route: Option<&str>) -> String {
    match (consumer, route) {
        (Some(c), Some(r)) => format!("{c}:{r}"),
        (None, Some(r)) => r.to_string(),
        _ => "default".to_string(),
    }
}

/// nginx's `$request` with Kong's `\?.*` removed: `GET /p HTTP/1.1` when
/// there is no query, `GET /p` when there is one (the version went with
/// the query; Kong's keys carry that quirk, so do these).
fn request_line(input: &KeyInput<'_>) -> String {
    let path = input.uri.path();
    if input.uri.query().is_some() {
        return format!("{} {path}", input.method);
    }
    let version = match input.version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    };
    format!("{} {path} {version}", input.method)
}

/// The query's arguments, decoded (`+` is a space), by name.
pub(super) fn query_args(query: Option<&str>) -> BTreeMap<String, Values> {
    let mut args: BTreeMap<String, Values> = BTreeMap::new();
    let pairs = query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty());
    for pair in pairs.take(MAX_ARGS) {
        let (name, value) = match pair.split_once('=') {
            Some((n, v)) => (n, Some(decode(v))),
            None => (pair, None),
        };
        let name = decode(name);
        if !name.is_empty() {
            args.entry(name).or_default().push(value);
        }
    }
    args
}

fn decode(s: &str) -> String {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Kong's `params_key`: every argument sorted by name when
/// `vary_query_params` is unset or empty, else those it names.
pub(super) fn params_key(args: &BTreeMap<String, Values>, config: &ProxyCacheConfig) -> String {
    match config.vary_query_params.as_deref() {
        Some(fields) if !fields.is_empty() => {
            join(fields.iter().map(|f| (f.as_str(), args.get(f).cloned())))
        }
        _ => join(args.iter().map(|(k, v)| (k.as_str(), Some(v.clone())))),
    }
}

/// Kong's `headers_key`: the `vary_headers` present in the request.
pub(super) fn headers_key(headers: &HeaderMap, config: &ProxyCacheConfig) -> String {
    let Some(fields) = config.vary_headers.as_deref() else {
        return String::new();
    };
    join(fields.iter().map(|f| {
        // ngx's header table looks names up case-blind, `_` as `-`.
        let name = f.to_ascii_lowercase().replace('_', "-");
        let values: Values = headers
            .get_all(name.as_str())
            .iter()
            .map(|v| Some(String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        (f.as_str(), (!values.is_empty()).then_some(values))
    }))
}

/// Kong's `generate_key_from`: `name=value`, `name=v1,v2` (sorted) or a
/// bare `name`, joined with `:`; absent fields are left out.
fn join<'a>(fields: impl Iterator<Item = (&'a str, Option<Values>)>) -> String {
    let parts: Vec<String> = fields
        .filter_map(|(name, values)| {
            let mut values = values?;
            match values.as_slice() {
                [] => None,
                [None] => Some(name.to_string()),
                [Some(one)] => Some(format!("{name}={one}")),
                _ => {
                    let mut many: Vec<String> =
                        values.drain(..).map(Option::unwrap_or_default).collect();
                    many.sort();
                    Some(format!("{name}={}", many.join(",")))
                }
            }
        })
        .collect();
    parts.join(":")
}

#[cfg(test)]
mod tests;
