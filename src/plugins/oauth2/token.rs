//! `/oauth2/token` (Kong's `issue_token`).
//!
//! The checks run in Kong's order and a later failure replaces an earlier
//! one: HTTPS (alone; nothing else runs when it fails) → `grant_type` →
//! client and `redirect_uri` → client secret. Only when all passed do the
//! grant-specific checks run (see `grants`).

use super::client_auth::{self, ClientCredentials, Presented};
use super::grants::{self, Grant};
use super::respond::{Failure, REDIRECT_MISMATCH, no_store_json};
use super::{ENDPOINT_BODY_LIMIT, https};
use crate::model::plugin::Oauth2Config;
use crate::model::{ClientType, Oauth2Credential, PluginInstance, Table};
use crate::plugins::params::{Param, Params};
use crate::plugins::{Access, Exchange, PluginError, Runtime};
use http::StatusCode;

/// Answers a `POST` to the token endpoint.
pub(super) async fn endpoint(
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

    let presented = client_auth::retrieve(&params, exchange.headers(), &config.auth_header_name);
    let Chosen {
        creds,
        client,
        verdict,
    } = choose(presented, exchange.table, runtime).await?;

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
        && let Some(f) = check_secret(c, &creds, verdict, failure.as_ref(), runtime).await?
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

/// The client credentials a request is judged by, with the secret check's
/// outcome when `choose` already ran it.
struct Chosen<'t> {
    creds: ClientCredentials,
    client: Option<&'t Oauth2Credential>,
    verdict: Option<bool>,
}

/// Kong's reading of the credentials, unless it does not authenticate and
/// the form-decoded reading of a Basic header does (RFC 6749 §2.3.1). When
/// neither does, the reading that names a known client (Kong's first) is
/// refused, so an encoded id gets the same answer as any known client.
/// With a single reading nothing is verified here, so the later checks keep
/// their order and skip the hash when the answer is `invalid_client` anyway.
async fn choose<'t>(
    presented: Presented,
    table: &'t Table,
    runtime: &Runtime,
) -> Result<Chosen<'t>, PluginError> {
    let lookup = |creds: &ClientCredentials| {
        creds
            .client_id
            .as_deref()
            .filter(|id| !id.is_empty())
            .and_then(|id| table.credentials.oauth2(id))
    };
    let raw = Chosen {
        client: lookup(&presented.raw),
        creds: presented.raw,
        verdict: None,
    };
    let Some(decoded) = presented.decoded else {
        return Ok(raw);
    };
    let decoded = Chosen {
        client: lookup(&decoded),
        creds: decoded,
        verdict: None,
    };
    let mut judged = Vec::with_capacity(2);
    for mut reading in [raw, decoded] {
        if let Some(c) = reading.client {
            let ok = authenticates(c, &reading.creds, runtime).await?;
            reading.verdict = Some(ok);
            if ok {
                return Ok(reading);
            }
        }
        judged.push(reading);
    }
    // Neither authenticates: Kong's reading unless only the other names a client.
    let known = judged.iter().position(|r| r.client.is_some()).unwrap_or(0);
    Ok(judged.swap_remove(known))
}

/// Whether `creds` pass `client`'s secret rule (see `check_secret`).
async fn authenticates(
    client: &Oauth2Credential,
    creds: &ClientCredentials,
    runtime: &Runtime,
) -> Result<bool, PluginError> {
    match client.client_type {
        ClientType::Confidential => {
            runtime
                .oauth2
                .secrets()
                .verify(client, creds.client_secret.as_deref())
                .await
        }
        ClientType::Public => Ok(!presents_secret(creds)),
    }
}

/// Whether a non-blank secret was presented.
fn presents_secret(creds: &ClientCredentials) -> bool {
    creds
        .client_secret
        .as_deref()
        .is_some_and(|s| !s.trim().is_empty())
}

/// The secret check: confidential clients must present their secret, public
/// clients must not present one. `None` when it passes. `verdict` is the
/// confidential check's outcome when already known.
async fn check_secret(
    client: &Oauth2Credential,
    creds: &ClientCredentials,
    verdict: Option<bool>,
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
            let ok = match verdict {
                Some(ok) => ok,
                None => authenticates(client, creds, runtime).await?,
            };
            Ok((!ok).then(|| Failure::invalid_client(creds.from_header)))
        }
        ClientType::Public => Ok(presents_secret(creds)
            .then(|| Failure::invalid_request("client_secret is disallowed for public clients"))),
    }
}
