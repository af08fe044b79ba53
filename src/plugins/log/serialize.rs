//! Kong's log serializer (`kong.log.serialize()`): the JSON object the
//! logging plugins (http-log, file-log) send for each request, built from a
//! [`LogRecord`].
//!
//! Nothing secret leaves through it. Redacted (value `REDACTED`):
//! - request headers `Authorization` and `Proxy-Authorization` (as Kong 3),
//!   `Cookie`, and every header a key-auth or jwt instance of the route reads
//!   a credential from (`key_names`, `header_names`);
//! - response header `Set-Cookie`;
//! - query parameters `access_token`, `apikey`, `api_key`, `jwt` and every
//!   parameter a key-auth or jwt instance of the route reads a credential
//!   from (`key_names`, `uri_param_names`), wherever the query appears
//!   (`request.querystring`, `request.uri`, `request.url`, `upstream_uri`).
//!
//! Request bodies are never logged.

use super::LogRecord;
use crate::model::{PluginConfig, Route};
use http::HeaderMap;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, UNIX_EPOCH};

/// What a redacted value is replaced with (Kong's word).
pub const REDACTED: &str = "REDACTED";

/// Request headers always redacted.
const SECRET_HEADERS: [&str; 3] = ["authorization", "proxy-authorization", "cookie"];

/// Query parameters always redacted: the names OAuth 2.0 (RFC 6750), Kong's
/// key-auth and jwt read credentials from by default.
const SECRET_PARAMS: [&str; 4] = ["access_token", "apikey", "api_key", "jwt"];

/// Kong's `kong.log.serialize()` for one finished request.
pub fn serialize(record: &LogRecord) -> Value {
    let secrets = Secrets::of(&record.request.route);
    let request = &record.request;
    let response = &record.response;
    let uri = secrets.redact_uri(&request.uri.to_string());
    let scheme = if request.tls { "https" } else { "http" };
    let host = request
        .host
        .as_deref()
        .map(|h| {
            h.rsplit_once(':')
                .filter(|(_, p)| p.parse::<u16>().is_ok())
                .map_or(h, |(h, _)| h)
        })
        .unwrap_or("");
    let mut root = json!({
        "request": {
            "uri": uri,
            "url": format!("{scheme}://{host}:{}{uri}", request.local_addr.port()),
            "querystring": secrets.query(request.uri.query().unwrap_or("")),
            "method": request.method.as_str(),
            "headers": secrets.headers(&request.request_headers, SECRET_HEADERS.as_slice()),
            "size": request_size(record),
        },
        "upstream_uri": response.upstream_uri.as_deref().map(|u| secrets.redact_uri(u)).unwrap_or_default(),
        "upstream_status": if response.upstream_latency.is_some() { response.status.as_u16().to_string() } else { String::new() },
        "response": {
            "status": response.status.as_u16(),
            "headers": secrets.headers(&response.response_headers, &["set-cookie"]),
            "size": response_size(record),
        },
        "latencies": {
            "kong": millis(record.kong_latency()),
            "proxy": response.upstream_latency.map_or(-1, millis),
            "request": millis(response.total_latency),
            "receive": 0,
        },
        "route": route(&request.route),
        "client_ip": request.client_addr.ip().to_string(),
        "started_at": request.started_at.duration_since(UNIX_EPOCH).map_or(0, millis),
        "source": source(record),
        "workspace_name": WORKSPACE,
    });
    let fields = root.as_object_mut();
    let Some(fields) = fields else {
        return root;
    };
    if request.tls {
        // Which version and cipher is not known here; Kong's record has them.
        if let Some(Value::Object(r)) = fields.get_mut("request") {
            r.insert("tls".into(), json!({}));
        }
    }
    if let Some(target) = &response.upstream_target {
        let (ip, port) = target.rsplit_once(':').unwrap_or((target, ""));
        fields.insert(
            "tries".into(),
            json!([{ "ip": ip, "port": port.parse::<u16>().ok(), "balancer_latency": 0 }]),
        );
    }
    if let Some(service) = record.service() {
        let first = service.targets.first();
        fields.insert(
            "service".into(),
            json!({
                "name": service.name,
                "host": first.map(|t| t.host.as_str()),
                "port": first.map(|t| t.port),
                "protocol": service.scheme.as_str(),
                "path": service.path,
                "retries": service.retries,
                "connect_timeout": service.connect_timeout_ms,
                "read_timeout": service.read_timeout_ms,
            }),
        );
    }
    if let Some(auth) = &request.authenticated {
        let consumer = &auth.consumer;
        fields.insert(
            "consumer".into(),
            json!({"id": consumer.id, "username": consumer.username, "custom_id": consumer.custom_id}),
        );
        if let Some(credential) = &auth.credential {
            // The credential's identifier (key id, client_id, basic-auth
            // username, jwt key), never its secret.
            fields.insert(
                "authenticated_entity".into(),
                json!({"id": credential, "consumer_id": consumer.id}),
            );
        }
    }
    root
}

pub use crate::metrics::kong::WORKSPACE;

/// Where the response came from, in Kong's words (`kong.response.get_source()`).
pub fn source(record: &LogRecord) -> &'static str {
    if record.response.upstream_latency.is_some() {
        "service"
    } else if record.response.status.is_server_error() {
        "error"
    } else {
        "exit"
    }
}

/// The request's size as nginx's `$request_length` counts it: request
/// line, headers and body.
pub fn request_size(record: &LogRecord) -> u64 {
    record.request.request_head_size + record.request.request_body_size
}

/// The response's size as nginx's `$bytes_sent` counts it: status line,
/// headers and the body bytes sent.
pub fn response_size(record: &LogRecord) -> u64 {
    record.response.response_head_size + record.response.response_body_size
}

/// The request line and headers of a request as nginx's `$request_length`
/// counts them.
pub fn request_head_size(method: &http::Method, uri: &http::Uri, headers: &HeaderMap) -> u64 {
    // The target as sent: origin form unless the client used absolute form.
    let target = match (uri.authority(), uri.path_and_query()) {
        (None, Some(path)) => path.as_str().len(),
        _ => uri.to_string().len(),
    };
    let line = method.as_str().len() + target + " HTTP/1.1\r\n".len() + 1;
    line as u64 + headers_size(headers)
}

/// The status line and headers of a response as nginx's `$bytes_sent`
/// counts them.
pub fn response_head_size(headers: &HeaderMap) -> u64 {
    "HTTP/1.1 200 OK\r\n".len() as u64 + headers_size(headers)
}

/// `name: value\r\n` per header plus the blank line.
fn headers_size(headers: &HeaderMap) -> u64 {
    let lines: usize = headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum();
    (lines + 2) as u64
}

/// Whole milliseconds, as Kong reports latencies.
fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The route as Kong's log prints it (the fields kingress has).
fn route(route: &Route) -> Value {
    json!({
        "name": route.name,
        "hosts": route.hosts.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "paths": route.paths.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "methods": route.methods,
        "protocols": route.protocols,
        "strip_path": route.strip_path,
        "preserve_host": route.preserve_host,
        "regex_priority": route.regex_priority,
        "https_redirect_status_code": route.https_redirect_status_code,
    })
}

/// The header and parameter names that carry credentials on one route.
struct Secrets {
    headers: BTreeSet<String>,
    params: BTreeSet<String>,
}

impl Secrets {
    /// The fixed names plus those the route's credential plugins read.
    fn of(route: &Route) -> Self {
        let mut headers = BTreeSet::new();
        let mut params: BTreeSet<String> = SECRET_PARAMS.iter().map(|p| p.to_string()).collect();
        for plugin in route.plugins.iter().chain(&route.scoped) {
            match &plugin.config {
                PluginConfig::KeyAuth(c) => {
                    for name in &c.key_names {
                        headers.insert(name.to_ascii_lowercase());
                        params.insert(name.clone());
                    }
                }
                PluginConfig::Jwt(c) => {
                    headers.extend(c.header_names.iter().map(|h| h.to_ascii_lowercase()));
                    params.extend(c.uri_param_names.iter().cloned());
                }
                _ => {}
            }
        }
        Self { headers, params }
    }

    /// Headers as Kong prints them: lower-case names, a repeated header as
    /// an array, secrets redacted.
    fn headers(&self, headers: &HeaderMap, always: &[&str]) -> Value {
        let mut out = Map::new();
        for name in headers.keys() {
            let key = name.as_str();
            let value = if always.contains(&key) || self.headers.contains(key) {
                Value::String(REDACTED.into())
            } else {
                let values: Vec<Value> = headers
                    .get_all(name)
                    .iter()
                    .map(|v| Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()))
                    .collect();
                match <[Value; 1]>::try_from(values) {
                    Ok([one]) => one,
                    Err(many) => Value::Array(many),
                }
            };
            out.insert(key.to_string(), value);
        }
        Value::Object(out)
    }

    /// Kong's `kong.request.get_query()`: a value per name, an array for a
    /// repeated name, `true` for a name without `=`; secrets redacted.
    fn query(&self, query: &str) -> Value {
        let mut out = Map::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = match pair.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (pair, None),
            };
            let name = decode(name);
            let value = match value {
                _ if self.params.contains(&name) => Value::String(REDACTED.into()),
                Some(v) => Value::String(decode(v)),
                None => Value::Bool(true),
            };
            match out.get_mut(&name) {
                Some(Value::Array(items)) => items.push(value),
                Some(first) => *first = Value::Array(vec![first.take(), value]),
                None => {
                    out.insert(name, value);
                }
            }
        }
        Value::Object(out)
    }

    /// `path?query` with the secret parameters' values replaced.
    fn redact_uri(&self, uri: &str) -> String {
        let Some((path, query)) = uri.split_once('?') else {
            return uri.to_string();
        };
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((n, _)) if self.params.contains(&decode(n)) => format!("{n}={REDACTED}"),
                _ => pair.to_string(),
            })
            .collect();
        format!("{path}?{}", pairs.join("&"))
    }
}

/// A form-encoded component, decoded (`+` is a space).
fn decode(s: &str) -> String {
    form_urlencoded::parse(format!("a={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
