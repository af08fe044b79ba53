//! `konghq.com/upstream-policy` on a Service: the KongUpstreamPolicy of
//! the same namespace becomes the upstream's algorithm and health checks,
//! as KIC translates it. A policy that is missing or invalid is reported and
//! the Service keeps round-robin without health checks.

use super::Cx;
use super::kong_ingress::UpstreamOverride;
use crate::crd::{
    KongUpstreamActiveHealthcheck, KongUpstreamHash, KongUpstreamHealthcheck, KongUpstreamHealthy,
    KongUpstreamPassiveHealthcheck, KongUpstreamPolicySpec, KongUpstreamUnhealthy,
};
use crate::model::{
    ActiveCheck, Algorithm, Balance, HashOn, Healthchecks, ObjectRef, PassiveCheck, ProbeKind,
    Thresholds,
};
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

/// A spec as Kong upstream settings, or why it cannot be one.
fn translate(spec: &KongUpstreamPolicySpec, label: &str) -> Result<Balance, String> {
    let mut balance = Balance::new(label);
    if let Some(a) = spec.algorithm.as_deref() {
        balance.algorithm =
            Algorithm::parse(a).ok_or_else(|| format!("spec.algorithm '{a}' is not supported"))?;
    }
    if let Some(slots) = spec.slots {
        if !(10..=65_536).contains(&slots) {
            return Err(format!("spec.slots {slots} is outside 10..65536"));
        }
        balance.slots = slots as u32;
    }
    let hashing = balance.algorithm == Algorithm::ConsistentHashing;
    if let Some(h) = &spec.hash_on {
        if !hashing {
            return Err(
                "spec.hashOn can only be set when spec.algorithm is consistent-hashing".into(),
            );
        }
        balance.hash_on = hash(h, "spec.hashOn")?;
    }
    if let Some(h) = &spec.hash_on_fallback {
        if !hashing {
            return Err(
                "spec.hashOnFallback can only be set when spec.algorithm is consistent-hashing"
                    .into(),
            );
        }
        if matches!(balance.hash_on, HashOn::Cookie { .. } | HashOn::None) {
            return Err(
                "spec.hashOnFallback must not be set when spec.hashOn is a cookie or unset".into(),
            );
        }
        balance.hash_fallback = hash(h, "spec.hashOnFallback")?;
        if matches!(balance.hash_fallback, HashOn::Cookie { .. }) {
            return Err("spec.hashOnFallback.cookie is not allowed".into());
        }
    }
    if let Some(checks) = &spec.healthchecks {
        balance.healthchecks = healthchecks(checks)?;
    }
    Ok(balance)
}

/// One hash input: exactly one field set.
fn hash(h: &KongUpstreamHash, field: &str) -> Result<HashOn, String> {
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
    Ok(match h {
        KongUpstreamHash {
            input: Some(input), ..
        } => match input.as_str() {
            "ip" => HashOn::Ip,
            "consumer" => HashOn::Consumer,
            "path" => HashOn::Path,
            other => return Err(format!("{field}.input '{other}' is not supported")),
        },
        KongUpstreamHash {
            header: Some(v), ..
        } => HashOn::Header(v.to_ascii_lowercase()),
        KongUpstreamHash {
            cookie: Some(v), ..
        } => HashOn::Cookie {
            name: v.clone(),
            path: h.cookie_path.clone().unwrap_or_else(|| "/".to_string()),
        },
        KongUpstreamHash {
            query_arg: Some(v), ..
        } => HashOn::QueryArg(v.clone()),
        KongUpstreamHash {
            uri_capture: Some(v),
            ..
        } => HashOn::UriCapture(v.clone()),
        _ => HashOn::None,
    })
}

fn healthchecks(c: &KongUpstreamHealthcheck) -> Result<Healthchecks, String> {
    let mut checks = Healthchecks::default();
    if let Some(threshold) = c.threshold {
        if !(0..=100).contains(&threshold) {
            return Err(format!(
                "spec.healthchecks.threshold {threshold} is outside 0..100"
            ));
        }
        checks.threshold = threshold as u8;
    }
    if let Some(a) = &c.active {
        checks.active = active(a)?;
    }
    if let Some(p) = &c.passive {
        checks.passive = passive(p)?;
    }
    Ok(checks)
}

fn active(a: &KongUpstreamActiveHealthcheck) -> Result<ActiveCheck, String> {
    let field = "spec.healthchecks.active";
    let mut check = ActiveCheck::default();
    if let Some(kind) = &a.kind {
        check.kind = probe_kind(kind, field)?;
    }
    if let Some(path) = &a.http_path {
        if !path.starts_with('/') {
            return Err(format!("{field}.httpPath must start with '/'"));
        }
        check.path = path.clone();
    }
    if let Some(t) = a.timeout {
        check.timeout_ms = seconds(t, &format!("{field}.timeout"))?;
    }
    if let Some(n) = a.concurrency {
        check.concurrency = usize::try_from(n)
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| format!("{field}.concurrency must be at least 1"))?;
    }
    for (name, values) in a.headers.iter().flatten() {
        for value in values {
            check.headers.push((name.clone(), value.clone()));
        }
    }
    check.https_sni = a.https_sni.clone();
    if let Some(verify) = a.https_verify_certificate {
        check.verify_certificate = verify;
    }
    if let Some(h) = &a.healthy {
        healthy(&mut check.healthy, h, &format!("{field}.healthy"), true)?;
    }
    if let Some(u) = &a.unhealthy {
        unhealthy(&mut check.unhealthy, u, &format!("{field}.unhealthy"), true)?;
    }
    Ok(check)
}

fn passive(p: &KongUpstreamPassiveHealthcheck) -> Result<PassiveCheck, String> {
    let field = "spec.healthchecks.passive";
    let mut check = PassiveCheck::default();
    if let Some(kind) = &p.kind {
        check.kind = probe_kind(kind, field)?;
    }
    if let Some(h) = &p.healthy {
        healthy(&mut check.healthy, h, &format!("{field}.healthy"), false)?;
    }
    if let Some(u) = &p.unhealthy {
        unhealthy(
            &mut check.unhealthy,
            u,
            &format!("{field}.unhealthy"),
            false,
        )?;
    }
    Ok(check)
}

fn probe_kind(kind: &str, field: &str) -> Result<ProbeKind, String> {
    match kind {
        "http" => Ok(ProbeKind::Http),
        "https" => Ok(ProbeKind::Https),
        "tcp" => Ok(ProbeKind::Tcp),
        other => Err(format!(
            "{field}.type '{other}' is not supported by kingress (http, https or tcp)"
        )),
    }
}

fn healthy(
    t: &mut Thresholds,
    h: &KongUpstreamHealthy,
    field: &str,
    active: bool,
) -> Result<(), String> {
    if let Some(statuses) = &h.http_statuses {
        t.statuses = statuses_of(statuses, field)?;
    }
    if let Some(n) = h.successes {
        t.successes = counter(n, &format!("{field}.successes"))?;
    }
    if let Some(i) = h.interval.filter(|_| active) {
        t.interval_ms = seconds(i, &format!("{field}.interval"))?;
    }
    Ok(())
}

fn unhealthy(
    t: &mut Thresholds,
    u: &KongUpstreamUnhealthy,
    field: &str,
    active: bool,
) -> Result<(), String> {
    if let Some(statuses) = &u.http_statuses {
        t.statuses = statuses_of(statuses, field)?;
    }
    if let Some(n) = u.http_failures {
        t.http_failures = counter(n, &format!("{field}.httpFailures"))?;
    }
    if let Some(n) = u.tcp_failures {
        t.tcp_failures = counter(n, &format!("{field}.tcpFailures"))?;
    }
    if let Some(n) = u.timeouts {
        t.timeouts = counter(n, &format!("{field}.timeouts"))?;
    }
    if let Some(i) = u.interval.filter(|_| active) {
        t.interval_ms = seconds(i, &format!("{field}.interval"))?;
    }
    Ok(())
}

fn statuses_of(statuses: &[i64], field: &str) -> Result<Vec<u16>, String> {
    statuses
        .iter()
        .map(|s| {
            u16::try_from(*s)
                .ok()
                .filter(|s| (100..=599).contains(s))
                .ok_or_else(|| format!("{field}.httpStatuses: {s} is not an HTTP status"))
        })
        .collect()
}

/// Kong caps the counters at 255.
fn counter(n: i64, field: &str) -> Result<u32, String> {
    u32::try_from(n)
        .ok()
        .filter(|n| *n <= 255)
        .ok_or_else(|| format!("{field} {n} is outside 0..255"))
}

/// Kong caps intervals and timeouts at 65535 seconds.
fn seconds(s: i64, field: &str) -> Result<u64, String> {
    u64::try_from(s)
        .ok()
        .filter(|s| *s <= 65_535)
        .map(|s| s * 1_000)
        .ok_or_else(|| format!("{field} {s} is outside 0..65535 seconds"))
}
