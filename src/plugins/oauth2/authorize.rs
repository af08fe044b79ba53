//! `/oauth2/authorize` (Kong's `authorize`): the operator's consent app
//! posts here on the user's behalf with the `provision_key`; the answer is
//! JSON with the `redirect_uri` to send the browser to (200 on success, 400
//! on error), not an HTTP redirect.
//!
//! Order: HTTPS → `provision_key` → `authenticated_userid` (each answered at
//! once with a bare JSON error), then `response_type` → scope → client and
//! `redirect_uri` → PKCE, each possibly replacing the previous failure.
//! Once a registered redirect URI is known the error goes into it (to the
//! first registered URI when the given one is not registered).

use super::grants::{binding, new_token};
use super::respond::{Failure, REDIRECT_MISMATCH, no_store_json, store_error};
use super::{ENDPOINT_BODY_LIMIT, https, pkce, redirect, scope};
use crate::model::plugin::Oauth2Config;
use crate::model::{PluginInstance, Sensitive};
use crate::plugins::params::{Param, Params};
use crate::plugins::{Access, Exchange, PluginError, Runtime};
use crate::tokens::{AuthCode, random_token, unix_now};
use http::StatusCode;
use serde_json::json;

#[derive(Clone, Copy, PartialEq, Eq)]
enum ResponseType {
    Code,
    Token,
}

/// Answers a `POST` to the authorize endpoint.
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
    if !config.provision_key_matches(params.string("provision_key")) {
        return Err(
            Failure::bad("invalid_provision_key", "Invalid provision_key").into_error(state),
        );
    }
    let Some(userid) = params
        .string("authenticated_userid")
        .filter(|u| !u.trim().is_empty())
    else {
        let f = Failure::bad(
            "invalid_authenticated_userid",
            "Missing authenticated_userid parameter",
        );
        return Err(f.into_error(state));
    };

    let mut failure = None;
    let response_type = match params.string("response_type") {
        Some("code") if config.enable_authorization_code => Some(ResponseType::Code),
        Some("token") if config.enable_implicit_grant => Some(ResponseType::Token),
        _ => {
            failure = Some(Failure::bad(
                "unsupported_response_type",
                "Invalid response_type",
            ));
            None
        }
    };
    let scope = scope::retrieve(&params, config).unwrap_or_else(|f| {
        failure = Some(f);
        None
    });

    let client = params
        .string("client_id")
        .filter(|id| !id.is_empty())
        .and_then(|id| exchange.table.credentials.oauth2(id));
    let mut redirect_uri = None;
    match client.filter(|c| !c.redirect_uris.is_empty()) {
        None => failure = Some(Failure::invalid_client(false)),
        Some(c) => {
            let first = &c.redirect_uris[0];
            redirect_uri = Some(match params.get("redirect_uri") {
                None => first.clone(),
                Some(Param::One(uri)) if c.redirect_uris.contains(uri) => uri.clone(),
                Some(_) => {
                    failure = Some(Failure::invalid_request(REDIRECT_MISMATCH));
                    first.clone()
                }
            });
        }
    }

    let mut challenge = None;
    match pkce::challenge(&params) {
        Err(description) => failure = Some(Failure::invalid_request(description)),
        Ok(None) => {
            if let Some(c) = client.filter(|c| pkce::required(config.pkce, c.client_type, false)) {
                let description = format!(
                    "code_challenge is required for {} clients",
                    c.client_type.as_str()
                );
                failure = Some(Failure::invalid_request(description));
            }
        }
        Ok(found) => challenge = found,
    }

    let mut implicit = false;
    let mut answer: Vec<(&str, String)> = Vec::new();
    match (&failure, response_type, client) {
        (None, Some(ResponseType::Code), Some(client)) => {
            let code = AuthCode {
                code: Sensitive::new(random_token()),
                credential_id: client.id.clone(),
                service: binding(config, exchange)?,
                plugin_id: plugin.id.clone(),
                authenticated_userid: Some(userid.to_string()),
                scope,
                challenge: challenge.as_ref().map(|(c, _)| c.clone()),
                challenge_method: challenge.map(|(_, m)| m.to_string()),
                created_at: unix_now(),
            };
            runtime
                .tokens
                .insert_code(&code)
                .await
                .map_err(store_error)?;
            answer.push(("code", code.code.expose().to_string()));
        }
        (None, Some(ResponseType::Token), Some(client)) => {
            let token = new_token(
                &runtime.tokens,
                config,
                binding(config, exchange)?,
                &client.id,
                Some(userid.to_string()),
                scope,
                false,
            );
            runtime
                .tokens
                .insert_token(&token)
                .await
                .map_err(store_error)?;
            implicit = true;
            answer.push(("access_token", token.access_token.expose().to_string()));
            answer.push(("token_type", "bearer".to_string()));
            if token.expires_in > 0 {
                answer.push(("expires_in", token.expires_in.to_string()));
            }
        }
        (Some(f), _, _) => {
            answer.push(("error", f.error.to_string()));
            answer.push(("error_description", f.description.clone()));
        }
        // No failure means a known response type and a client.
        (None, _, _) => {
            return Err(PluginError::Internal(
                "authorize: inconsistent checks".into(),
            ));
        }
    }
    if let Some(s) = state {
        answer.push(("state", s.to_string()));
    }

    match (redirect_uri, failure) {
        (Some(uri), failure) => {
            let status = if failure.is_some() {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            let body = json!({ "redirect_uri": redirect::build(&uri, &answer, implicit) });
            Ok(no_store_json(status, body))
        }
        (None, Some(f)) => Err(f.into_error(state)),
        (None, None) => Err(PluginError::Internal("authorize: no redirect_uri".into())),
    }
}
