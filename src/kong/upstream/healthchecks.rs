//! An upstream's `healthchecks` record as Kong's schema
//! (`kong/db/schema/entities/upstreams.lua`) reads and prints it: every
//! field optional with Kong's defaults, intervals and timeouts in seconds
//! (fractions allowed), counters 0..255, statuses 100..999.

use super::super::FieldErrors;
use crate::model::{ActiveCheck, Healthchecks, PassiveCheck, ProbeKind, Thresholds};
use serde_json::{Map, Value, json};

/// Probe types kingress runs (Kong also has `grpc`/`grpcs`).
const TYPES: [&str; 3] = ["tcp", "http", "https"];

/// Reads `value` (the `healthchecks` field, at `path`) over Kong's
/// defaults, recording problems under `path`.
pub(super) fn read(value: Option<&Value>, path: &str, errors: &mut FieldErrors) -> Healthchecks {
    let mut checks = Healthchecks::default();
    let Some(mut r) = Record::open(value, path, errors) else {
        return checks;
    };
    if let Some(t) = r.number("threshold", 0.0, 100.0) {
        checks.threshold = t.round() as u8;
    }
    if let Some(mut a) = r.record("active") {
        read_active(&mut a, &mut checks.active);
        a.finish();
    }
    if let Some(mut p) = r.record("passive") {
        read_passive(&mut p, &mut checks.passive);
        p.finish();
    }
    r.finish();
    checks
}

fn read_active(r: &mut Record<'_, '_>, check: &mut ActiveCheck) {
    if let Some(kind) = r.kind() {
        check.kind = kind;
    }
    if let Some(s) = r.number("timeout", 0.0, 65_535.0) {
        check.timeout_ms = millis(s);
    }
    if let Some(n) = r.integer("concurrency", 1, 2_147_483_648) {
        check.concurrency = usize::try_from(n).unwrap_or(usize::MAX);
    }
    if let Some(path) = r.string("http_path") {
        if path.starts_with('/') {
            check.path = path;
        } else {
            r.error("http_path", "should start with: /");
        }
    }
    check.https_sni = r.string("https_sni");
    if let Some(verify) = r.boolean("https_verify_certificate") {
        check.verify_certificate = verify;
    }
    if let Some(headers) = r.headers("headers") {
        check.headers = headers;
    }
    if let Some(mut h) = r.record("healthy") {
        thresholds(&mut h, &mut check.healthy, true, false);
        h.finish();
    }
    if let Some(mut u) = r.record("unhealthy") {
        thresholds(&mut u, &mut check.unhealthy, true, true);
        u.finish();
    }
}

fn read_passive(r: &mut Record<'_, '_>, check: &mut PassiveCheck) {
    if let Some(kind) = r.kind() {
        check.kind = kind;
    }
    if let Some(mut h) = r.record("healthy") {
        thresholds(&mut h, &mut check.healthy, false, false);
        h.finish();
    }
    if let Some(mut u) = r.record("unhealthy") {
        thresholds(&mut u, &mut check.unhealthy, false, true);
        u.finish();
    }
}

/// One side of a check; `active` sides have an `interval`, `unhealthy`
/// ones failure counters instead of `successes`.
fn thresholds(r: &mut Record<'_, '_>, t: &mut Thresholds, active: bool, unhealthy: bool) {
    if active && let Some(s) = r.number("interval", 0.0, 65_535.0) {
        t.interval_ms = millis(s);
    }
    if let Some(statuses) = r.statuses("http_statuses") {
        t.statuses = statuses;
    }
    let counter = |r: &mut Record<'_, '_>, key| r.integer(key, 0, 255).map(|n| n as u32);
    if unhealthy {
        if let Some(n) = counter(r, "http_failures") {
            t.http_failures = n;
        }
        if let Some(n) = counter(r, "tcp_failures") {
            t.tcp_failures = n;
        }
        if let Some(n) = counter(r, "timeouts") {
            t.timeouts = n;
        }
    } else if let Some(n) = counter(r, "successes") {
        t.successes = n;
    }
}

fn millis(seconds: f64) -> u64 {
    (seconds * 1_000.0).round() as u64
}

/// The record as Kong prints it: every field, defaults included.
pub(super) fn render(checks: &Healthchecks) -> Value {
    let a = &checks.active;
    let p = &checks.passive;
    let seconds = |ms: u64| json!(ms as f64 / 1_000.0);
    let headers = (!a.headers.is_empty()).then(|| {
        let mut map = Map::new();
        for (name, value) in &a.headers {
            let entry = map.entry(name.clone()).or_insert_with(|| json!([]));
            if let Some(list) = entry.as_array_mut() {
                list.push(json!(value));
            }
        }
        Value::Object(map)
    });
    json!({
        "threshold": checks.threshold,
        "active": {
            "type": kind_name(a.kind),
            "timeout": seconds(a.timeout_ms),
            "concurrency": a.concurrency,
            "http_path": a.path,
            "https_sni": a.https_sni,
            "https_verify_certificate": a.verify_certificate,
            "headers": headers,
            "healthy": {
                "interval": seconds(a.healthy.interval_ms),
                "http_statuses": a.healthy.statuses,
                "successes": a.healthy.successes,
            },
            "unhealthy": {
                "interval": seconds(a.unhealthy.interval_ms),
                "http_statuses": a.unhealthy.statuses,
                "tcp_failures": a.unhealthy.tcp_failures,
                "timeouts": a.unhealthy.timeouts,
                "http_failures": a.unhealthy.http_failures,
            },
        },
        "passive": {
            "type": kind_name(p.kind),
            "healthy": {
                "http_statuses": p.healthy.statuses,
                "successes": p.healthy.successes,
            },
            "unhealthy": {
                "http_statuses": p.unhealthy.statuses,
                "tcp_failures": p.unhealthy.tcp_failures,
                "timeouts": p.unhealthy.timeouts,
                "http_failures": p.unhealthy.http_failures,
            },
        },
    })
}

fn kind_name(kind: ProbeKind) -> &'static str {
    match kind {
        ProbeKind::Http => "http",
        ProbeKind::Https => "https",
        ProbeKind::Tcp => "tcp",
    }
}

/// One nested record being read: its fields by name, problems recorded at
/// `path.field`, unknown fields refused at the end.
struct Record<'v, 'e> {
    map: &'v Map<String, Value>,
    path: String,
    seen: Vec<&'static str>,
    errors: &'e mut FieldErrors,
}

impl<'v, 'e> Record<'v, 'e> {
    /// `None` when unset (defaults apply) or not a record (reported).
    fn open(value: Option<&'v Value>, path: &str, errors: &'e mut FieldErrors) -> Option<Self> {
        match value.filter(|v| !v.is_null())? {
            Value::Object(map) => Some(Self {
                map,
                path: path.to_string(),
                seen: Vec::new(),
                errors,
            }),
            _ => {
                errors.field(path, "expected a record");
                None
            }
        }
    }

    fn error(&mut self, key: &str, message: impl Into<String>) {
        self.errors.field(&format!("{}.{key}", self.path), message);
    }

    fn get(&mut self, key: &'static str) -> Option<&'v Value> {
        self.seen.push(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn record(&mut self, key: &'static str) -> Option<Record<'v, '_>> {
        let value = self.get(key);
        let path = format!("{}.{key}", self.path);
        Record::open(value, &path, self.errors)
    }

    fn number(&mut self, key: &'static str, min: f64, max: f64) -> Option<f64> {
        let n = match self.get(key)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match n {
            None => self.error(key, "expected a number"),
            Some(n) if n < min || n > max => {
                self.error(key, format!("value should be between {min} and {max}"));
            }
            Some(n) => return Some(n),
        }
        None
    }

    fn integer(&mut self, key: &'static str, min: i64, max: i64) -> Option<i64> {
        let n = match self.get(key)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match n {
            None => self.error(key, "expected an integer"),
            Some(n) if n < min || n > max => {
                self.error(key, format!("value should be between {min} and {max}"));
            }
            Some(n) => return Some(n),
        }
        None
    }

    fn string(&mut self, key: &'static str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s.clone()),
            _ => {
                self.error(key, "expected a string");
                None
            }
        }
    }

    fn boolean(&mut self, key: &'static str) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s == "true" || s == "false" => Some(s == "true"),
            _ => {
                self.error(key, "expected a boolean");
                None
            }
        }
    }

    fn kind(&mut self) -> Option<ProbeKind> {
        let kind = self.string("type")?;
        match kind.as_str() {
            "http" => Some(ProbeKind::Http),
            "https" => Some(ProbeKind::Https),
            "tcp" => Some(ProbeKind::Tcp),
            other => {
                let message = format!(
                    "expected one of: {} (kingress does not probe with '{other}')",
                    TYPES.join(", ")
                );
                self.error("type", message);
                None
            }
        }
    }

    fn statuses(&mut self, key: &'static str) -> Option<Vec<u16>> {
        let Value::Array(items) = self.get(key)? else {
            self.error(key, "expected an array");
            return None;
        };
        let path = format!("{}.{key}", self.path);
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item.as_i64() {
                Some(s) if (100..=999).contains(&s) => out.push(s as u16),
                Some(_) => {
                    let message = "value should be between 100 and 999";
                    self.errors.element(&path, i, items.len(), message);
                }
                None => self
                    .errors
                    .element(&path, i, items.len(), "expected an integer"),
            }
        }
        (out.len() == items.len()).then_some(out)
    }

    /// Kong's `typedefs.headers`: a map of names to lists of values.
    fn headers(&mut self, key: &'static str) -> Option<Vec<(String, String)>> {
        let Value::Object(map) = self.get(key)? else {
            self.error(key, "expected a map");
            return None;
        };
        let mut out = Vec::new();
        for (name, values) in map {
            let values: Option<Vec<&str>> = match values {
                Value::String(s) => Some(vec![s.as_str()]),
                Value::Array(items) => items.iter().map(Value::as_str).collect(),
                _ => None,
            };
            match values {
                Some(values) => out.extend(values.into_iter().map(|v| (name.clone(), v.into()))),
                None => self.error(key, format!("'{name}': expected an array of strings")),
            }
        }
        Some(out)
    }

    fn finish(self) {
        for key in self.map.keys() {
            if !self.seen.contains(&key.as_str()) {
                self.errors
                    .field(&format!("{}.{key}", self.path), "unknown field");
            }
        }
    }
}
