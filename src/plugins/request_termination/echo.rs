//! The `echo` answer: Kong's JSON shape of the request (`message`, `kong`,
//! `request` with scheme, host, port, headers, query, body, raw_body,
//! method, path, uri_captures, then `matched_route` and `matched_service`).

use crate::model::{PathMatch, Route, Service};
use crate::plugins::Exchange;
use serde_json::{Map, Value, json};
use std::sync::OnceLock;

/// The most of the request body echoed; a larger one is left out, as Kong
/// leaves out a body nginx buffered to a file.
const ECHO_BODY_LIMIT: usize = 64 * 1024;

/// The echo of the request.
pub(super) async fn echo(exchange: &mut Exchange<'_>, message: Option<&str>) -> Value {
    let raw = exchange
        .body(ECHO_BODY_LIMIT)
        .await
        .ok()
        .filter(|b| !b.is_empty());
    let request = &exchange.request;
    let headers = request.headers();
    let mut echoed = Map::new();
    for name in headers.keys() {
        let values: Vec<Value> = headers
            .get_all(name)
            .iter()
            .map(|v| Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        echoed.insert(name.as_str().to_string(), one_or_many(values));
    }
    let mut query: Map<String, Value> = Map::new();
    for (name, value) in query_args(request.uri().query().unwrap_or_default()) {
        let value = value.map_or(Value::Bool(true), Value::String);
        match query.get_mut(&name) {
            Some(Value::Array(items)) => items.push(value),
            Some(first) => *first = Value::Array(vec![first.take(), value]),
            None => {
                query.insert(name, value);
            }
        }
    }
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or(request.uri().host())
        .map(|h| {
            h.rsplit_once(':')
                .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
                .map_or(h, |(h, _)| h)
        })
        .unwrap_or_default();
    let mut out = json!({
        "scheme": if exchange.tls { "https" } else { "http" },
        "host": host,
        "port": exchange.connection.local.map(|a| a.port()),
        "headers": echoed,
        "query": query,
        "method": request.method().as_str(),
        "path": request.uri().path(),
        "uri_captures": captures(exchange.route, request.uri().path()),
    });
    if let Some(raw) = &raw {
        if let Some(parsed) = parsed_body(headers, raw) {
            out["body"] = parsed;
        }
        out["raw_body"] = Value::String(String::from_utf8_lossy(raw).into_owned());
    }
    let mut answer = json!({
        "kong": node(),
        "request": out,
        "matched_route": route(exchange.route),
        "matched_service": exchange.service.map(service),
    });
    if let Some(message) = message {
        answer["message"] = message.into();
    }
    answer
}

fn one_or_many(mut values: Vec<Value>) -> Value {
    if values.len() == 1 {
        values.pop().unwrap_or(Value::Null)
    } else {
        Value::Array(values)
    }
}

/// The query's arguments decoded, in order: a name without `=` has no
/// value (Kong's `true`).
pub fn query_args(query: &str) -> impl Iterator<Item = (String, Option<String>)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let decode = |s: &str| {
            form_urlencoded::parse(s.as_bytes())
                .next()
                .map(|(k, _)| k.into_owned())
                .unwrap_or_default()
        };
        match pair.split_once('=') {
            Some((name, value)) => (decode(name), Some(decode(value))),
            None => (decode(pair), None),
        }
    })
}

/// Kong's `kong.request.get_body()`: JSON and form bodies parsed.
fn parsed_body(headers: &http::HeaderMap, raw: &[u8]) -> Option<Value> {
    let content_type = headers.get(http::header::CONTENT_TYPE)?.to_str().ok()?;
    let mime = content_type.split(';').next()?.trim().to_ascii_lowercase();
    if mime == "application/json" || mime.ends_with("+json") {
        return serde_json::from_slice(raw).ok();
    }
    if mime == "application/x-www-form-urlencoded" {
        let map: Map<String, Value> = form_urlencoded::parse(raw)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        return Some(Value::Object(map));
    }
    None
}

/// The route's regex captures of `path` (named and by position).
fn captures(route: &Route, path: &str) -> Value {
    let found = route.paths.iter().find_map(|p| match p {
        PathMatch::Regex(re) => re.regex().captures(path).map(|c| (re, c)),
        _ => None,
    });
    let Some((re, caps)) = found else {
        return json!({"named": {}, "unnamed": []});
    };
    let unnamed: Vec<Value> = caps
        .iter()
        .skip(1)
        .map(|m| m.map_or(Value::Null, |m| m.as_str().into()))
        .collect();
    let named: Map<String, Value> = re
        .regex()
        .capture_names()
        .flatten()
        .filter_map(|n| caps.name(n).map(|m| (n.to_string(), m.as_str().into())))
        .collect();
    json!({"named": named, "unnamed": unnamed})
}

/// Kong's `kong` object: this process's node id, pid and hostname.
fn node() -> Value {
    static NODE: OnceLock<Value> = OnceLock::new();
    NODE.get_or_init(|| {
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        json!({
            "node_id": uuid::Builder::from_random_bytes(rand::random()).into_uuid().to_string(),
            "worker_pid": std::process::id(),
            "hostname": hostname,
        })
    })
    .clone()
}

fn route(route: &Route) -> Value {
    let hosts: Vec<String> = route.hosts.iter().map(ToString::to_string).collect();
    let paths: Vec<String> = route.paths.iter().map(ToString::to_string).collect();
    json!({
        "name": route.name,
        "hosts": hosts,
        "paths": paths,
        "methods": route.methods,
        "protocols": route.protocols,
        "strip_path": route.strip_path,
        "preserve_host": route.preserve_host,
        "regex_priority": route.regex_priority,
        "https_redirect_status_code": route.https_redirect_status_code,
    })
}

fn service(service: &Service) -> Value {
    let target = service.targets.first();
    json!({
        "name": service.name,
        "protocol": service.scheme.as_str(),
        "host": target.map(|t| t.host.as_str()),
        "port": target.map(|t| t.port),
        "path": service.path,
        "connect_timeout": service.connect_timeout_ms,
        "read_timeout": service.read_timeout_ms,
        "retries": service.retries,
    })
}
