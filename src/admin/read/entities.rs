//! Kong Admin API shapes of the table's entities. Every field is chosen on
//! purpose: plugin configurations are summarised field by field so a secret
//! (provision key, client secret, private key) can never slip into a reply,
//! and credentials and certificate keys are not shown at all.

use crate::model::plugin::Holder;
use crate::model::{
    Certificate, Consumer, ConsumerGroup, ObjectRef, PathMatch, PluginInstance, Route, Scheme,
    Service, Table, Target,
};
use serde_json::{Value, json};
use uuid::Uuid;

/// The UUID v5 namespace of ids the admin API derives (the same namespace
/// `translate` uses for its ids).
const NAMESPACE: Uuid = Uuid::from_u128(0x6b1f_3c52_9e0a_4d7b_8a41_2f5c_d0e9_7a13);

/// Kong's default plugin protocols.
const ALL_PROTOCOLS: [&str; 4] = ["grpc", "grpcs", "http", "https"];

/// Deterministic id of a route: UUID v5 of `route:<name>`.
pub fn route_id(name: &str) -> String {
    v5(&format!("route:{name}"))
}

/// Deterministic id of a service: UUID v5 of `service:<name>`.
pub fn service_id(name: &str) -> String {
    v5(&format!("service:{name}"))
}

/// Deterministic id of a service's upstream.
pub fn upstream_id(name: &str) -> String {
    v5(&format!("upstream:{name}"))
}

/// Deterministic id of target `address` (`host:port`) of a service's
/// upstream.
pub fn target_id(service: &str, address: &str) -> String {
    v5(&format!("target:{service}|{address}"))
}

/// Deterministic id of a certificate, from the Secret it came from.
pub fn certificate_id(source: &ObjectRef) -> String {
    v5(&format!("certificate:{source}"))
}

fn v5(name: &str) -> String {
    Uuid::new_v5(&NAMESPACE, name.as_bytes()).to_string()
}

/// KIC's tags naming the Kubernetes object an entity came from.
pub(super) fn tags(source: &ObjectRef) -> Value {
    let mut tags = vec![
        format!("k8s-name:{}", source.name),
        format!("k8s-kind:{}", source.kind),
    ];
    if let Some(ns) = &source.namespace {
        tags.push(format!("k8s-namespace:{ns}"));
    }
    json!(tags)
}

/// Kong shows unset list fields as `null`.
fn list_or_null(items: Vec<String>) -> Value {
    if items.is_empty() {
        Value::Null
    } else {
        json!(items)
    }
}

/// A route.
pub fn route(route: &Route) -> Value {
    let protocols: Vec<String> = if route.protocols.is_empty() {
        vec!["http".into(), "https".into()]
    } else {
        route.protocols.clone()
    };
    json!({
        "id": route_id(&route.name),
        "name": route.name,
        "hosts": list_or_null(route.hosts.iter().map(ToString::to_string).collect()),
        "paths": list_or_null(route.paths.iter().flat_map(kong_paths).collect()),
        "methods": list_or_null(route.methods.clone()),
        "headers": headers(route),
        "snis": list_or_null(route.snis.clone()),
        "protocols": protocols,
        "strip_path": route.strip_path,
        "preserve_host": route.preserve_host,
        "https_redirect_status_code": route.https_redirect_status_code,
        "regex_priority": route.regex_priority,
        "path_handling": route.path_handling.as_str(),
        // kingress streams bodies both ways whatever the route says.
        "request_buffering": false,
        "response_buffering": false,
        "service": route.service.as_deref().map(|s| json!({ "id": service_id(s) })),
        "tags": tags(&route.source),
    })
}

/// Header conditions as Kong prints them (name → values, a regex as its
/// `~*` value); null without any.
fn headers(route: &Route) -> Value {
    if route.headers.is_empty() {
        return Value::Null;
    }
    let map: serde_json::Map<String, Value> = route
        .headers
        .iter()
        .map(|h| {
            let values = match &h.pattern {
                Some(p) => vec![format!("~*{}", p.as_str())],
                None => h.values.clone(),
            };
            (h.name.clone(), json!(values))
        })
        .collect();
    Value::Object(map)
}

/// A path as KIC writes it for Kong: regexes start with `~`; a `Prefix`
/// path becomes the exact regex plus the `/`-terminated prefix.
fn kong_paths(path: &PathMatch) -> Vec<String> {
    match path {
        PathMatch::Plain(p) => vec![p.clone()],
        PathMatch::Exact(p) => vec![format!("~{}$", regex::escape(p))],
        PathMatch::Prefix(p) if p == "/" => vec!["/".into()],
        PathMatch::Prefix(p) => {
            let base = p.trim_end_matches('/');
            vec![format!("~{}$", regex::escape(base)), format!("{base}/")]
        }
        PathMatch::Regex(r) => vec![format!("~{}", r.as_str().trim_start_matches('^'))],
    }
}

fn scheme_name(scheme: Scheme) -> (&'static str, u16) {
    (scheme.as_str(), scheme.default_port())
}

/// A service. With a single target of its own (an ExternalName) host and
/// port are the target's; otherwise host names the upstream that holds the
/// targets, as KIC configures Kong (and as a kong.yml service names its
/// upstream).
pub fn service(service: &Service) -> Value {
    let (protocol, default_port) = scheme_name(service.scheme);
    let (host, port) = match (&service.upstream, service.targets.as_slice()) {
        (None, [only]) => (only.host.clone(), only.port),
        _ => (service.upstream_name().to_string(), default_port),
    };
    json!({
        "id": service_id(&service.name),
        "name": service.name,
        "protocol": protocol,
        "host": host,
        "port": port,
        "path": service.path,
        "retries": service.retries,
        "connect_timeout": service.connect_timeout_ms,
        "read_timeout": service.read_timeout_ms,
        "write_timeout": service.write_timeout_ms,
        "enabled": true,
        "tags": tags(&service.source),
    })
}

/// The upstream of a service (Kong keeps targets on upstreams), in Kong's
/// full shape.
pub fn upstream(service: &Service) -> Value {
    let name = service.upstream_name();
    let tags = serde_json::from_value(tags(&service.source)).ok();
    let upstream = crate::kong::Upstream::of_balance(
        upstream_id(name),
        name,
        service.balance.as_deref(),
        service.host_header.clone(),
        tags,
    );
    serde_json::to_value(upstream).unwrap_or(Value::Null)
}

/// A target of a service's upstream.
pub fn target(service: &Service, target: &Target) -> Value {
    let address = target.to_string();
    json!({
        "id": target_id(service.upstream_name(), &address),
        "target": address,
        "weight": target.weight,
        "upstream": { "id": upstream_id(service.upstream_name()) },
    })
}

/// A consumer.
pub fn consumer(consumer: &Consumer) -> Value {
    json!({
        "id": consumer.id,
        "username": consumer.username,
        "custom_id": consumer.custom_id,
        "tags": tags(&consumer.source),
    })
}

/// A consumer group: KIC's tags naming its object, then its own.
pub fn consumer_group(group: &ConsumerGroup) -> Value {
    let mut tags = tags(&group.source);
    if let Some(list) = tags.as_array_mut() {
        list.extend(group.tags.iter().map(|t| json!(t)));
    }
    json!({
        "id": group.id,
        "name": group.name,
        "tags": tags,
    })
}

/// One consumer group as Kong Gateway's `GET /consumer_groups/{group}`
/// answers: the group, its members and the plugins scoped to it.
pub fn consumer_group_details(table: &Table, group: &ConsumerGroup) -> Value {
    let consumers: Vec<Value> = table
        .consumers
        .values()
        .filter(|c| c.groups.contains(&group.name))
        .map(|c| consumer(c))
        .collect();
    let holder = Holder::Group(group.name.clone());
    let plugins: Vec<Value> = table
        .plugins
        .values()
        .filter(|p| p.scope.holder.as_ref() == Some(&holder))
        .map(|p| plugin(table, p))
        .collect();
    json!({
        "consumer_group": consumer_group(group),
        "consumers": consumers,
        "plugins": plugins,
    })
}

/// A certificate: its names and public chain, never the key.
pub fn certificate(certificate: &Certificate) -> Value {
    json!({
        "id": certificate_id(&certificate.source),
        "snis": certificate.hosts,
        "cert": certificate.cert_pem,
        "tags": tags(&certificate.source),
    })
}

/// A plugin instance. `route` is set when exactly one route runs it.
pub fn plugin(table: &Table, plugin: &PluginInstance) -> Value {
    let mut routes = table
        .routes
        .iter()
        .filter(|r| r.plugins.iter().any(|p| p.id == plugin.id));
    let route = match (routes.next(), routes.next()) {
        (Some(only), None) => json!({ "id": route_id(&only.name) }),
        _ => Value::Null,
    };
    let protocols: Vec<String> = if plugin.protocols.is_empty() {
        ALL_PROTOCOLS.iter().map(|p| p.to_string()).collect()
    } else {
        plugin.protocols.clone()
    };
    let mut value = json!({
        "id": plugin.id,
        "name": plugin.name,
        "instance_name": plugin.instance_name,
        "config": plugin.config.render(),
        "enabled": true,
        "protocols": protocols,
        "route": route,
        "service": null,
        "consumer": null,
        "tags": tags(&plugin.source),
    });
    match &plugin.scope.holder {
        Some(Holder::Consumer(id)) => value["consumer"] = json!({ "id": id }),
        // Kong Gateway OSS has no such field: shown only when set.
        Some(Holder::Group(name)) => {
            let id = table.consumer_groups.get(name).map(|g| g.id.clone());
            value["consumer_group"] = json!({ "id": id });
        }
        None => {}
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{HostMatch, PathRegex};

    #[test]
    fn ids_are_deterministic_uuids() {
        assert_eq!(route_id("a"), route_id("a"));
        assert_ne!(route_id("a"), route_id("b"));
        assert_ne!(route_id("a"), service_id("a"));
        assert!(Uuid::parse_str(&route_id("a")).is_ok());
    }

    #[test]
    fn paths_are_written_as_kic_writes_them() {
        assert_eq!(kong_paths(&PathMatch::Plain("/a".into())), ["/a"]);
        assert_eq!(kong_paths(&PathMatch::Exact("/a.b".into())), ["~/a\\.b$"]);
        assert_eq!(
            kong_paths(&PathMatch::Prefix("/a/".into())),
            ["~/a$", "/a/"]
        );
        assert_eq!(kong_paths(&PathMatch::Prefix("/".into())), ["/"]);
        let regex = PathRegex::new("/v[0-9]+").unwrap();
        assert_eq!(kong_paths(&PathMatch::Regex(regex)), ["~/v[0-9]+"]);
        assert_eq!(HostMatch::parse("*.example").to_string(), "*.example");
    }
}
