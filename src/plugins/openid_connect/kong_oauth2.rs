//! `kong_oauth2`: tokens issued by kingress's own `oauth2` plugin, looked up
//! in the token store. No identity provider is involved.
//!
//! The consumer is the owner of the token's credential (as in Kong, no
//! `consumer_claim` is needed). A token bound to another service is refused
//! like an unknown one, as the oauth2 plugin refuses it; global tokens
//! (`service: None`) are accepted anywhere. The authorization rules see the
//! token as `{"scope", "sub" (authenticated_userid), "client_id"}`.
//!
//! A token store that cannot answer decides the request only when no later
//! method accepts the token and kong_oauth2 gave the first reason: then the
//! answer is 503 "the token store is unavailable, try again later", exactly
//! as the oauth2 plugin answers, and never the `anonymous` consumer.

use super::failure::Reason;
use super::now_unix;
use crate::model::{Consumer, Table};
use crate::plugins::Runtime;
use std::sync::Arc;

/// Who an oauth2 token belongs to.
#[derive(Clone, Debug)]
pub(super) struct Oauth2Identity {
    /// The credential's consumer.
    pub(super) consumer: Arc<Consumer>,
    /// The credential's `client_id` (`X-Credential-Identifier`).
    pub(super) client_id: Arc<str>,
    /// Granted scope (`X-Authenticated-Scope` unless empty).
    pub(super) scope: Option<Arc<str>>,
    /// `X-Authenticated-Userid` unless empty.
    pub(super) authenticated_userid: Option<Arc<str>>,
}

/// Looks the token up for a request to `service` (the route's service
/// name); returns its owner, whose row also makes the claims the rules
/// read (`Claims::of_oauth2_row`).
pub(super) async fn verify(
    table: &Table,
    service: Option<&str>,
    runtime: &Runtime,
    token: &str,
) -> Result<Oauth2Identity, Reason> {
    let issued = runtime
        .tokens
        .grant(token)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "token store lookup failed");
            Reason::StoreUnavailable
        })?
        .ok_or(Reason::Unknown)?;
    if issued.is_expired(now_unix()) {
        return Err(Reason::Expired);
    }
    if let Some(bound) = &issued.service
        && service != Some(&**bound)
    {
        return Err(Reason::Unknown);
    }
    // A deleted credential or consumer revokes its tokens. Found through the
    // oauth2 plugin's id index: a scan of every credential per request
    // would grow with the number of consumers.
    let credential = runtime
        .oauth2
        .credential(table, &issued.credential_id)
        .ok_or(Reason::Unknown)?;
    let consumer = table
        .consumers
        .get(&credential.consumer_id)
        .ok_or(Reason::Unknown)?;
    Ok(Oauth2Identity {
        consumer: consumer.clone(),
        client_id: Arc::from(credential.client_id.as_str()),
        scope: issued.scope,
        authenticated_userid: issued.authenticated_userid,
    })
}
