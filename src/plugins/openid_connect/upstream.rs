//! What the upstream and the client receive after a verification: consumer
//! headers (Kong's `set_consumer`), the virtual credential
//! (`credential_claim`), the authenticated groups, the token and result
//! headers of `upstream_*`/`downstream_*` and the claim headers. Client
//! copies of every upstream header this plugin sets are removed first,
//! whatever the outcome.

use super::Verified;
use super::claims::{Claims, header_value, lookup, words};
use super::failure::Reason;
use crate::model::plugin::OidcConfig;
use crate::model::plugin::openid_connect::{ConsumerBy, TokenHeaders, UpstreamTokenHeader};
use crate::model::{Consumer, Table};
use crate::plugins::consumer::{
    AUTHENTICATED_SCOPE, AUTHENTICATED_USERID, CREDENTIAL_IDENTIFIER, clear_all, set_consumer,
};
use crate::plugins::{Authenticated, Exchange};
use base64::Engine;
use http::header::AUTHORIZATION;
use http::{HeaderName, HeaderValue};
use serde_json::Value;
use std::sync::Arc;

/// Removes client copies of the headers the upstream may get from this
/// plugin. `Authorization` is left alone: it is the client's own credential
/// channel (and `hide_credentials` decides about it).
pub(super) fn clear_client_copies(config: &OidcConfig, exchange: &mut Exchange<'_>) {
    for name in config.upstream.names() {
        if name != AUTHORIZATION {
            exchange.clear_upstream_header(name.clone());
        }
    }
}

/// The consumer named by `consumer_claim`, matched by `consumer_by` in
/// order. `Ok(None)` when no mapping is configured or, with
/// `consumer_optional`, when none matches.
pub(super) fn map_consumer<'t>(
    config: &OidcConfig,
    table: &'t Table,
    claims: &Value,
) -> Result<Option<&'t Arc<Consumer>>, Reason> {
    let Some(path) = &config.consumer_claim else {
        return Ok(None);
    };
    let value = match lookup(claims, path) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(v @ Value::Number(_)) => Some(v.to_string()),
        _ => None,
    };
    let same_username = |c: &Arc<Consumer>, v: &str| match c.username.as_deref() {
        Some(u) if config.by_username_ignore_case => u.to_lowercase() == v.to_lowercase(),
        Some(u) => u == v,
        None => false,
    };
    let found = value.and_then(|v| {
        config.consumer_by.iter().find_map(|by| match by {
            ConsumerBy::Id => table.consumers.get(&v),
            ConsumerBy::Username => table.consumers.values().find(|c| same_username(c, &v)),
            ConsumerBy::CustomId => table
                .consumers
                .values()
                .find(|c| c.custom_id.as_deref() == Some(v.as_str())),
        })
    });
    match found {
        Some(c) => Ok(Some(c)),
        None if config.consumer_optional => Ok(None),
        None => Err(Reason::ConsumerNotFound),
    }
}

/// The values a verification yields for the token and result headers.
/// `bearer`, `introspection` and `kong_oauth2` yield the access token and
/// (introspection) its result; the other fields are for the methods that
/// obtain more (ID token, refresh token, user info, session).
#[derive(Default)]
pub(super) struct Yielded<'a> {
    pub(super) access_token: Option<&'a str>,
    pub(super) id_token: Option<&'a str>,
    pub(super) refresh_token: Option<&'a str>,
    pub(super) introspection: Option<&'a Value>,
    pub(super) user_info: Option<&'a Value>,
    pub(super) session_id: Option<&'a str>,
    /// The request header the access token was read from: reused as the
    /// upstream's token header when that would have the very same bytes
    /// (Kong's default `authorization:bearer` for a `Bearer` token), which
    /// spares copying and checking a kilobyte-sized value per request.
    pub(super) presented: Option<&'a HeaderValue>,
}

/// The token, result and claim headers of both sides
/// (`upstream_*`/`downstream_*` and the claim headers) for one
/// verification: what [`apply_with`] sets besides the consumer headers.
/// Built once per session (`session::Record`) and reused by every request
/// that presents it.
#[derive(Default)]
pub(super) struct Headers {
    upstream: Vec<(HeaderName, HeaderValue)>,
    downstream: Vec<(HeaderName, HeaderValue)>,
    /// `credential_claim`'s value: Kong's virtual credential
    /// (`X-Credential-Identifier`) when no consumer is mapped.
    credential: Option<HeaderValue>,
}

impl Headers {
    /// The headers `verified` yields with `token`; `session_id`: the
    /// session that authenticated the request or that the login created
    /// (`*_session_id_header`); `presented`: the request header `token`
    /// was read from, if any.
    pub(super) fn new(
        config: &OidcConfig,
        verified: &Verified,
        token: &str,
        session_id: Option<&str>,
        presented: Option<&HeaderValue>,
    ) -> Self {
        let tokens = verified.tokens.as_ref();
        let yielded = Yielded {
            access_token: Some(token),
            id_token: tokens.and_then(|t| t.id_token.as_ref()).map(|t| t.expose()),
            refresh_token: tokens
                .and_then(|t| t.refresh_token.as_ref())
                .map(|t| t.expose()),
            introspection: verified.introspection.as_deref(),
            user_info: verified.user_info.as_deref(),
            session_id,
            presented,
        };
        Self {
            upstream: header_values(&config.upstream, &yielded, &verified.claims),
            downstream: header_values(&config.downstream, &yielded, &verified.claims),
            // kong_oauth2's credential is its client id (`apply_with`).
            credential: verified
                .claims
                .oauth2_row()
                .is_none()
                .then(|| credential(config, verified))
                .flatten()
                .and_then(|c| HeaderValue::from_maybe_shared(bytes::Bytes::from(c)).ok()),
        }
    }
}

/// Sets everything the upstream and the client get after a successful
/// verification: see [`Headers::new`] and [`apply_with`].
pub(super) fn apply(
    config: &OidcConfig,
    exchange: &mut Exchange<'_>,
    verified: &Verified,
    consumer: Option<Arc<Consumer>>,
    token: &str,
    session_id: Option<&str>,
    presented: Option<&HeaderValue>,
) {
    let headers = Headers::new(config, verified, token, session_id, presented);
    apply_with(config, exchange, verified, consumer, &headers);
}

/// Sets the consumer (or the virtual credential), the authenticated
/// groups and `headers`.
pub(super) fn apply_with(
    config: &OidcConfig,
    exchange: &mut Exchange<'_>,
    verified: &Verified,
    consumer: Option<Arc<Consumer>>,
    headers: &Headers,
) {
    match (verified.claims.oauth2_row(), consumer) {
        (Some(o), _) => {
            set_consumer(
                exchange,
                Authenticated {
                    consumer: o.consumer.clone(),
                    credential: Some(String::from(&*o.client_id)),
                    anonymous: false,
                },
            );
            let set = [
                (AUTHENTICATED_SCOPE, &o.scope),
                (AUTHENTICATED_USERID, &o.authenticated_userid),
            ];
            for (name, value) in set {
                if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                    exchange.set_upstream_header(name, value);
                }
            }
        }
        (None, Some(consumer)) => set_consumer(
            exchange,
            Authenticated {
                consumer,
                credential: credential(config, verified),
                anonymous: false,
            },
        ),
        (None, None) => {
            // Kong's virtual credential: no consumer, but rate limiting and
            // the upstream still see who it was.
            clear_all(exchange);
            if let Some(credential) = &headers.credential {
                exchange
                    .upstream_headers
                    .insert(CREDENTIAL_IDENTIFIER, credential.clone());
            }
        }
    }
    if let Some(path) = &config.authenticated_groups_claim {
        exchange.authenticated_groups = lookup(&verified.claims, path)
            .map(words)
            .filter(|g| !g.is_empty());
    }
    for (name, value) in &headers.upstream {
        exchange
            .upstream_headers
            .insert(name.clone(), value.clone());
    }
    for (name, value) in &headers.downstream {
        exchange
            .response_headers
            .insert(name.clone(), value.clone());
    }
}

/// The value of `credential_claim` in the verified claims, as a header
/// value would print it.
fn credential(config: &OidcConfig, verified: &Verified) -> Option<String> {
    lookup(&verified.claims, &config.credential_claim).and_then(header_value)
}

/// Whether `value` is exactly `[scheme ]token`.
fn is_token_value(value: &[u8], scheme: Option<&str>, token: &str) -> bool {
    match scheme {
        None => value == token.as_bytes(),
        Some(scheme) => value
            .strip_prefix(scheme.as_bytes())
            .and_then(|rest| rest.strip_prefix(b" "))
            .is_some_and(|rest| rest == token.as_bytes()),
    }
}

/// The headers one side gets: each configured header whose value exists.
/// Tokens go as `[scheme ]token`; JSON results as base64 of their JSON
/// (as Kong sends `X-Introspection`); claims as [`header_value`] prints
/// them.
fn header_values(
    side: &TokenHeaders,
    yielded: &Yielded<'_>,
    claims: &Claims,
) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::new();
    // The presented header itself when it already is the access token's
    // value (a shared handle: no copy, no check).
    let reused = match (&side.access_token, yielded.access_token, yielded.presented) {
        (Some(UpstreamTokenHeader { name, scheme }), Some(token), Some(presented))
            if is_token_value(presented.as_bytes(), scheme.as_deref(), token) =>
        {
            out.push((name.clone(), presented.clone()));
            true
        }
        _ => false,
    };
    // The value's bytes become the header's without a copy (a token is
    // kilobytes).
    let mut push = |name: &HeaderName, value: String| {
        if let Ok(v) = HeaderValue::from_maybe_shared(bytes::Bytes::from(value)) {
            out.push((name.clone(), v));
        }
    };
    let tokens = [
        (&side.access_token, yielded.access_token.filter(|_| !reused)),
        (&side.id_token, yielded.id_token),
        (&side.refresh_token, yielded.refresh_token),
    ];
    for (header, token) in tokens {
        if let (Some(UpstreamTokenHeader { name, scheme }), Some(token)) = (header, token) {
            // Sized exactly: `format!` would grow it by reallocating.
            let mut value =
                String::with_capacity(scheme.as_ref().map_or(0, |s| s.len() + 1) + token.len());
            if let Some(scheme) = scheme {
                value.push_str(scheme);
                value.push(' ');
            }
            value.push_str(token);
            push(name, value);
        }
    }
    let json = [
        (&side.introspection, yielded.introspection),
        (&side.user_info, yielded.user_info),
    ];
    for (header, value) in json {
        if let (Some(name), Some(value)) = (header, value) {
            push(
                name,
                base64::engine::general_purpose::STANDARD.encode(value.to_string()),
            );
        }
    }
    if let (Some(name), Some(id)) = (&side.session_id, yielded.session_id) {
        push(name, id.to_string());
    }
    for h in &side.claims {
        if let Some(value) = lookup(claims, &h.path).and_then(header_value) {
            push(&h.header, value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side() -> TokenHeaders {
        TokenHeaders {
            access_token: Some(UpstreamTokenHeader {
                name: AUTHORIZATION,
                scheme: Some("Bearer".into()),
            }),
            ..TokenHeaders::default()
        }
    }

    fn upstream_value(presented: &str, token: &str) -> String {
        let presented = HeaderValue::from_str(presented).unwrap();
        let yielded = Yielded {
            access_token: Some(token),
            presented: Some(&presented),
            ..Yielded::default()
        };
        let out = header_values(&side(), &yielded, &Value::Null.into());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0, AUTHORIZATION);
        out[0].1.to_str().unwrap().to_string()
    }

    #[test]
    fn the_access_token_header_has_the_configured_scheme_whatever_was_presented() {
        assert_eq!(
            upstream_value("Bearer abc.def.ghi", "abc.def.ghi"),
            "Bearer abc.def.ghi"
        );
        // Another spelling of the scheme, another token, another layout:
        // the value is built, not the presented one passed on.
        assert_eq!(
            upstream_value("bearer abc.def.ghi", "abc.def.ghi"),
            "Bearer abc.def.ghi"
        );
        assert_eq!(
            upstream_value("Bearer abc.def.ghiX", "abc.def.ghi"),
            "Bearer abc.def.ghi"
        );
        assert_eq!(
            upstream_value("Bearer  abc.def.ghi", "abc.def.ghi"),
            "Bearer abc.def.ghi"
        );
        assert_eq!(
            upstream_value("abc.def.ghi", "abc.def.ghi"),
            "Bearer abc.def.ghi"
        );
    }

    #[test]
    fn a_token_value_is_the_scheme_a_blank_and_the_token_exactly() {
        assert!(is_token_value(b"Bearer t", Some("Bearer"), "t"));
        assert!(is_token_value(b"t", None, "t"));
        assert!(!is_token_value(b"Bearer t", None, "t"));
        assert!(!is_token_value(b"BEARER t", Some("Bearer"), "t"));
        assert!(!is_token_value(b"Bearert", Some("Bearer"), "t"));
        assert!(!is_token_value(b"Bearer t ", Some("Bearer"), "t"));
    }
}
