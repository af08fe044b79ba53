//! KongIngress fields as the annotations they correspond to (KIC's
//! `overrideByKongIngress` for routes and services), and its `upstream`
//! section as a KongUpstreamPolicy spec (KIC 3 merges the two the same way).

use super::super::Cx;
use super::super::annotations::{self, Annotations};
use crate::crd::{
    KongIngressRoute, KongIngressService, KongIngressUpstream, KongUpstreamHash,
    KongUpstreamHealthcheck, KongUpstreamPolicySpec,
};
use crate::model::ObjectRef;
use serde_json::Value;
use std::collections::BTreeMap;

/// Joins a KongIngress header's values when no annotation chose a
/// separator: a character no header value holds.
const UNIT_SEPARATOR: &str = "\u{1f}";

/// Annotation values taken from a KongIngress, and the field each came from.
#[derive(Debug, Default)]
pub(super) struct Fields {
    values: std::collections::BTreeMap<String, String>,
    /// `(annotation key, KongIngress field)`.
    origin: Vec<(String, String)>,
}

// === impl Fields ===

impl Fields {
    fn set(&mut self, key: &str, field: &str, value: String) {
        self.values.insert(key.to_string(), value);
        self.origin.push((key.to_string(), field.to_string()));
    }

    fn list(&mut self, key: &str, field: &str, values: &Option<Vec<String>>) {
        if let Some(v) = values.as_ref().filter(|v| !v.is_empty()) {
            self.set(key, field, v.join(","));
        }
    }

    fn show(&mut self, key: &str, field: &str, value: Option<impl ToString>) {
        if let Some(v) = value {
            self.set(key, field, v.to_string());
        }
    }

    /// The values with the object's annotations `a` over them (an
    /// annotation wins); fields an annotation overrides are forgotten.
    pub(super) fn under(&mut self, a: Option<&Annotations>) -> Annotations {
        let mut merged = std::mem::take(&mut self.values);
        if let Some(a) = a {
            self.origin.retain(|(key, _)| !a.contains_key(key));
            merged.extend(a.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        }
        merged.into()
    }

    /// Moves the problems since `start` that are about a value from the
    /// KongIngress onto it, naming the field instead of the annotation.
    pub(super) fn relabel(&self, cx: &mut Cx<'_>, start: usize, ki: &ObjectRef) {
        for p in &mut cx.problems[start..] {
            let from = self.origin.iter().find(|(key, _)| {
                p.message
                    .strip_prefix(key.as_str())
                    .is_some_and(|rest| rest.starts_with(' '))
            });
            if let Some((key, field)) = from {
                let rest = p.message[key.len()..]
                    .replace("the annotation is ignored", "the field is ignored");
                p.message = format!("KongIngress field {field}{rest}");
                p.object = ki.clone();
            }
        }
    }
}

/// The `route` section; its headers apply only when the Ingress has no
/// `konghq.com/headers.*` annotation (KIC replaces them whole).
pub(super) fn route(
    cx: &mut Cx<'_>,
    ki: &ObjectRef,
    f: &mut Fields,
    r: &KongIngressRoute,
    a: Option<&Annotations>,
) {
    f.list(annotations::METHODS, "route.methods", &r.methods);
    f.list(annotations::PROTOCOLS, "route.protocols", &r.protocols);
    f.list(annotations::SNIS, "route.snis", &r.snis);
    f.show(
        annotations::REGEX_PRIORITY,
        "route.regex_priority",
        r.regex_priority,
    );
    f.show(annotations::STRIP_PATH, "route.strip_path", r.strip_path);
    f.show(
        annotations::PRESERVE_HOST,
        "route.preserve_host",
        r.preserve_host,
    );
    f.show(
        annotations::HTTPS_REDIRECT,
        "route.https_redirect_status_code",
        r.https_redirect_status_code,
    );
    f.show(
        annotations::PATH_HANDLING,
        "route.path_handling",
        r.path_handling.as_ref(),
    );
    f.show(
        annotations::REQUEST_BUFFERING,
        "route.request_buffering",
        r.request_buffering,
    );
    f.show(
        annotations::RESPONSE_BUFFERING,
        "route.response_buffering",
        r.response_buffering,
    );
    let empty = Annotations::default();
    let a = a.unwrap_or(&empty);
    let annotated = a.keys().any(|k| k.starts_with(annotations::HEADERS_PREFIX));
    if let Some(headers) = r.headers.as_ref().filter(|_| !annotated) {
        let separator = a
            .get(annotations::HEADERS_SEPARATOR)
            .filter(|s| !s.is_empty())
            .unwrap_or(UNIT_SEPARATOR)
            .to_string();
        for (name, values) in headers {
            let key = format!("{}{name}", annotations::HEADERS_PREFIX);
            f.set(
                &key,
                &format!("route.headers.{name}"),
                values.join(&separator),
            );
        }
        if !a.contains_key(annotations::HEADERS_SEPARATOR) {
            f.values
                .insert(annotations::HEADERS_SEPARATOR.to_string(), separator);
        }
    }
    unknown(cx, ki, "route", &r.other);
}

/// The `proxy` section.
pub(super) fn proxy(cx: &mut Cx<'_>, ki: &ObjectRef, f: &mut Fields, p: &KongIngressService) {
    f.show(annotations::PROTOCOL, "proxy.protocol", p.protocol.as_ref());
    f.show(annotations::PATH, "proxy.path", p.path.as_ref());
    f.show(annotations::RETRIES, "proxy.retries", p.retries);
    f.show(
        annotations::CONNECT_TIMEOUT,
        "proxy.connect_timeout",
        p.connect_timeout,
    );
    f.show(
        annotations::READ_TIMEOUT,
        "proxy.read_timeout",
        p.read_timeout,
    );
    f.show(
        annotations::WRITE_TIMEOUT,
        "proxy.write_timeout",
        p.write_timeout,
    );
    unknown(cx, ki, "proxy", &p.other);
}

/// The `upstream` section: `host_header` as its annotation, the rest as a
/// KongUpstreamPolicy spec (`None` when it sets none of that, or cannot be
/// read, which is reported on `ki`).
pub(super) fn upstream(
    cx: &mut Cx<'_>,
    ki: &ObjectRef,
    f: &mut Fields,
    u: &KongIngressUpstream,
) -> Option<KongUpstreamPolicySpec> {
    f.show(
        annotations::HOST_HEADER,
        "upstream.host_header",
        u.host_header.as_ref(),
    );
    unknown(cx, ki, "upstream", &u.other);
    let mut spec = KongUpstreamPolicySpec {
        algorithm: u.algorithm.clone(),
        slots: u.slots,
        ..Default::default()
    };
    let read = hash(u, false).and_then(|on| {
        spec.hash_on = on.map(Box::new);
        spec.hash_on_fallback = hash(u, true)?.map(Box::new);
        u.healthchecks.as_ref().map(healthchecks).transpose()
    });
    match read {
        Ok(checks) => {
            if let Some((checks, dropped)) = checks {
                spec.healthchecks = Some(Box::new(checks));
                let other = dropped
                    .into_iter()
                    .map(|(k, v)| (format!("healthchecks.{k}"), v));
                unknown(cx, ki, "upstream", &other.collect());
            }
        }
        Err(why) => {
            cx.problem(
                ki,
                "InvalidKongIngress",
                format!(
                    "{why}; the Service's upstream is balanced without the KongIngress's \
                     upstream settings"
                ),
            );
            return None;
        }
    }
    (spec != KongUpstreamPolicySpec::default()).then_some(spec)
}

/// Reports fields of `section` kingress does not know.
fn unknown(cx: &mut Cx<'_>, ki: &ObjectRef, section: &str, other: &BTreeMap<String, Value>) {
    for (name, value) in other {
        cx.problem(
            ki,
            "KongIngressFieldIgnored",
            format!(
                "KongIngress field {section}.{name} ({value}) is not supported by kingress and \
                 is ignored"
            ),
        );
    }
}

/// `hash_on` (or `hash_fallback`) with the field that names its input.
fn hash(u: &KongIngressUpstream, fallback: bool) -> Result<Option<KongUpstreamHash>, String> {
    let (kind, field) = match fallback {
        false => (&u.hash_on, "upstream.hash_on"),
        true => (&u.hash_fallback, "upstream.hash_fallback"),
    };
    let Some(kind) = kind.as_deref() else {
        return Ok(None);
    };
    let need = |value: &Option<String>, name: &str| {
        value
            .clone()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("{field} '{kind}' needs upstream.{name}"))
    };
    let mut h = KongUpstreamHash::default();
    match (kind, fallback) {
        ("none", _) => return Ok(None),
        ("ip" | "consumer" | "path", _) => h.input = Some(kind.to_string()),
        ("header", false) => h.header = Some(need(&u.hash_on_header, "hash_on_header")?),
        ("header", true) => h.header = Some(need(&u.hash_fallback_header, "hash_fallback_header")?),
        ("cookie", _) => {
            h.cookie = Some(need(&u.hash_on_cookie, "hash_on_cookie")?);
            h.cookie_path = u.hash_on_cookie_path.clone();
        }
        ("query_arg", false) => {
            h.query_arg = Some(need(&u.hash_on_query_arg, "hash_on_query_arg")?)
        }
        ("query_arg", true) => {
            h.query_arg = Some(need(&u.hash_fallback_query_arg, "hash_fallback_query_arg")?)
        }
        ("uri_capture", false) => {
            h.uri_capture = Some(need(&u.hash_on_uri_capture, "hash_on_uri_capture")?)
        }
        ("uri_capture", true) => {
            h.uri_capture = Some(need(
                &u.hash_fallback_uri_capture,
                "hash_fallback_uri_capture",
            )?)
        }
        (other, _) => return Err(format!("{field} '{other}' is not supported")),
    }
    Ok(Some(h))
}

/// Kong's health checks (snake_case) as a KongUpstreamPolicy's
/// (camelCase), with the fields that did not carry over.
fn healthchecks(
    value: &Value,
) -> Result<(KongUpstreamHealthcheck, BTreeMap<String, Value>), String> {
    let camel = rename(value, &|k| {
        let mut out = String::with_capacity(k.len());
        let mut upper = false;
        for c in k.chars() {
            match c {
                '_' => upper = true,
                c if upper => {
                    out.extend(c.to_uppercase());
                    upper = false;
                }
                c => out.push(c),
            }
        }
        // Kong's `https_sni` is `httpsSni`, `http_path` `httpPath`: the
        // rule holds for every field.
        out
    });
    let checks: KongUpstreamHealthcheck = serde_json::from_value(camel)
        .map_err(|e| format!("upstream.healthchecks cannot be read: {e}"))?;
    let back = serde_json::to_value(&checks).map_err(|e| e.to_string())?;
    let back = rename(&back, &|k| {
        let mut out = String::with_capacity(k.len() + 4);
        for c in k.chars() {
            if c.is_ascii_uppercase() {
                out.push('_');
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    });
    let mut dropped = BTreeMap::new();
    missing(value, &back, "", &mut dropped);
    Ok((checks, dropped))
}

/// `value` with every object key renamed, except header names.
fn rename(value: &Value, f: &dyn Fn(&str) -> String) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if k == "headers" {
                        v.clone()
                    } else {
                        rename(v, f)
                    };
                    (f(k), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The keys of `input` (under `path`) that `kept` lacks.
fn missing(input: &Value, kept: &Value, path: &str, out: &mut BTreeMap<String, Value>) {
    let Value::Object(map) = input else { return };
    for (k, v) in map {
        let here = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        match kept.get(k) {
            None if !v.is_null() => {
                out.insert(here, v.clone());
            }
            Some(kept) if k != "headers" => missing(v, kept, &here, out),
            _ => {}
        }
    }
}
