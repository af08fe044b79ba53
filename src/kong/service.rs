//! Kong `services`: where matched requests go.

use super::read::{Reader, object};
use super::{Context, FieldErrors, Kind};
use serde::Serialize;
use serde_json::Value;

/// Protocols kingress speaks to upstreams.
const PROTOCOLS: [&str; 4] = ["grpc", "grpcs", "http", "https"];
/// Kong's timeout bounds (`typedefs.timeout`).
const MAX_TIMEOUT: i64 = 2_147_483_646;

/// A Kong service, serialized as the Admin API prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Service {
    /// UUID.
    pub id: String,
    /// Seconds since the epoch.
    pub created_at: i64,
    /// Seconds since the epoch.
    pub updated_at: i64,
    /// Unique name, optional.
    pub name: Option<String>,
    /// Retries on connection failure (default 5).
    pub retries: i64,
    /// `http` or `https`.
    pub protocol: String,
    /// Upstream host name or IP.
    pub host: String,
    /// Upstream port (default 80).
    pub port: i64,
    /// Path prefix sent upstream.
    pub path: Option<String>,
    /// Milliseconds (default 60000).
    pub connect_timeout: i64,
    /// Milliseconds (default 60000).
    pub write_timeout: i64,
    /// Milliseconds (default 60000).
    pub read_timeout: i64,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// Always null (client certificates are not supported in kong.yml).
    pub client_certificate: Option<Value>,
    /// Verify the upstream's certificate (against the system's trust
    /// store: kong.yml has no CA certificates); null means off.
    pub tls_verify: Option<bool>,
    /// At most this many intermediates (0 to 64); null means no limit.
    pub tls_verify_depth: Option<i64>,
    /// Always null (CA certificate entities are not supported in kong.yml).
    pub ca_certificates: Option<Vec<String>>,
    /// A disabled service's routes answer as if they had no service.
    pub enabled: bool,
}

// === impl Service ===

impl Service {
    /// Builds a service from its JSON object (Admin API body or declarative
    /// entry, nested `routes`/`plugins` already removed).
    pub fn from_json(value: &Value, cx: &Context<'_>) -> Result<Self, FieldErrors> {
        let mut r = Reader::new(object(value)?);
        let name = r.name("name");
        let id = r.id(cx, Kind::Service, name.as_deref());
        let mut protocol = r.string("protocol");
        let mut host = r.string("host");
        let mut port = r.optional_integer("port", 0, 65535);
        let mut path = r.string("path");
        if let Some(url) = r.string("url") {
            match parse_url(&url) {
                Ok(parts) => {
                    protocol = Some(parts.protocol);
                    host = Some(parts.host);
                    port = Some(parts.port);
                    path = parts.path;
                }
                Err(message) => r.errors.field("url", message),
            }
        }
        let protocol = protocol.unwrap_or_else(|| "http".to_string());
        if !PROTOCOLS.contains(&protocol.as_str()) {
            r.errors.field(
                "protocol",
                format!(
                    "expected one of: {} (kingress does not proxy '{protocol}')",
                    PROTOCOLS.join(", ")
                ),
            );
        }
        // Kong's entity check: gRPC calls name their method in the path, so
        // a service path would break every call.
        if matches!(protocol.as_str(), "grpc" | "grpcs") && path.is_some() {
            r.errors.field("path", "value must be null");
        }
        match &host {
            None => r.errors.field("host", "required field missing"),
            Some(h) if !valid_host(h) => r.errors.field("host", format!("invalid hostname: {h}")),
            Some(_) => {}
        }
        if let Some(p) = &path
            && !p.starts_with('/')
        {
            r.errors.field("path", "should start with: /");
        }
        // Null, as Kong prints an unset one, means off.
        let tls_verify = r
            .get("tls_verify")
            .is_some()
            .then(|| r.boolean("tls_verify", false));
        let service = Service {
            id,
            created_at: r.timestamp("created_at", cx.now),
            updated_at: r.timestamp("updated_at", cx.now),
            name,
            retries: r.integer("retries", 5, 0, 32767),
            protocol,
            host: host.unwrap_or_default(),
            port: port.unwrap_or(80),
            path,
            connect_timeout: r.integer("connect_timeout", 60_000, 1, MAX_TIMEOUT),
            write_timeout: r.integer("write_timeout", 60_000, 1, MAX_TIMEOUT),
            read_timeout: r.integer("read_timeout", 60_000, 1, MAX_TIMEOUT),
            tags: r.tags(),
            client_certificate: None,
            tls_verify,
            tls_verify_depth: r.optional_integer("tls_verify_depth", 0, 64),
            ca_certificates: None,
            enabled: r.boolean("enabled", true),
        };
        for key in ["client_certificate", "ca_certificates"] {
            r.unsupported(
                key,
                "kong.yml has no certificate entities in kingress; use the konghq.com/ \
                 annotations on a Kubernetes Service",
            );
        }
        r.finish()?;
        Ok(service)
    }
}

/// The parts of a service `url`.
struct UrlParts {
    protocol: String,
    host: String,
    port: i64,
    path: Option<String>,
}

/// Splits `url` the way Kong's `url` shorthand does: the port defaults by
/// scheme, an empty path is unset.
fn parse_url(url: &str) -> Result<UrlParts, String> {
    let uri: http::Uri = url.parse().map_err(|_| format!("cannot parse '{url}'"))?;
    let protocol = uri
        .scheme_str()
        .ok_or_else(|| format!("missing scheme in '{url}'"))?
        .to_ascii_lowercase();
    let host = uri
        .host()
        .ok_or_else(|| format!("missing host in '{url}'"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = match uri.port_u16() {
        Some(p) => i64::from(p),
        None if matches!(protocol.as_str(), "https" | "grpcs") => 443,
        None => 80,
    };
    if uri.query().is_some() {
        return Err(format!("query not allowed in '{url}'"));
    }
    let path = Some(uri.path().to_string()).filter(|p| !p.is_empty() && url_has_path(url));
    Ok(UrlParts {
        protocol,
        host,
        port,
        path,
    })
}

/// `http::Uri` reports `/` for `http://h`; Kong leaves the path unset then.
fn url_has_path(url: &str) -> bool {
    url.split_once("://")
        .is_some_and(|(_, rest)| rest.contains('/'))
}

/// A host name or an IP address.
fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kong::Ids;
    use serde_json::json;

    fn cx() -> Context<'static> {
        Context {
            now: 1700000000,
            ids: Ids::Derived,
            position: "services[0]",
            resolve: &|_, _| None,
            stored: false,
        }
    }

    #[test]
    fn url_shorthand_expands_and_defaults_fill_in() {
        let s = Service::from_json(
            &json!({"name": "echo", "url": "https://echo.test/base"}),
            &cx(),
        )
        .unwrap();
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["protocol"], "https");
        assert_eq!(v["host"], "echo.test");
        assert_eq!(v["port"], 443);
        assert_eq!(v["path"], "/base");
        assert_eq!(v["retries"], 5);
        assert_eq!(v["connect_timeout"], 60000);
        assert_eq!(v["enabled"], true);
        assert_eq!(v["created_at"], 1700000000);
        assert!(v["tags"].is_null() && v.get("tls_verify").is_some());
        assert_eq!(v.as_object().unwrap().len(), 18);

        let s = Service::from_json(&json!({"url": "http://127.0.0.1:9000"}), &cx()).unwrap();
        assert_eq!((s.port, s.path.as_deref()), (9000, None));
    }

    /// Kong's services schema: `grpc`/`grpcs` are protocols, a path is
    /// refused with them (spec/01-unit/01-db/01-schema/05-services_spec.lua
    /// "grpc and grpcs protocols do not accept a path").
    #[test]
    fn grpc_services_take_no_path() {
        let s = Service::from_json(&json!({"url": "grpcs://grpc.test"}), &cx()).unwrap();
        assert_eq!((s.protocol.as_str(), s.port), ("grpcs", 443));
        let s = Service::from_json(
            &json!({"protocol": "grpc", "host": "g", "port": 9000}),
            &cx(),
        )
        .unwrap();
        assert_eq!(s.protocol, "grpc");
        let e = Service::from_json(&json!({"url": "grpc://g:9000/base"}), &cx()).unwrap_err();
        assert_eq!(
            e.get("path"),
            Some(&crate::kong::FieldError::Message(
                "value must be null".into()
            ))
        );
    }

    #[test]
    fn schema_violations_name_each_field() {
        let e = Service::from_json(
            &json!({"name": "a b", "port": 70000, "protocol": "tcp", "bogus": 1}),
            &cx(),
        )
        .unwrap_err();
        for field in ["name", "port", "protocol", "host", "bogus"] {
            assert!(e.get(field).is_some(), "{field}: {e}");
        }
        assert_eq!(
            e.get("port"),
            Some(&crate::kong::FieldError::Message(
                "value should be between 0 and 65535".into()
            ))
        );
    }

    #[test]
    fn tls_verify_and_depth_are_read_and_certificates_refused() {
        let s = Service::from_json(
            &json!({"url": "https://up.test", "tls_verify": true, "tls_verify_depth": 2,
                    "client_certificate": null}),
            &cx(),
        )
        .unwrap();
        assert_eq!((s.tls_verify, s.tls_verify_depth), (Some(true), Some(2)));
        let unset = Service::from_json(
            &json!({"url": "https://up.test", "tls_verify": null}),
            &cx(),
        )
        .unwrap();
        assert_eq!((unset.tls_verify, unset.tls_verify_depth), (None, None));
        let e = Service::from_json(
            &json!({"url": "https://up.test", "tls_verify_depth": 65,
                    "ca_certificates": ["4e3ad2e4-0bc4-4638-8e34-c84a417ba39b"]}),
            &cx(),
        )
        .unwrap_err();
        let text = format!("{e:?}");
        assert!(text.contains("tls_verify_depth"), "{text}");
        assert!(text.contains("ca_certificates"), "{text}");
    }
}
