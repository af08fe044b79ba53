//! `/oauth2/token` (Kong's `issue_token`).
//!
//! The checks run in Kong's order and a later failure replaces an earlier
//! one: HTTPS (alone; nothing else runs when it fails) → `grant_type` →
//! client and `redirect_uri` → client secret. Only when all passed do the
//! grant-specific checks run (see `grants`).

use super::client_auth::{self, ClientCredentials};
use super::grants::{self, Grant};
use super::params::{Param, Params};
use super::respond::{Failure, REDIRECT_MISMATCH, no_store_json};
use super::{ENDPOINT_BODY_LIMIT, https};
use crate::model::plugin::Oauth2Config;
use crate::model::{ClientType, Oauth2Credential, PluginInstance};
use crate::plugins::{Access, Exchange, PluginError, Runtime};
use http::StatusCode;

/// Answers a `POST` to the token endpoint.
pub async fn endpoint(
    plugin: &PluginInstance,
    config: &Oauth2Config,
    exchange: &mut Exchange<'_>,
    runtime: &Runtime,
) -> Result<Access, PluginError> {
    let params = Params::read(exchange, ENDPOINT_BODY_LIMIT).await?;
    let state = params.string("state").map(str::to_string);
    let state = state.as_deref();
    if let Err(description) = https::check(
        exchange,
        &runtime.trusted_ips,
        config.accept_http_if_already_terminated,
    ) {
        return Err(Failure::bad("access_denied", description).into_error(state));
    }

    let grant_type = params.string("grant_type");
    let grant = Grant::enabled(grant_type, config);
    let mut failure = grant
        .is_none()
        .then(|| Failure::bad("unsupported_grant_type", "Invalid grant_type"));

    let creds = client_auth::retrieve(&params, exchange.headers(), &config.auth_header_name);
    let client = creds
        .client_id
        .as_deref()
        .filter(|id| !id.is_empty())
        .and_then(|id| exchange.table.oauth2_credentials.get(id));

    // Every grant but client_credentials needs a client with redirect URIs,
    // and a given redirect_uri must be one of them (Kong compares the raw
    // parameter, so a disabled client_credentials grant also skips this).
    if grant_type != Some("client_credentials") {
        match client.filter(|c| !c.redirect_uris.is_empty()) {
            Some(c) if !redirect_uri_ok(c, params.get("redirect_uri")) => {
                failure = Some(Failure::invalid_request(REDIRECT_MISMATCH));
            }
            Some(_) => {}
            None => failure = Some(Failure::invalid_client(creds.from_header)),
        }
    }
    if let Some(c) = client
        && let Some(f) = check_secret(c, &creds, failure.as_ref(), runtime).await?
    {
        failure = Some(f);
    }
    if let Some(f) = failure {
        return Err(f.into_error(state));
    }
    let Some(grant) = grant else {
        return Err(Failure::bad("unsupported_grant_type", "Invalid grant_type").into_error(state));
    };

    let issued = grants::run(grant, plugin, config, exchange, runtime, &params, client).await;
    match issued {
        Ok(token) => Ok(no_store_json(
            StatusCode::OK,
            grants::token_body(&token, state),
        )),
        Err(grants::Refusal::OAuth(f)) => Err(f.into_error(state)),
        Err(grants::Refusal::Plugin(e)) => Err(e),
    }
}

/// A registered `redirect_uri` (exact match) or none given (the first
/// registered one is assumed).
fn redirect_uri_ok(client: &Oauth2Credential, given: Option<&Param>) -> bool {
    match given {
        None => true,
        Some(Param::One(uri)) => client.redirect_uris.iter().any(|r| r == uri),
        Some(_) => false,
    }
}

/// The secret check: confidential clients must present their secret, public
/// clients must not present one. `None` when it passes.
async fn check_secret(
    client: &Oauth2Credential,
    creds: &ClientCredentials,
    earlier: Option<&Failure>,
    runtime: &Runtime,
) -> Result<Option<Failure>, PluginError> {
    match client.client_type {
        ClientType::Confidential => {
            // A failure here gives the same invalid_client as the earlier
            // one, so the (costly) hash need not be computed.
            if earlier.is_some_and(Failure::is_invalid_client) {
                return Ok(None);
            }
            let ok = runtime
                .oauth2
                .secrets()
                .verify(client, creds.client_secret.as_deref())
                .await?;
            Ok((!ok).then(|| Failure::invalid_client(creds.from_header)))
        }
        ClientType::Public => {
            let has_secret = creds
                .client_secret
                .as_deref()
                .is_some_and(|s| !s.trim().is_empty());
            Ok(has_secret.then(|| {
                Failure::invalid_request("client_secret is disallowed for public clients")
            }))
        }
    }
}
