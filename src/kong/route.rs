//! Kong `routes`: which requests match and which service they go to.

use super::read::{Reader, object};
use super::{Context, FieldErrors, Foreign, Kind};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Protocols kingress serves routes on.
const PROTOCOLS: [&str; 4] = ["http", "https", "grpc", "grpcs"];
/// Kong's `mutually_exclusive_subsets` of `protocols` that kingress serves.
const EXCLUSIVE: [[&str; 2]; 2] = [["http", "https"], ["grpc", "grpcs"]];
/// Kong's allowed `https_redirect_status_code` values.
const REDIRECT_CODES: [i64; 5] = [426, 301, 302, 307, 308];

/// A Kong route, serialized as the Admin API prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Route {
    /// UUID.
    pub id: String,
    /// Seconds since the epoch.
    pub created_at: i64,
    /// Seconds since the epoch.
    pub updated_at: i64,
    /// Unique name, optional.
    pub name: Option<String>,
    /// `http`, `https` (default both).
    pub protocols: Vec<String>,
    /// Upper-case methods.
    pub methods: Option<Vec<String>>,
    /// Host patterns (`*.example.com`, `example.*`).
    pub hosts: Option<Vec<String>>,
    /// Prefixes, or regexes written `~/…`.
    pub paths: Option<Vec<String>>,
    /// Header name → accepted values.
    pub headers: Option<BTreeMap<String, Vec<String>>>,
    /// Status answering plain HTTP on an https-only route (default 426).
    pub https_redirect_status_code: i64,
    /// Regex routes with higher priority are tried first (default 0).
    pub regex_priority: i64,
    /// Remove the matched prefix upstream (default true).
    pub strip_path: bool,
    /// `v0` (default) or `v1`.
    pub path_handling: String,
    /// Send the client's `Host` upstream (default false).
    pub preserve_host: bool,
    /// Default true.
    pub request_buffering: bool,
    /// Default true.
    pub response_buffering: bool,
    /// Always null (stream routes only).
    pub snis: Option<Vec<String>>,
    /// Always null (stream routes only).
    pub sources: Option<Value>,
    /// Always null (stream routes only).
    pub destinations: Option<Value>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// The service, if any.
    pub service: Option<Foreign>,
}

// === impl Route ===

impl Route {
    /// Builds a route from its JSON object; `service` references resolve
    /// through `cx` (by id or name).
    pub fn from_json(value: &Value, cx: &Context<'_>) -> Result<Self, FieldErrors> {
        let mut r = Reader::new(object(value)?);
        let name = r.name("name");
        let id = r.id(cx, Kind::Route, name.as_deref());
        let protocols = r
            .set("protocols")
            .unwrap_or_else(|| vec!["http".to_string(), "https".to_string()]);
        r.each("protocols", &protocols, |p| {
            if PROTOCOLS.contains(&p) {
                return Ok(());
            }
            // Kong would accept stream protocols; kingress serves only
            // HTTP and gRPC, so it says which of Kong's values it takes and
            // leaves the reason to the log.
            tracing::info!(
                protocol = p,
                "route protocol refused: kingress serves http, https, grpc and grpcs only"
            );
            Err(format!("expected one of: {}", PROTOCOLS.join(", ")))
        });
        if protocols.is_empty() {
            r.errors.field("protocols", "length must be at least 1");
        }
        if let Some(message) = exclusive_sets(&protocols) {
            r.errors.field("protocols", message);
        }
        let methods = r.set("methods");
        if let Some(methods) = &methods {
            r.each("methods", methods, |m| {
                if m.is_empty() || !m.chars().all(|c| c.is_ascii_uppercase()) {
                    Err(format!("invalid value: {m}"))
                } else {
                    Ok(())
                }
            });
        }
        let hosts = r.strings("hosts");
        if let Some(hosts) = &hosts {
            r.each("hosts", hosts, check_host);
        }
        let paths = r.strings("paths");
        if let Some(paths) = &paths {
            r.each("paths", paths, check_path);
        }
        let headers = headers(&mut r);
        let https_redirect_status_code = r.integer("https_redirect_status_code", 426, 0, 999);
        if !REDIRECT_CODES.contains(&https_redirect_status_code) {
            r.errors.field(
                "https_redirect_status_code",
                "expected one of: 426, 301, 302, 307, 308",
            );
        }
        let path_handling = r.string("path_handling").unwrap_or_else(|| "v0".into());
        if !matches!(path_handling.as_str(), "v0" | "v1") {
            r.errors.field("path_handling", "expected one of: v0, v1");
        }
        let grpc = protocols.iter().any(|p| p == "grpc" || p == "grpcs");
        // Kong's grpc subschema: a gRPC method is a path, never an HTTP
        // method, and the path is the method's name, so it is never stripped.
        if grpc && methods.is_some() {
            r.errors.field(
                "methods",
                "cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'",
            );
        }
        let strip_path = r.boolean("strip_path", !grpc);
        if grpc && strip_path {
            r.errors.field(
                "strip_path",
                "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'",
            );
        }
        let empty = |v: &Option<Vec<String>>| v.as_ref().is_none_or(Vec::is_empty);
        if empty(&methods)
            && empty(&hosts)
            && empty(&paths)
            && headers.as_ref().is_none_or(BTreeMap::is_empty)
            // Kong skips an entity check whose fields already failed.
            && ["methods", "hosts", "headers", "paths"]
                .iter()
                .all(|f| r.errors.get(f).is_none())
        {
            let proto = ["http", "https", "grpcs", "grpc"]
                .into_iter()
                .find(|p| protocols.iter().any(|q| q == p))
                .unwrap_or("https");
            let fields = if grpc {
                "'hosts', 'headers', 'paths'"
            } else {
                "'methods', 'hosts', 'headers', 'paths'"
            };
            r.errors.entity(format!(
                "must set one of {fields} when 'protocols' is '{proto}'"
            ));
        }
        for key in ["snis", "sources", "destinations"] {
            r.unsupported(key, "stream routes are not served");
        }
        let route = Route {
            id,
            created_at: r.timestamp("created_at", cx.now),
            updated_at: r.timestamp("updated_at", cx.now),
            name,
            protocols,
            methods,
            hosts,
            paths,
            headers,
            https_redirect_status_code,
            regex_priority: r.integer(
                "regex_priority",
                0,
                i64::from(i32::MIN),
                i64::from(i32::MAX),
            ),
            strip_path,
            path_handling,
            preserve_host: r.boolean("preserve_host", false),
            request_buffering: r.boolean("request_buffering", true),
            response_buffering: r.boolean("response_buffering", true),
            snis: None,
            sources: None,
            destinations: None,
            tags: r.tags(),
            service: r.foreign("service", Kind::Service, cx),
        };
        r.finish()?;
        Ok(route)
    }
}

/// Kong's `mutually_exclusive_subsets` message when `protocols` mixes
/// HTTP and gRPC ones.
fn exclusive_sets(protocols: &[String]) -> Option<String> {
    let used: Vec<String> = EXCLUSIVE
        .iter()
        .filter(|set| protocols.iter().any(|p| set.contains(&p.as_str())))
        .map(|set| format!("('{}', '{}')", set[0], set[1]))
        .collect();
    (used.len() > 1).then(|| format!("these sets are mutually exclusive: {}", used.join(", ")))
}

/// `headers`: name → one value or several.
fn headers(r: &mut Reader<'_>) -> Option<BTreeMap<String, Vec<String>>> {
    let value = r.get("headers")?;
    let Some(map) = value.as_object() else {
        r.errors.field("headers", "expected a map");
        return None;
    };
    let mut out = BTreeMap::new();
    for (name, values) in map {
        if name.eq_ignore_ascii_case("host") {
            r.errors.field(
                "headers",
                "cannot contain 'host' header, which must be specified in the 'hosts' attribute",
            );
            return None;
        }
        let values: Option<Vec<String>> = match values {
            Value::String(s) => Some(vec![s.clone()]),
            Value::Array(items) => items.iter().map(|v| v.as_str().map(String::from)).collect(),
            _ => None,
        };
        match values {
            Some(v) if !v.is_empty() => {
                out.insert(name.to_ascii_lowercase(), v);
            }
            _ => {
                r.errors
                    .field("headers", format!("'{name}': expected an array of strings"));
                return None;
            }
        }
    }
    Some(out)
}

/// Kong's host rules: a hostname (optionally with a port) with at most one
/// `*`, as the leftmost or rightmost label.
fn check_host(host: &str) -> Result<(), String> {
    let stars = host.matches('*').count();
    if stars > 1 {
        return Err("invalid wildcard: must have at most one wildcard".into());
    }
    if stars == 1 && !(host.starts_with("*.") || host.ends_with(".*")) {
        return Err("invalid wildcard: must be placed at leftmost or rightmost label".into());
    }
    let bare = host.trim_start_matches("*.").trim_end_matches(".*");
    let valid = !bare.is_empty()
        && bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
    if valid {
        Ok(())
    } else {
        Err(format!("invalid hostname: {host}"))
    }
}

/// Kong 3 paths: `/prefix` or `~/regex` (compiled here so a bad pattern is
/// refused at write time).
fn check_path(path: &str) -> Result<(), String> {
    if let Some(pattern) = path.strip_prefix('~') {
        if !pattern.starts_with('/') && !pattern.starts_with("^/") {
            return Err("should start with: / (fixed path) or ~/ (regex path)".into());
        }
        return crate::model::PathRegex::new(pattern)
            .map(|_| ())
            .map_err(|e| format!("invalid regex: '{pattern}' ({e})"));
    }
    if !path.starts_with('/') {
        return Err("should start with: / (fixed path) or ~/ (regex path)".into());
    }
    if path.contains("//") {
        return Err("must not have empty segments".into());
    }
    crate::model::normalise::normalise(path)
        .map(|_| ())
        .map_err(|e| format!("invalid path: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kong::Ids;
    use serde_json::json;

    fn resolve(kind: Kind, key: &str) -> Option<String> {
        (kind == Kind::Service && key == "echo").then(|| "svc-id".to_string())
    }

    fn cx() -> Context<'static> {
        Context {
            now: 5,
            ids: Ids::Derived,
            position: "routes[0]",
            resolve: &resolve,
            stored: false,
        }
    }

    #[test]
    fn defaults_match_kong_and_service_resolves_by_name() {
        let r = Route::from_json(
            &json!({"name": "mock", "paths": ["/mock"], "service": "echo"}),
            &cx(),
        )
        .unwrap();
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["protocols"], json!(["http", "https"]));
        assert_eq!(v["strip_path"], true);
        assert_eq!(v["preserve_host"], false);
        assert_eq!(v["path_handling"], "v0");
        assert_eq!(v["https_redirect_status_code"], 426);
        assert_eq!(v["regex_priority"], 0);
        assert_eq!(v["service"], json!({"id": "svc-id"}));
        assert!(v["methods"].is_null() && v["headers"].is_null());
        let r = Route::from_json(
            &json!({"hosts": ["*.a.test"], "service": {"id": "echo"}}),
            &cx(),
        )
        .unwrap();
        assert_eq!(r.service.unwrap().id, "svc-id");
    }

    #[test]
    fn paths_no_request_could_have_are_refused() {
        for path in ["/../x", "/a%zz", "/a%00"] {
            let e = Route::from_json(&json!({"paths": [path]}), &cx()).unwrap_err();
            assert!(e.to_string().contains("invalid path"), "{path}: {e}");
        }
        assert!(Route::from_json(&json!({"paths": ["/mo%63k"]}), &cx()).is_ok());
    }

    #[test]
    fn bad_routes_are_refused_with_kong_messages() {
        let e = Route::from_json(&json!({"paths": ["mock", "~/(["]}), &cx()).unwrap_err();
        assert!(
            e.to_string()
                .contains("should start with: / (fixed path) or ~/ (regex path)"),
            "{e}"
        );
        let e = Route::from_json(&json!({"protocols": ["https"]}), &cx()).unwrap_err();
        assert!(
            e.to_string().contains(
                "must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'https'"
            ),
            "{e}"
        );
        let e = Route::from_json(&json!({"paths": ["/"], "service": "nope"}), &cx()).unwrap_err();
        assert!(e.is_foreign_key_violation(), "{e}");
        let e = Route::from_json(
            &json!({"hosts": ["a.*.b"], "methods": ["get"], "https_redirect_status_code": 200, "headers": {"Host": ["x"]}}),
            &cx(),
        )
        .unwrap_err();
        for f in ["hosts", "methods", "https_redirect_status_code", "headers"] {
            assert!(e.get(f).is_some(), "{f}: {e}");
        }
    }

    /// Kong's routes schema and grpc subschema
    /// (spec/01-unit/01-db/01-schema/06-routes_spec.lua, "grpc" cases):
    /// gRPC routes take no methods, never strip the path (default false),
    /// and do not mix with HTTP protocols.
    #[test]
    fn grpc_routes_follow_the_grpc_subschema() {
        let r = Route::from_json(
            &json!({"protocols": ["grpc", "grpcs"], "paths": ["/a.B/"]}),
            &cx(),
        )
        .unwrap();
        assert!(!r.strip_path);
        let e = Route::from_json(
            &json!({"protocols": ["grpc"], "paths": ["/"], "methods": ["POST"], "strip_path": true}),
            &cx(),
        )
        .unwrap_err();
        assert!(
            e.get("methods").is_some() && e.get("strip_path").is_some(),
            "{e}"
        );
        let e = Route::from_json(
            &json!({"protocols": ["http", "grpc"], "paths": ["/"]}),
            &cx(),
        )
        .unwrap_err();
        assert_eq!(
            e.get("protocols"),
            Some(&crate::kong::FieldError::Message(
                "these sets are mutually exclusive: ('http', 'https'), ('grpc', 'grpcs')".into()
            ))
        );
        let e = Route::from_json(&json!({"protocols": ["grpcs"]}), &cx()).unwrap_err();
        assert!(
            e.to_string().contains(
                "must set one of 'hosts', 'headers', 'paths' when 'protocols' is 'grpcs'"
            ),
            "{e}"
        );
    }
}
