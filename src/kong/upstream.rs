//! Kong `upstreams` and their `targets`: a named load balancer (algorithm,
//! hashing, slots, health checks, `host_header`) that a service uses by
//! naming it as its `host`, and the `host:port` addresses it spreads
//! requests over. Kong's schema (`upstreams.lua`, `targets.lua`): defaults,
//! the shorthand that ties `hash_on` to the algorithm, the entity checks
//! between the hash fields, and Kong's messages.
//!
//! [`Upstream::balance`] is the one translation of these fields into the
//! model's [`Balance`]; a KongUpstreamPolicy is read as Kong upstream fields
//! and goes through it too.

mod healthchecks;
mod of_balance;

use super::read::{Reader, object};
use super::{Context, FieldErrors, Foreign, Kind};
use crate::model::{Algorithm, Balance, HashOn, Healthchecks};
use serde::{Serialize, Serializer};
use serde_json::Value;

/// Kong's `hash_on` values.
const HASH_ON: [&str; 8] = [
    "none",
    "consumer",
    "ip",
    "header",
    "cookie",
    "path",
    "query_arg",
    "uri_capture",
];
/// Kong's algorithms.
const ALGORITHMS: [&str; 4] = [
    "consistent-hashing",
    "least-connections",
    "round-robin",
    "latency",
];
/// Kong's default target port.
const DEFAULT_TARGET_PORT: u16 = 8000;

/// A Kong upstream, serialized as the Admin API prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Upstream {
    /// UUID.
    pub id: String,
    /// Seconds since the epoch.
    pub created_at: i64,
    /// Seconds since the epoch.
    pub updated_at: i64,
    /// The name services use as their `host`.
    pub name: String,
    /// `round-robin`, `least-connections`, `consistent-hashing`, `latency`.
    pub algorithm: String,
    /// What consistent hashing hashes.
    pub hash_on: String,
    /// What it hashes when `hash_on` gives nothing.
    pub hash_fallback: String,
    /// Header hashed (`hash_on: header`).
    pub hash_on_header: Option<String>,
    /// Header hashed as the fallback.
    pub hash_fallback_header: Option<String>,
    /// Cookie hashed (`hash_on` or `hash_fallback`: cookie).
    pub hash_on_cookie: Option<String>,
    /// `Path` of a generated cookie.
    pub hash_on_cookie_path: String,
    /// Query argument hashed.
    pub hash_on_query_arg: Option<String>,
    /// Query argument hashed as the fallback.
    pub hash_fallback_query_arg: Option<String>,
    /// Regex capture hashed.
    pub hash_on_uri_capture: Option<String>,
    /// Regex capture hashed as the fallback.
    pub hash_fallback_uri_capture: Option<String>,
    /// Ring size (10..65536).
    pub slots: i64,
    /// Active and passive checks, every field printed.
    #[serde(serialize_with = "render_healthchecks")]
    pub healthchecks: Healthchecks,
    /// `Host` sent to the targets.
    pub host_header: Option<String>,
    /// Always null (kong.yml has no certificate entities in kingress).
    pub client_certificate: Option<Value>,
    /// Always false.
    pub use_srv_name: bool,
    /// Tags.
    pub tags: Option<Vec<String>>,
}

/// A Kong target: one address of an upstream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Target {
    /// UUID.
    pub id: String,
    /// Seconds since the epoch.
    pub created_at: i64,
    /// Seconds since the epoch.
    pub updated_at: i64,
    /// The upstream it belongs to.
    pub upstream: Foreign,
    /// `host:port` (the port defaults to 8000, as Kong's).
    pub target: String,
    /// Share of the traffic (0..65535; 0 takes the target out).
    pub weight: i64,
    /// Tags.
    pub tags: Option<Vec<String>>,
}

fn render_healthchecks<S: Serializer>(checks: &Healthchecks, s: S) -> Result<S::Ok, S::Error> {
    healthchecks::render(checks).serialize(s)
}

// === impl Upstream ===

impl Upstream {
    /// Builds an upstream from its JSON object (nested `targets` already
    /// removed).
    pub fn from_json(value: &Value, cx: &Context<'_>) -> Result<Self, FieldErrors> {
        let mut r = Reader::new(object(value)?);
        let name = r.required_string("name");
        if let Some(n) = &name
            && let Err(message) = valid_name(n)
        {
            r.errors.field("name", message);
        }
        let id = r.id(cx, Kind::Upstream, name.as_deref());
        let algorithm = one_of(&mut r, "algorithm", &ALGORITHMS, "round-robin");
        let hash_on = r
            .get("hash_on")
            .is_some()
            .then(|| one_of(&mut r, "hash_on", &HASH_ON, "none"));
        // Kong's shorthands: least-connections and latency hash nothing; a
        // `hash_on` other than none means consistent hashing, none means
        // round-robin.
        let (algorithm, hash_on) = match (algorithm.as_str(), hash_on) {
            ("least-connections" | "latency", _) | (_, None) => (algorithm, "none".to_string()),
            (_, Some(h)) if h == "none" => ("round-robin".to_string(), h),
            (_, Some(h)) => ("consistent-hashing".to_string(), h),
        };
        let hash_fallback = one_of(&mut r, "hash_fallback", &HASH_ON, "none");
        let mut healthchecks_errors = FieldErrors::new();
        let checks = healthchecks::read(
            r.get("healthchecks"),
            "healthchecks",
            &mut healthchecks_errors,
        );
        let upstream = Upstream {
            id,
            created_at: r.timestamp("created_at", cx.now),
            updated_at: r.timestamp("updated_at", cx.now),
            name: name.unwrap_or_default(),
            algorithm,
            hash_on,
            hash_fallback,
            hash_on_header: r.string("hash_on_header"),
            hash_fallback_header: r.string("hash_fallback_header"),
            hash_on_cookie: r.string("hash_on_cookie"),
            hash_on_cookie_path: r
                .string("hash_on_cookie_path")
                .unwrap_or_else(|| "/".into()),
            hash_on_query_arg: r.string("hash_on_query_arg"),
            hash_fallback_query_arg: r.string("hash_fallback_query_arg"),
            hash_on_uri_capture: r.string("hash_on_uri_capture"),
            hash_fallback_uri_capture: r.string("hash_fallback_uri_capture"),
            slots: r.integer("slots", i64::from(crate::model::DEFAULT_SLOTS), 10, 65_536),
            healthchecks: checks,
            host_header: r.string("host_header"),
            client_certificate: None,
            use_srv_name: false,
            tags: r.tags(),
        };
        if !upstream.hash_on_cookie_path.starts_with('/') {
            r.errors
                .field("hash_on_cookie_path", "should start with: /");
        }
        if r.boolean("use_srv_name", false) {
            r.errors.field(
                "use_srv_name",
                "not supported by kingress: SRV records are not resolved",
            );
        }
        r.unsupported(
            "client_certificate",
            "kong.yml has no certificate entities in kingress",
        );
        upstream.check_hashing(&mut r.errors);
        for (path, message) in healthchecks_errors.flatten() {
            r.errors.field(&path, message);
        }
        r.finish()?;
        Ok(upstream)
    }

    /// Kong's entity checks between the hash fields.
    fn check_hashing(&self, errors: &mut FieldErrors) {
        let required = [
            (
                "header",
                &self.hash_on,
                "hash_on_header",
                &self.hash_on_header,
            ),
            (
                "cookie",
                &self.hash_on,
                "hash_on_cookie",
                &self.hash_on_cookie,
            ),
            (
                "query_arg",
                &self.hash_on,
                "hash_on_query_arg",
                &self.hash_on_query_arg,
            ),
            (
                "uri_capture",
                &self.hash_on,
                "hash_on_uri_capture",
                &self.hash_on_uri_capture,
            ),
            (
                "header",
                &self.hash_fallback,
                "hash_fallback_header",
                &self.hash_fallback_header,
            ),
            (
                "cookie",
                &self.hash_fallback,
                "hash_on_cookie",
                &self.hash_on_cookie,
            ),
            (
                "query_arg",
                &self.hash_fallback,
                "hash_fallback_query_arg",
                &self.hash_fallback_query_arg,
            ),
            (
                "uri_capture",
                &self.hash_fallback,
                "hash_fallback_uri_capture",
                &self.hash_fallback_uri_capture,
            ),
        ];
        for (value, field, needed, given) in required {
            if field == value && given.is_none() {
                errors.field(needed, "required field missing");
            }
        }
        // What hash_fallback may be, given hash_on.
        let allowed: &[&str] = match self.hash_on.as_str() {
            "none" | "cookie" => &["none"],
            "consumer" => &[
                "none",
                "ip",
                "header",
                "cookie",
                "path",
                "query_arg",
                "uri_capture",
            ],
            "ip" => &[
                "none",
                "consumer",
                "header",
                "cookie",
                "path",
                "query_arg",
                "uri_capture",
            ],
            "path" => &[
                "none",
                "consumer",
                "header",
                "cookie",
                "query_arg",
                "ip",
                "uri_capture",
            ],
            _ => &HASH_ON,
        };
        if !allowed.contains(&self.hash_fallback.as_str()) {
            errors.field(
                "hash_fallback",
                format!("expected one of: {}", allowed.join(", ")),
            );
        }
        let distinct = [
            (
                "hash_on_header",
                &self.hash_on_header,
                "hash_fallback_header",
                &self.hash_fallback_header,
            ),
            (
                "hash_on_query_arg",
                &self.hash_on_query_arg,
                "hash_fallback_query_arg",
                &self.hash_fallback_query_arg,
            ),
            (
                "hash_on_uri_capture",
                &self.hash_on_uri_capture,
                "hash_fallback_uri_capture",
                &self.hash_fallback_uri_capture,
            ),
        ];
        for (a, x, b, y) in distinct {
            if x.is_some() && x == y {
                errors.entity(format!(
                    "values of these fields must be distinct: '{a}', '{b}'"
                ));
            }
        }
    }

    /// The model's balance settings, labelled `label` (where they came
    /// from).
    pub fn balance(&self, label: impl Into<String>) -> Balance {
        let mut b = Balance::new(label);
        b.algorithm = Algorithm::parse(&self.algorithm).unwrap_or_default();
        b.hash_on = self.hash(&self.hash_on, false);
        b.hash_fallback = self.hash(&self.hash_fallback, true);
        b.slots = u32::try_from(self.slots).unwrap_or(crate::model::DEFAULT_SLOTS);
        b.healthchecks = self.healthchecks.clone();
        b
    }

    fn hash(&self, what: &str, fallback: bool) -> HashOn {
        let pick = |on: &Option<String>, fb: &Option<String>| {
            if fallback { fb.clone() } else { on.clone() }.unwrap_or_default()
        };
        match what {
            "ip" => HashOn::Ip,
            "consumer" => HashOn::Consumer,
            "path" => HashOn::Path,
            "header" => HashOn::Header(
                pick(&self.hash_on_header, &self.hash_fallback_header).to_ascii_lowercase(),
            ),
            "cookie" => HashOn::Cookie {
                name: self.hash_on_cookie.clone().unwrap_or_default(),
                path: self.hash_on_cookie_path.clone(),
            },
            "query_arg" => {
                HashOn::QueryArg(pick(&self.hash_on_query_arg, &self.hash_fallback_query_arg))
            }
            "uri_capture" => HashOn::UriCapture(pick(
                &self.hash_on_uri_capture,
                &self.hash_fallback_uri_capture,
            )),
            _ => HashOn::None,
        }
    }
}

/// A string field among `allowed`, `default` when unset.
fn one_of(r: &mut Reader<'_>, key: &'static str, allowed: &[&str], default: &str) -> String {
    match r.string(key) {
        None => default.to_string(),
        Some(v) if allowed.contains(&v.as_str()) => v,
        Some(_) => {
            r.errors
                .field(key, format!("expected one of: {}", allowed.join(", ")));
            default.to_string()
        }
    }
}

/// Kong's upstream name: a host name, no IP address, no port.
fn valid_name(name: &str) -> Result<(), String> {
    let invalid = format!("Invalid name ('{name}')");
    if name.parse::<std::net::IpAddr>().is_ok() {
        return Err(format!("{invalid}; no ip addresses allowed"));
    }
    if let Some((host, port)) = name.rsplit_once(':')
        && port.parse::<u16>().is_ok()
    {
        if host.parse::<std::net::Ipv4Addr>().is_ok() {
            return Err(format!("{invalid}; no ip addresses allowed"));
        }
        return Err(format!("{invalid}; no port allowed"));
    }
    if is_hostname(name) {
        Ok(())
    } else {
        Err(format!("{invalid}; must be a valid hostname"))
    }
}

// === impl Target ===

impl Target {
    /// Builds a target of `upstream` (the id of its parent when nested,
    /// else the `upstream` field's reference) from its JSON object.
    pub fn from_json(
        value: &Value,
        upstream: Option<&str>,
        cx: &Context<'_>,
    ) -> Result<Self, FieldErrors> {
        let mut r = Reader::new(object(value)?);
        let upstream = match upstream {
            Some(id) => {
                r.accept("upstream");
                Some(Foreign { id: id.to_string() })
            }
            None => {
                let found = r.foreign("upstream", Kind::Upstream, cx);
                if found.is_none() && !r.present("upstream") {
                    r.errors.field("upstream", "required field missing");
                }
                found
            }
        };
        let target = match r.required_string("target") {
            Some(t) => match normalise_target(&t) {
                Ok(t) => t,
                Err(message) => {
                    r.errors.field("target", message);
                    t
                }
            },
            None => String::new(),
        };
        let key = format!(
            "{}|{target}",
            upstream.as_ref().map_or("", |u| u.id.as_str())
        );
        let id = r.id(cx, Kind::Target, Some(&key));
        let built = Target {
            id,
            created_at: r.timestamp("created_at", cx.now),
            updated_at: r.timestamp("updated_at", cx.now),
            upstream: upstream.unwrap_or(Foreign { id: String::new() }),
            target,
            weight: r.integer("weight", 100, 0, 65_535),
            tags: r.tags(),
        };
        r.finish()?;
        Ok(built)
    }

    /// Host and port.
    pub fn address(&self) -> Option<(String, u16)> {
        let (host, port) = self.target.rsplit_once(':')?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        Some((host.to_string(), port.parse().ok()?))
    }
}

/// `host[:port]` with Kong's default port, or Kong's message.
fn normalise_target(target: &str) -> Result<String, String> {
    let invalid = || format!("Invalid target ('{target}'); not a valid hostname or ip address");
    if let Ok(ip) = target.parse::<std::net::IpAddr>() {
        return Ok(match ip {
            std::net::IpAddr::V6(v6) => format!("[{v6}]:{DEFAULT_TARGET_PORT}"),
            std::net::IpAddr::V4(v4) => format!("{v4}:{DEFAULT_TARGET_PORT}"),
        });
    }
    if let Ok(addr) = target.parse::<std::net::SocketAddr>() {
        return Ok(addr.to_string());
    }
    let (host, port) = match target.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| invalid())?),
        None => (target, DEFAULT_TARGET_PORT),
    };
    if is_hostname(host) {
        Ok(format!("{host}:{port}"))
    } else {
        Err(invalid())
    }
}

/// Kong's hostname rule for upstream names and target hosts: dot-separated
/// non-empty labels of letters, digits, `-` and `_`, 253 bytes at most.
fn is_hostname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

#[cfg(test)]
mod tests;
