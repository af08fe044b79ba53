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
use serde_json::{Map, Value};
use std::sync::Arc;

/// Who an oauth2 token belongs to.
#[derive(Clone, Debug)]
pub(super) struct Oauth2Identity {
    /// The credential's consumer.
    pub(super) consumer: Arc<Consumer>,
    /// The credential's `client_id` (`X-Credential-Identifier`).
    pub(super) client_id: String,
    /// Granted scope (`X-Authenticated-Scope`).
    pub(super) scope: Option<Arc<str>>,
    /// `X-Authenticated-Userid`.
    pub(super) authenticated_userid: Option<Arc<str>>,
}

/// Looks the token up for a request to `service` (the route's service
/// name); returns its owner and claims for the rules.
pub(super) async fn verify(
    table: &Table,
    service: Option<&str>,
    runtime: &Runtime,
    token: &str,
) -> Result<(Oauth2Identity, Arc<Value>), Reason> {
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
    let mut claims = Map::new();
    claims.insert(
        "client_id".into(),
        Value::String(credential.client_id.clone()),
    );
    if let Some(scope) = &issued.scope {
        claims.insert("scope".into(), Value::String(scope.to_string()));
    }
    if let Some(user) = &issued.authenticated_userid {
        claims.insert("sub".into(), Value::String(user.to_string()));
    }
    let identity = Oauth2Identity {
        consumer: consumer.clone(),
        client_id: credential.client_id.clone(),
        scope: issued.scope.filter(|s| !s.is_empty()),
        authenticated_userid: issued.authenticated_userid.filter(|s| !s.is_empty()),
    };
    Ok((identity, Arc::new(Value::Object(claims))))
}
