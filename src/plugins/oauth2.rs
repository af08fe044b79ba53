//! Kong's `oauth2` plugin: the token and authorize endpoints under every
//! route path that carries the plugin, and verification of proxied
//! requests.
//!
//! Behaviour follows Kong's open-source plugin (error strings, statuses,
//! headers and the order of checks), with these deliberate differences:
//! - secrets, provision keys and PBKDF2 outputs are compared in constant
//!   time, hashed secrets may be argon2id, and hashing runs on a bounded
//!   blocking pool with a cache of successful verifications (`secret`);
//! - codes are consumed atomically and refreshes are an atomic swap, so a
//!   code or refresh token is good for exactly one of two concurrent uses;
//! - tokens whose credential is gone are rejected at once (no cascade needed);
//! - a token store failure answers 503 and never lets a request through;
//! - `hide_credentials` also removes a raw (scheme-less) token header;
//! - `WWW-Authenticate` parameters are separated by `, ` (current Kong).
//!
//! Files: `token` (endpoint) and `grants`, `authorize` and `redirect`,
//! `verify`; shared pieces `params`, `client_auth`, `https`, `scope`,
//! `pkce`, `secret`, `respond` (parameters: `plugins::params`).

mod authorize;
mod client_auth;
#[doc(hidden)]
pub mod fuzz;
mod grants;
pub(crate) mod https;
mod pkce;
mod redirect;
mod respond;
mod scope;
mod secret;
mod token;
mod verify;

use super::{Access, Exchange, Phases, PluginError, Runtime};
use crate::model::plugin::Oauth2Config;
use crate::model::{Oauth2Credential, PluginInstance, Table};
use http::Method;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

/// Largest endpoint request body read, in bytes.
const ENDPOINT_BODY_LIMIT: usize = 64 * 1024;
/// Largest proxied request body searched for `access_token`, in bytes.
const VERIFY_BODY_LIMIT: usize = 1024 * 1024;
/// Remembered credential-id → client-id pairs.
const CREDENTIAL_INDEX_ENTRIES: usize = 10_000;

/// Process-wide oauth2 state: the secret verifier (hashing pool and cache)
/// and an index from credential id to client id for verification.
#[derive(Clone, Debug, Default)]
pub struct State {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    secrets: secret::SecretVerifier,
    /// Credential id → client id. Tokens name credentials by id and the table
    /// keys them by client id; a hint only, always checked against the table.
    /// Asked on every verified request: hashed with seeded foldhash, not
    /// SipHash (ids come from the table, not from clients).
    credential_index: Mutex<HashMap<String, String, foldhash::quality::RandomState>>,
}

/// Which endpoint a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Token,
    Authorize,
}

// === impl State ===

impl State {
    /// New state.
    pub fn new() -> Self {
        Self::default()
    }

    /// The hashed-secret verifier (bounded idle-priority pool, cache of
    /// successes), shared with basic-auth.
    pub(crate) fn secrets(&self) -> &secret::SecretVerifier {
        &self.inner.secrets
    }

    /// The credential with id `id` in `table`.
    pub(crate) fn credential<'t>(
        &self,
        table: &'t Table,
        id: &str,
    ) -> Option<&'t Oauth2Credential> {
        // Looked up under the lock: copying the client id out would cost an
        // allocation per verified request.
        let hinted = self
            .inner
            .credential_index
            .lock()
            .get(id)
            .and_then(|client_id| table.credentials.oauth2(client_id))
            .filter(|c| c.id == id);
        if hinted.is_some() {
            return hinted;
        }
        let found = table.credentials.oauth2_by_id(id)?;
        let mut index = self.inner.credential_index.lock();
        if index.len() >= CREDENTIAL_INDEX_ENTRIES {
            index.clear();
        }
        index.insert(id.to_string(), found.client_id.clone());
        Some(found)
    }
}

impl Phases for Oauth2Config {
    async fn access(
        config: &Arc<Self>,
        instance: &PluginInstance,
        exchange: &mut Exchange<'_>,
        runtime: &Runtime,
    ) -> Result<Access, PluginError> {
        access(instance, config, exchange, runtime).await
    }
}

/// The access phase: the endpoints answer locally (`POST` only), anything
/// else is verified. The endpoints' futures are boxed: they hold far more
/// state than verification, and every proxied request's future would
/// otherwise be their size (the pipeline boxes it, copying every byte).
pub(super) async fn access(
    plugin: &PluginInstance,
    config: &Oauth2Config,
    exchange: &mut Exchange<'_>,
    runtime: &Runtime,
) -> Result<Access, PluginError> {
    let realm = config.realm.as_deref();
    match endpoint(exchange.request.uri().path()) {
        Some(Endpoint::Token) => {
            if exchange.request.method() != Method::POST {
                return Err(respond::invalid_method(
                    exchange.request.method(),
                    "token",
                    realm,
                ));
            }
            Box::pin(token::endpoint(plugin, config, exchange, runtime)).await
        }
        Some(Endpoint::Authorize) => {
            if exchange.request.method() != Method::POST {
                return Err(respond::invalid_method(
                    exchange.request.method(),
                    "authorization",
                    realm,
                ));
            }
            Box::pin(authorize::endpoint(plugin, config, exchange, runtime)).await
        }
        None => verify::access(&plugin.id, config, exchange, runtime).await,
    }
}

/// Kong's suffix match: a path ending in `/oauth2/token` or
/// `/oauth2/authorize`, with or without one trailing slash.
fn endpoint(path: &str) -> Option<Endpoint> {
    let path = path.strip_suffix('/').unwrap_or(path);
    if path.ends_with("/oauth2/token") {
        Some(Endpoint::Token)
    } else if path.ends_with("/oauth2/authorize") {
        Some(Endpoint::Authorize)
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
