//! The route conditions KIC reads from Ingress annotations besides
//! methods: `konghq.com/headers.<name>` (with `headers-separator`),
//! `konghq.com/snis` and `konghq.com/host-aliases`.

use super::{Annotations, invalid, list};
use crate::model::{HeaderMatch, HostMatch, ObjectRef};
use crate::translate::Cx;
use crate::translate::paths::regex_error;

/// `konghq.com/headers.<name>`: the request must carry `<name>` with one of
/// the listed values.
pub(in crate::translate) const HEADERS_PREFIX: &str = "konghq.com/headers.";
/// What separates the values of a headers annotation (default `,`).
pub(in crate::translate) const HEADERS_SEPARATOR: &str = "konghq.com/headers-separator";
/// TLS server names an HTTPS request must have used.
pub(in crate::translate) const SNIS: &str = "konghq.com/snis";
/// Hosts matched besides each rule's host.
pub(super) const HOST_ALIASES: &str = "konghq.com/host-aliases";

/// The conditions read from one Ingress's annotations.
#[derive(Clone, Debug, Default)]
pub(in crate::translate) struct Conditions {
    pub headers: Vec<HeaderMatch>,
    pub snis: Vec<String>,
    pub host_aliases: Vec<HostMatch>,
    /// Header conditions that could not be honoured: the route would match
    /// more than its author meant, so it fails closed instead.
    pub faults: Vec<String>,
}

// === impl Conditions ===

impl Conditions {
    /// The host conditions of a route for a rule with `host` (empty for
    /// none): KIC appends the aliases to the rule's host, and to nothing
    /// at all for a rule without one.
    pub(in crate::translate) fn hosts(&self, host: &str) -> Vec<HostMatch> {
        let mut hosts = match host {
            "" => Vec::new(),
            h => vec![HostMatch::parse(h)],
        };
        for alias in &self.host_aliases {
            if !hosts.contains(alias) {
                hosts.push(alias.clone());
            }
        }
        hosts
    }
}

/// Reads the conditions, reporting bad values on `object`.
pub(super) fn conditions(cx: &mut Cx<'_>, object: &ObjectRef, a: &Annotations) -> Conditions {
    let mut c = Conditions::default();
    headers(cx, object, a, &mut c);
    if let Some(v) = a.get(SNIS) {
        // An empty value means "no SNI condition", as in KIC.
        let snis: Vec<String> = list(v)
            .filter(|s| !s.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        match snis.iter().find(|s| !valid_name(s, false)) {
            Some(bad) => invalid(cx, object, SNIS, v, &format!("'{bad}' is not a host name")),
            None => c.snis = super::dedup(snis),
        }
    }
    if let Some(v) = a.get(HOST_ALIASES).filter(|v| !v.is_empty()) {
        let aliases: Vec<&str> = list(v).collect();
        match aliases.iter().find(|h| !valid_name(h, true)) {
            Some(bad) => invalid(
                cx,
                object,
                HOST_ALIASES,
                v,
                &format!("'{bad}' is not a host name"),
            ),
            None => {
                for alias in aliases {
                    let host = HostMatch::parse(alias);
                    if !c.host_aliases.contains(&host) {
                        c.host_aliases.push(host);
                    }
                }
            }
        }
    }
    c
}

fn headers(cx: &mut Cx<'_>, object: &ObjectRef, a: &Annotations, c: &mut Conditions) {
    let separator = a
        .get(HEADERS_SEPARATOR)
        .filter(|s| !s.is_empty())
        .unwrap_or(",");
    for (key, value) in a.from_key(HEADERS_PREFIX) {
        let Some(name) = key.strip_prefix(HEADERS_PREFIX) else {
            break;
        };
        // KIC skips an empty name or value.
        if name.is_empty() || value.is_empty() {
            continue;
        }
        let values: Vec<String> = value
            .split(separator)
            .map(|v| v.trim().to_string())
            .collect();
        let refused = if name.eq_ignore_ascii_case("host") {
            Some("the Host header is matched by the rule's host and konghq.com/host-aliases".into())
        } else if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            Some(format!("'{name}' is not a header name"))
        } else {
            match HeaderMatch::new(name, &values) {
                Ok(m) => {
                    c.headers.push(m);
                    None
                }
                Err(e) => Some(format!("invalid regex: {}", regex_error(&e))),
            }
        };
        if let Some(why) = refused {
            cx.problem(
                object,
                "InvalidAnnotation",
                format!(
                    "{key} value '{value}' is invalid ({why}); the routes answer 503 rather than \
                     match without the header"
                ),
            );
            c.faults.push(format!("{key} is invalid ({why})"));
        }
    }
}

/// KIC's host name checks: labels of letters, digits and inner hyphens,
/// and for hosts one leading `*.` or trailing `.*`.
fn valid_name(name: &str, wildcard: bool) -> bool {
    let mut rest = name;
    if wildcard {
        rest = rest.strip_prefix("*.").unwrap_or(rest);
        if rest.len() == name.len() {
            rest = rest.strip_suffix(".*").unwrap_or(rest);
        }
    }
    !rest.is_empty()
        && rest.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_follow_kic() {
        for ok in ["a", "a-b.example", "x1.y2"] {
            assert!(valid_name(ok, false), "{ok}");
        }
        for bad in ["", "-a", "a-", "a..b", "a_b", "*.a"] {
            assert!(!valid_name(bad, false), "{bad}");
        }
        assert!(valid_name("*.a.example", true));
        assert!(valid_name("a.example.*", true));
        assert!(!valid_name("*.a.*", true));
        assert!(!valid_name("*", true));
    }
}
