//! What the upstream receives: consumer headers (Kong's `set_consumer`),
//! the access token as `upstream_access_token_header` says, claim headers
//! and the introspection result. Client-sent copies of every header this
//! plugin sets are removed first, whatever the outcome.

use super::Verified;
use super::claims::{header_value, lookup, words};
use super::failure::Reason;
use crate::model::plugin::OidcConfig;
use crate::model::plugin::openid_connect::ConsumerBy;
use crate::model::{Consumer, Table};
use crate::plugins::consumer::{
    AUTHENTICATED_SCOPE, AUTHENTICATED_USERID, clear_all, set_consumer,
};
use crate::plugins::{Authenticated, Exchange};
use base64::Engine;
use http::header::AUTHORIZATION;
use serde_json::Value;

/// Removes client copies of the claim, introspection and access-token
/// headers. `Authorization` is left alone: it is the client's own
/// credential channel (and `hide_credentials` decides about it).
pub(super) fn clear_client_copies(config: &OidcConfig, exchange: &mut Exchange<'_>) {
    for h in &config.upstream_headers {
        exchange.clear_upstream_header(h.header.clone());
    }
    if let Some(name) = &config.upstream_introspection_header {
        exchange.clear_upstream_header(name.clone());
    }
    if let Some(h) = &config.upstream_access_token_header
        && h.name != AUTHORIZATION
    {
        exchange.clear_upstream_header(h.name.clone());
    }
}

/// The consumer named by `consumer_claim`, matched by `consumer_by` in
/// order. `Ok(None)` when no mapping is configured or, with
/// `consumer_optional`, when none matches.
pub(super) fn map_consumer<'t>(
    config: &OidcConfig,
    table: &'t Table,
    claims: &Value,
) -> Result<Option<&'t Consumer>, Reason> {
    let Some(path) = &config.consumer_claim else {
        return Ok(None);
    };
    let value = match lookup(claims, path) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(v @ Value::Number(_)) => Some(v.to_string()),
        _ => None,
    };
    let found = value.and_then(|v| {
        config.consumer_by.iter().find_map(|by| match by {
            ConsumerBy::Id => table.consumers.get(&v),
            ConsumerBy::Username => table
                .consumers
                .values()
                .find(|c| c.username.as_deref() == Some(v.as_str())),
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

/// Sets everything the upstream gets after a successful verification.
pub(super) fn apply(
    config: &OidcConfig,
    exchange: &mut Exchange<'_>,
    verified: &Verified,
    consumer: Option<Consumer>,
    token: &str,
) {
    match (&verified.oauth2, consumer) {
        (Some(o), _) => {
            set_consumer(
                exchange,
                Authenticated {
                    consumer: o.consumer.clone(),
                    credential: Some(o.client_id.clone()),
                    anonymous: false,
                },
            );
            if let Some(scope) = &o.scope {
                exchange.set_upstream_header(AUTHENTICATED_SCOPE, scope);
            }
            if let Some(user) = &o.authenticated_userid {
                exchange.set_upstream_header(AUTHENTICATED_USERID, user);
            }
        }
        (None, Some(consumer)) => {
            // Kong's virtual credential is the `sub` claim.
            let credential = verified
                .claims
                .get("sub")
                .and_then(Value::as_str)
                .map(str::to_string);
            set_consumer(
                exchange,
                Authenticated {
                    consumer,
                    credential,
                    anonymous: false,
                },
            );
        }
        (None, None) => clear_all(exchange),
    }
    // Kong's `set_authenticated_groups`: what the token says, for acl. A
    // token without the claim vouches for no groups.
    exchange.authenticated_groups = config
        .authenticated_groups_claim
        .as_ref()
        .and_then(|path| lookup(&verified.claims, path))
        .map(words);
    if let Some(h) = &config.upstream_access_token_header {
        let value = match &h.scheme {
            Some(scheme) => format!("{scheme} {token}"),
            None => token.to_string(),
        };
        exchange.set_upstream_header(h.name.clone(), &value);
    }
    for h in &config.upstream_headers {
        if let Some(value) = verified.claims.get(&h.claim).and_then(header_value) {
            exchange.set_upstream_header(h.header.clone(), &value);
        }
    }
    if let (Some(name), Some(result)) = (
        &config.upstream_introspection_header,
        &verified.introspection,
    ) {
        let encoded = base64::engine::general_purpose::STANDARD.encode(result.to_string());
        exchange.set_upstream_header(name.clone(), &encoded);
    }
}
