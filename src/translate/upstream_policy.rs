//! `konghq.com/upstream-policy` on a Service: the KongUpstreamPolicy of
//! the same namespace becomes the upstream's algorithm and health checks,
//! as KIC translates it. A policy that is missing or invalid is reported and
//! the Service keeps round-robin without health checks.

use super::Cx;
use super::kong_ingress::UpstreamOverride;
use crate::crd::{KongUpstreamHash, KongUpstreamPolicySpec};
use crate::kong::{Context, Ids, Upstream};
use crate::model::{Balance, ObjectRef};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The balance settings of Service `service` (in `namespace`) naming
/// policy `name`, over the `upstream` section of its KongIngress
/// (`overrides`; the policy's fields win, as in KIC 3). `None`
/// (round-robin) when there is neither, or what there is is missing or
/// invalid, each reported.
pub(super) fn balance(
    cx: &mut Cx<'_>,
    service: &ObjectRef,
    namespace: &str,
    name: Option<&str>,
    overrides: Option<UpstreamOverride>,
) -> Option<Arc<Balance>> {
    let policy = name.and_then(|name| {
        let key = (namespace.to_string(), name.to_string());
        let found = cx.objects.kong_upstream_policies.get(&key).cloned();
        if found.is_none() {
            cx.problem(
                service,
                "UpstreamPolicyNotFound",
                format!(
                    "konghq.com/upstream-policy names KongUpstreamPolicy {namespace}/{name}, \
                     which does not exist; the Service is balanced round-robin without health \
                     checks"
                ),
            );
        }
        found.map(|p| (ObjectRef::new("KongUpstreamPolicy", namespace, name), p))
    });
    let (object, label, spec, users) = match (policy, overrides) {
        (None, None) => return None,
        (Some((object, p)), o) => {
            let spec = match o {
                Some(o) => merged(o.spec, &p.spec),
                None => p.spec.clone(),
            };
            let label = format!("{namespace}/{}", object.name);
            (object, label, spec, "the Services naming it are")
        }
        (None, Some(o)) => {
            let label = format!("KongIngress {namespace}/{}", o.object.name);
            (o.object, label, o.spec, "the Services naming it are")
        }
    };
    match translate(&spec, &label) {
        Ok(balance) => Some(Arc::new(balance)),
        Err(why) => {
            let (reason, why) = match object.kind.as_str() {
                "KongIngress" => ("InvalidKongIngress", format!("upstream, read as {why}")),
                _ => ("InvalidUpstreamPolicy", why),
            };
            cx.problem(
                &object,
                reason,
                format!("{why}; {users} balanced round-robin without health checks"),
            );
            None
        }
    }
}

/// `over`'s fields where set, else `under`'s.
fn merged(under: KongUpstreamPolicySpec, over: &KongUpstreamPolicySpec) -> KongUpstreamPolicySpec {
    let over = over.clone();
    KongUpstreamPolicySpec {
        algorithm: over.algorithm.or(under.algorithm),
        hash_on: over.hash_on.or(under.hash_on),
        hash_on_fallback: over.hash_on_fallback.or(under.hash_on_fallback),
        slots: over.slots.or(under.slots),
        healthchecks: over.healthchecks.or(under.healthchecks),
    }
}

/// A spec as Kong upstream settings, or why it cannot be one. KIC's
/// own rules for the CRD (which hash fields go together) are checked here;
/// everything else is Kong's upstream schema, read by the same code as a
/// kong.yml upstream.
fn translate(spec: &KongUpstreamPolicySpec, label: &str) -> Result<Balance, String> {
    let mut upstream = Map::new();
    // Any valid host name: the policy's fields are what is read.
    upstream.insert("name".into(), json!("policy"));
    let hashing = spec.algorithm.as_deref() == Some("consistent-hashing");
    if let Some(a) = &spec.algorithm {
        upstream.insert("algorithm".into(), json!(a));
    }
    if let Some(slots) = spec.slots {
        upstream.insert("slots".into(), json!(slots));
    }
    if let Some(h) = &spec.hash_on {
        if !hashing {
            return Err(
                "spec.hashOn can only be set when spec.algorithm is consistent-hashing".into(),
            );
        }
        hash(h, "spec.hashOn", false, &mut upstream)?;
    }
    if let Some(h) = &spec.hash_on_fallback {
        if !hashing {
            return Err(
                "spec.hashOnFallback can only be set when spec.algorithm is consistent-hashing"
                    .into(),
            );
        }
        if spec.hash_on.as_ref().is_none_or(|h| h.cookie.is_some()) {
            return Err(
                "spec.hashOnFallback must not be set when spec.hashOn is a cookie or unset".into(),
            );
        }
        if h.cookie.is_some() {
            return Err("spec.hashOnFallback.cookie is not allowed".into());
        }
        hash(h, "spec.hashOnFallback", true, &mut upstream)?;
    }
    if let Some(checks) = &spec.healthchecks {
        let value = serde_json::to_value(checks).map_err(|e| e.to_string())?;
        upstream.insert("healthchecks".into(), kong_fields(value, false));
    }
    let cx = Context {
        now: 0,
        ids: Ids::Derived,
        position: label,
        resolve: &|_, _| None,
        stored: false,
    };
    match Upstream::from_json(&Value::Object(upstream), &cx) {
        Ok(u) => Ok(u.balance(label)),
        Err(e) => Err(e
            .flatten()
            .into_iter()
            .map(|(field, message)| format!("spec.{}: {message}", kic_path(&field)))
            .collect::<Vec<_>>()
            .join("; ")),
    }
}

/// One hash input as Kong's `hash_on`/`hash_fallback` fields: exactly one
/// field set (KIC's rule).
fn hash(
    h: &KongUpstreamHash,
    field: &str,
    fallback: bool,
    upstream: &mut Map<String, Value>,
) -> Result<(), String> {
    let set = [
        h.input.is_some(),
        h.header.is_some(),
        h.cookie.is_some(),
        h.query_arg.is_some(),
        h.uri_capture.is_some(),
    ];
    if set.iter().filter(|s| **s).count() != 1 {
        return Err(format!(
            "{field} must set exactly one of input, header, cookie, queryArg, uriCapture"
        ));
    }
    if h.cookie_path.is_some() && h.cookie.is_none() {
        return Err(format!("{field}.cookiePath needs {field}.cookie"));
    }
    let (on, prefix) = if fallback {
        ("hash_fallback", "hash_fallback")
    } else {
        ("hash_on", "hash_on")
    };
    let (kind, key, value) = match h {
        KongUpstreamHash {
            input: Some(input), ..
        } => (input.as_str(), None, None),
        KongUpstreamHash {
            header: Some(v), ..
        } => ("header", Some(format!("{prefix}_header")), Some(v)),
        KongUpstreamHash {
            cookie: Some(v), ..
        } => {
            if let Some(path) = &h.cookie_path {
                upstream.insert("hash_on_cookie_path".into(), json!(path));
            }
            ("cookie", Some("hash_on_cookie".to_string()), Some(v))
        }
        KongUpstreamHash {
            query_arg: Some(v), ..
        } => ("query_arg", Some(format!("{prefix}_query_arg")), Some(v)),
        KongUpstreamHash {
            uri_capture: Some(v),
            ..
        } => (
            "uri_capture",
            Some(format!("{prefix}_uri_capture")),
            Some(v),
        ),
        _ => ("none", None, None),
    };
    if !matches!(
        kind,
        "ip" | "consumer" | "path" | "header" | "cookie" | "query_arg" | "uri_capture"
    ) {
        return Err(format!("{field}.input '{kind}' is not supported"));
    }
    upstream.insert(on.into(), json!(kind));
    if let (Some(key), Some(value)) = (key, value) {
        upstream.insert(key, json!(value));
    }
    Ok(())
}

/// KIC's camelCase health check fields as Kong's snake_case ones (header
/// names under `headers` stay as written); passive checks have no
/// `interval` in Kong, which KIC's shared type allows, so it is dropped.
fn kong_fields(value: Value, passive: bool) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| !(passive && k == "interval"))
                .map(|(k, v)| {
                    let v = match k.as_str() {
                        "headers" => v,
                        "passive" => kong_fields(v, true),
                        _ => kong_fields(v, passive),
                    };
                    (snake(&k), v)
                })
                .collect(),
        ),
        other => other,
    }
}

fn snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A Kong field path in the CRD's spelling (`healthchecks.active.http_path`
/// → `healthchecks.active.httpPath`), for messages about the policy.
fn kic_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut upper = false;
    for c in path.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}
