//! Logout: a request with a method of `logout_methods` whose path ends
//! with `logout_uri_suffix`, or that carries `logout_query_arg` in its
//! query or `logout_post_arg` in its form body, ends the session.
//!
//! The server-side record is deleted and every chunk of the session cookie
//! expired. With `logout_revoke`, the session's access and refresh tokens
//! are revoked at the provider's revocation endpoint (RFC 7009; failures
//! are logged, the logout goes on). Then, when the provider has an
//! `end_session_endpoint`, the browser is sent there (RP-initiated logout)
//! with `id_token_hint` and `post_logout_redirect_uri` =
//! `logout_redirect_uri`; else to `logout_redirect_uri`; else the answer
//! is an empty 200.

use super::Ctx;
use super::client_auth::{Call, credentials_for};
use super::cookie;
use super::discovery::endpoint;
use super::failure::Failure;
use super::session::{Record, Sessions};
use super::token_endpoint::document;
use crate::model::plugin::openid_connect::Endpoint;
use crate::plugins::{Access, Exchange, LocalBody, LocalResponse, PluginError};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::Value;

/// Largest form body read for `logout_post_arg` (as much as a token may
/// be looked for in).
const FORM_LIMIT: usize = 1024 * 1024;

/// Whether this request asks to log out.
pub(super) async fn requested(
    ctx: &Ctx<'_>,
    exchange: &mut Exchange<'_>,
) -> Result<bool, PluginError> {
    let logout = &ctx.config.logout;
    if !logout.enabled() || !logout.methods.contains(exchange.request.method()) {
        return Ok(false);
    }
    let uri = exchange.request.uri();
    if logout
        .uri_suffix
        .as_deref()
        .is_some_and(|s| uri.path().ends_with(s))
    {
        return Ok(true);
    }
    let has = |encoded: &[u8], name: &str| form_urlencoded::parse(encoded).any(|(k, _)| k == name);
    if let Some(arg) = &logout.query_arg
        && has(uri.query().unwrap_or("").as_bytes(), arg)
    {
        return Ok(true);
    }
    if let Some(arg) = &logout.post_arg {
        let form = exchange
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if form {
            let body = exchange.body(FORM_LIMIT).await?;
            return Ok(has(&body, arg));
        }
    }
    Ok(false)
}

/// Logs out: see the module docs.
pub(super) async fn run(
    ctx: &Ctx<'_>,
    sessions: &Sessions<'_>,
    exchange: &mut Exchange<'_>,
    https: bool,
    now: u64,
) -> Result<Access, Failure> {
    let config = ctx.config;
    let record = sessions
        .load(exchange.headers(), now)
        .await
        .ok()
        .map(|l| l.record);
    let present = cookie::chunks_present(exchange.headers(), &config.session.cookie.name);
    for line in sessions.destroy(record.as_deref(), https, present).await {
        exchange.response_headers.append(SET_COOKIE, line);
    }
    let document = document(ctx).await.ok();
    if config.logout.revoke
        && let Some(record) = &record
    {
        revoke(ctx, document.as_deref(), record).await;
    }
    let mut headers = HeaderMap::new();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let redirect = config.logout.redirect_uri.as_deref();
    let end_session = endpoint(config, document.as_deref(), Endpoint::EndSession);
    let location = match end_session {
        Some(endpoint) => {
            let mut q = form_urlencoded::Serializer::new(String::new());
            if let Some(hint) = record.as_ref().and_then(|r| r.id_token.as_deref()) {
                q.append_pair("id_token_hint", hint);
            }
            if let Some(uri) = redirect {
                q.append_pair("post_logout_redirect_uri", uri);
            }
            if let Some(id) = &config.client_id {
                q.append_pair("client_id", id);
            }
            let sep = if endpoint.contains('?') { '&' } else { '?' };
            Some(format!("{endpoint}{sep}{}", q.finish()))
        }
        None => redirect.map(str::to_string),
    };
    let status = match location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        Some(l) => {
            headers.insert(LOCATION, l);
            StatusCode::FOUND
        }
        None => StatusCode::OK,
    };
    Ok(Access::Respond(LocalResponse {
        status,
        headers,
        body: LocalBody::Json(Value::Null),
    }))
}

/// RFC 7009 revocation of the session's tokens; failures are logged.
async fn revoke(ctx: &Ctx<'_>, document: Option<&super::discovery::Document>, record: &Record) {
    let config = ctx.config;
    let Some(endpoint) = endpoint(config, document, Endpoint::Revocation) else {
        tracing::warn!(issuer = %config.issuer, "logout_revoke: the provider has no revocation endpoint");
        return;
    };
    let mut tokens = Vec::new();
    if config.logout.revoke_refresh_token
        && let Some(t) = &record.refresh_token
    {
        tokens.push((t.clone(), "refresh_token"));
    }
    if config.logout.revoke_access_token {
        tokens.push((record.access_token.clone(), "access_token"));
    }
    for (token, hint) in tokens {
        let call = Call {
            method: config.revocation_auth(),
            advertised: document.map_or(&[][..], |d| &d.revocation_auth_methods),
            presented: None,
        };
        let client =
            match credentials_for(&ctx.state.keys, ctx.plugin_id, config, &endpoint, call).await {
                Ok(c) => c,
                Err(reason) => {
                    tracing::warn!(%reason, "logout_revoke: no client authentication");
                    return;
                }
            };
        let mut form: Vec<(String, String)> = vec![
            (config.logout.revocation_token_param_name.clone(), token),
            ("token_type_hint".into(), hint.into()),
        ];
        form.extend(client.form.into_iter().map(|(k, v)| (k.to_string(), v)));
        if let Err(e) = ctx
            .state
            .clients
            .post_form_status(config, &endpoint, form, client.basic)
            .await
        {
            tracing::warn!(issuer = %config.issuer, hint, error = %e, "token revocation failed");
        }
    }
}
