//! `konghq.com/*` annotations on Ingresses (route settings) and Services
//! (upstream settings). A bad value is reported and the default is used, as
//! KIC does; an annotation kingress does not implement is reported too, since
//! ignoring e.g. `konghq.com/headers.*` silently would route more traffic
//! than the author meant.

mod forwarding;
mod matching;
mod upstream_tls;

use super::Cx;
use crate::model::{ObjectRef, PathHandling, Scheme};

pub(super) use forwarding::Rewrite;
pub(super) use forwarding::{PATH_HANDLING, REQUEST_BUFFERING, RESPONSE_BUFFERING};
pub(super) use matching::{Conditions, HEADERS_PREFIX, HEADERS_SEPARATOR, SNIS};
pub(super) use upstream_tls::settings as upstream_tls;

/// Plugins to attach (Ingress, Service, KongConsumer).
pub(super) const PLUGINS: &str = "konghq.com/plugins";
pub(super) const STRIP_PATH: &str = "konghq.com/strip-path";
pub(super) const PRESERVE_HOST: &str = "konghq.com/preserve-host";
pub(super) const METHODS: &str = "konghq.com/methods";
pub(super) const PROTOCOLS: &str = "konghq.com/protocols";
pub(super) const HTTPS_REDIRECT: &str = "konghq.com/https-redirect-status-code";
pub(super) const REGEX_PRIORITY: &str = "konghq.com/regex-priority";
const REGEX_PREFIX: &str = "konghq.com/regex-prefix";
pub(super) const HOST_HEADER: &str = "konghq.com/host-header";
pub(super) const PATH: &str = "konghq.com/path";
pub(super) const PROTOCOL: &str = "konghq.com/protocol";
pub(super) const CONNECT_TIMEOUT: &str = "konghq.com/connect-timeout";
pub(super) const READ_TIMEOUT: &str = "konghq.com/read-timeout";
pub(super) const WRITE_TIMEOUT: &str = "konghq.com/write-timeout";
/// KIC reads this nginx-ingress annotation on Services: the upstream is
/// the Service's cluster DNS name rather than its endpoints.
const SERVICE_UPSTREAM: &str = "ingress.kubernetes.io/service-upstream";
pub(super) const RETRIES: &str = "konghq.com/retries";
/// A KongUpstreamPolicy in the Service's namespace.
const UPSTREAM_POLICY: &str = "konghq.com/upstream-policy";
/// Kong entity tags: metadata only, nothing to route on.
const TAGS: &str = "konghq.com/tags";

const ROUTE_KEYS: &[&str] = &[
    PLUGINS,
    STRIP_PATH,
    PRESERVE_HOST,
    METHODS,
    PROTOCOLS,
    HTTPS_REDIRECT,
    REGEX_PRIORITY,
    REGEX_PREFIX,
    TAGS,
    matching::HEADERS_SEPARATOR,
    matching::SNIS,
    matching::HOST_ALIASES,
    forwarding::REWRITE,
    forwarding::PATH_HANDLING,
    forwarding::REQUEST_BUFFERING,
    forwarding::RESPONSE_BUFFERING,
    super::kong_ingress::OVERRIDE,
];
const SERVICE_KEYS: &[&str] = &[
    PLUGINS,
    HOST_HEADER,
    PATH,
    PROTOCOL,
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    WRITE_TIMEOUT,
    RETRIES,
    TAGS,
    upstream_tls::TLS_VERIFY,
    upstream_tls::TLS_VERIFY_DEPTH,
    upstream_tls::CA_SECRETS,
    upstream_tls::CA_SECRET,
    upstream_tls::CA_CONFIGMAPS[0],
    upstream_tls::CA_CONFIGMAPS[1],
    upstream_tls::CLIENT_CERT,
    UPSTREAM_POLICY,
    super::kong_ingress::OVERRIDE,
];

/// What KIC reads on KongConsumers and KongConsumerGroups.
const HOLDER_KEYS: &[&str] = &[PLUGINS, TAGS];

/// An object's annotations.
pub(super) type Annotations = crate::objects::meta::Pairs;

/// Route settings from an Ingress's annotations.
#[derive(Clone, Debug)]
pub(super) struct RouteSettings {
    pub strip_path: bool,
    pub preserve_host: bool,
    pub methods: Vec<String>,
    pub protocols: Vec<String>,
    pub https_redirect_status_code: u16,
    pub regex_priority: i64,
    pub regex_prefix: String,
    pub path_handling: PathHandling,
    pub conditions: Conditions,
    pub rewrite: Option<Rewrite>,
}

/// Upstream settings from a Service's annotations.
#[derive(Clone, Debug, Default)]
pub(super) struct ServiceSettings {
    pub path: Option<String>,
    pub host_header: Option<String>,
    pub scheme: Option<Scheme>,
    pub connect_timeout_ms: Option<u64>,
    pub read_timeout_ms: Option<u64>,
    pub write_timeout_ms: Option<u64>,
    pub retries: Option<u32>,
    /// `ingress.kubernetes.io/service-upstream: "true"`.
    pub service_upstream: bool,
    /// `konghq.com/upstream-policy`: a KongUpstreamPolicy's name.
    pub upstream_policy: Option<String>,
}

/// One entry of `konghq.com/plugins`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct PluginRef {
    /// `Some` for a `<namespace>:<name>` reference.
    pub namespace: Option<String>,
    pub name: String,
}

/// Reads route settings, reporting bad values on `object`.
pub(super) fn route_settings(
    cx: &mut Cx<'_>,
    object: &ObjectRef,
    annotations: Option<&Annotations>,
) -> RouteSettings {
    let empty = Annotations::default();
    let a = annotations.unwrap_or(&empty);
    unsupported(cx, object, a.keys(), ROUTE_KEYS);
    let mut s = RouteSettings {
        strip_path: boolean(cx, object, a, STRIP_PATH, false),
        preserve_host: boolean(cx, object, a, PRESERVE_HOST, true),
        methods: Vec::new(),
        protocols: Vec::new(),
        https_redirect_status_code: 426,
        regex_priority: 0,
        regex_prefix: super::paths::DEFAULT_REGEX_PREFIX.to_string(),
        path_handling: PathHandling::V0,
        conditions: matching::conditions(cx, object, a),
        rewrite: None,
    };
    forwarding::apply(cx, object, a, &mut s);
    if let Some(v) = a.get(METHODS) {
        let methods: Vec<String> = list(v).map(|m| m.to_ascii_uppercase()).collect();
        match methods
            .iter()
            .find(|m| m.is_empty() || !m.bytes().all(|b| b.is_ascii_uppercase()))
        {
            Some(bad) => invalid(cx, object, METHODS, v, &format!("'{bad}' is not a method")),
            None => s.methods = dedup(methods),
        }
    }
    if let Some(v) = a.get(PROTOCOLS) {
        match protocols(v) {
            Ok(p) => s.protocols = p,
            Err(Refusal::Invalid(why)) => invalid(cx, object, PROTOCOLS, v, &why),
            Err(Refusal::Unsupported(why)) => not_supported(cx, object, PROTOCOLS, v, &why),
        }
    }
    if let Some(v) = a.get(HTTPS_REDIRECT) {
        match v.trim().parse::<u16>() {
            Ok(code @ (426 | 301 | 302 | 307 | 308)) => s.https_redirect_status_code = code,
            _ => invalid(
                cx,
                object,
                HTTPS_REDIRECT,
                v,
                "must be 426, 301, 302, 307 or 308",
            ),
        }
    }
    if let Some(v) = a.get(REGEX_PRIORITY) {
        match v.trim().parse::<i64>() {
            Ok(p) => s.regex_priority = p,
            Err(_) => invalid(cx, object, REGEX_PRIORITY, v, "must be an integer"),
        }
    }
    if let Some(v) = a.get(REGEX_PREFIX) {
        if v.is_empty() {
            invalid(cx, object, REGEX_PREFIX, v, "must not be empty");
        } else {
            s.regex_prefix = v.to_string();
        }
    }
    s
}

/// Reads upstream settings, reporting bad values on `object`.
pub(super) fn service_settings(
    cx: &mut Cx<'_>,
    object: &ObjectRef,
    annotations: Option<&Annotations>,
) -> ServiceSettings {
    let Some(a) = annotations else {
        return ServiceSettings::default();
    };
    unsupported(cx, object, a.keys(), SERVICE_KEYS);
    let mut s = ServiceSettings::default();
    if let Some(v) = a.get(PATH) {
        if v.starts_with('/') {
            s.path = Some(v.to_string());
        } else {
            invalid(cx, object, PATH, v, "must start with '/'");
        }
    }
    if let Some(v) = a.get(HOST_HEADER).filter(|v| !v.trim().is_empty()) {
        s.host_header = Some(v.trim().to_string());
    }
    if let Some(v) = a.get(PROTOCOL) {
        // gRPC upstreams speak HTTP/2 (h2c or h2 over TLS); `ws`/`wss`
        // upgrade over HTTP/1.1.
        match protocol(v.trim()) {
            Ok(_) if let Some(scheme) = Scheme::parse(v.trim()) => s.scheme = Some(scheme),
            Ok("https") => s.scheme = Some(Scheme::Https),
            Ok(_) => s.scheme = Some(Scheme::Http),
            Err(Refusal::Invalid(why)) => invalid(cx, object, PROTOCOL, v, &why),
            Err(Refusal::Unsupported(why)) => not_supported(cx, object, PROTOCOL, v, &why),
        }
    }
    let number = |cx: &mut Cx<'_>, key: &str| -> Option<u64> {
        let v = a.get(key)?;
        let n = v.trim().parse::<u64>().ok();
        if n.is_none() {
            invalid(cx, object, key, v, "must be a non-negative integer");
        }
        n
    };
    s.connect_timeout_ms = number(cx, CONNECT_TIMEOUT);
    s.read_timeout_ms = number(cx, READ_TIMEOUT);
    s.write_timeout_ms = number(cx, WRITE_TIMEOUT);
    s.service_upstream = a.get(SERVICE_UPSTREAM) == Some("true");
    s.retries = number(cx, RETRIES).map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    s.upstream_policy = a
        .get(UPSTREAM_POLICY)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    s
}

/// Reports the `konghq.com/` annotations of a KongConsumer or
/// KongConsumerGroup that kingress does not serve (it reads
/// `konghq.com/plugins`; tags are metadata).
pub(super) fn holder<'a>(cx: &mut Cx<'_>, object: &ObjectRef, keys: impl Iterator<Item = &'a str>) {
    unsupported(cx, object, keys, HOLDER_KEYS);
}

/// Parses a `konghq.com/plugins` value: a comma list of `name` or
/// `namespace:name`. `Err` carries the malformed entry.
pub(super) fn plugin_refs(value: &str) -> Vec<Result<PluginRef, String>> {
    list(value)
        .filter(|e| !e.is_empty())
        .map(
            |entry| match entry.split(':').collect::<Vec<_>>().as_slice() {
                [name] => Ok(PluginRef {
                    namespace: None,
                    name: name.to_string(),
                }),
                [ns, name] if !ns.is_empty() && !name.is_empty() => Ok(PluginRef {
                    namespace: Some(ns.to_string()),
                    name: name.to_string(),
                }),
                _ => Err(entry.to_string()),
            },
        )
        .collect()
}

enum Refusal {
    Invalid(String),
    Unsupported(String),
}

/// Kong's route protocols mapped onto what kingress serves: for WebSocket
/// the TLS requirement is what matters, so `wss` becomes `https` and `ws`
/// becomes `http`; `grpc`/`grpcs` stay (the proxy answers non-gRPC
/// requests on them as Kong does). Stream protocols are not served at all.
fn protocols(value: &str) -> Result<Vec<String>, Refusal> {
    let mut out = Vec::new();
    for p in list(value) {
        let served = protocol(p)?;
        out.push(match p {
            "grpc" | "grpcs" => p.to_string(),
            _ => served.to_string(),
        });
    }
    if out.iter().any(|p| p.starts_with("grpc")) && out.iter().any(|p| p.starts_with("http")) {
        return Err(Refusal::Invalid(
            "Kong's protocols sets ('http', 'https') and ('grpc', 'grpcs') are mutually exclusive"
                .into(),
        ));
    }
    out.sort();
    Ok(dedup(out))
}

fn protocol(p: &str) -> Result<&'static str, Refusal> {
    match p {
        "http" | "grpc" | "ws" => Ok("http"),
        "https" | "grpcs" | "wss" => Ok("https"),
        "tcp" | "tls" | "tls_passthrough" | "udp" => Err(Refusal::Unsupported(format!(
            "kingress serves HTTP only, not '{p}'"
        ))),
        _ => Err(Refusal::Invalid(format!("'{p}' is not a protocol"))),
    }
}

fn boolean(cx: &mut Cx<'_>, object: &ObjectRef, a: &Annotations, key: &str, default: bool) -> bool {
    let Some(v) = a.get(key) else {
        return default;
    };
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => true,
        "false" => false,
        _ => {
            invalid(cx, object, key, v, "must be 'true' or 'false'");
            default
        }
    }
}

fn unsupported<'a>(
    cx: &mut Cx<'_>,
    object: &ObjectRef,
    keys: impl Iterator<Item = &'a str>,
    known: &[&str],
) {
    for key in keys {
        let header = known.contains(&matching::HEADERS_SEPARATOR)
            && key.starts_with(matching::HEADERS_PREFIX);
        if key.starts_with("konghq.com/") && !known.contains(&key) && !header {
            cx.problem(
                object,
                "UnsupportedAnnotation",
                format!("annotation {key} is not supported by kingress and is ignored"),
            );
        }
    }
}

fn invalid(cx: &mut Cx<'_>, object: &ObjectRef, key: &str, value: &str, why: &str) {
    cx.problem(
        object,
        "InvalidAnnotation",
        format!("{key} value '{value}' is invalid ({why}); the annotation is ignored"),
    );
}

fn not_supported(cx: &mut Cx<'_>, object: &ObjectRef, key: &str, value: &str, why: &str) {
    cx.problem(
        object,
        "UnsupportedAnnotation",
        format!("{key} value '{value}' is not supported ({why}); the annotation is ignored"),
    );
}

fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim)
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_refs_parse_like_kic() {
        let refs = plugin_refs(" a, other:b ,, :c, d:, e:f:g");
        assert_eq!(
            refs,
            vec![
                Ok(PluginRef {
                    namespace: None,
                    name: "a".into()
                }),
                Ok(PluginRef {
                    namespace: Some("other".into()),
                    name: "b".into()
                }),
                Err(":c".into()),
                Err("d:".into()),
                Err("e:f:g".into()),
            ]
        );
    }
}
