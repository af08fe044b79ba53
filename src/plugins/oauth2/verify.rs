//! Verification of proxied requests (Kong's `do_authentication`).
//!
//! The token comes from the `auth_header_name` header (`Bearer <t>`,
//! `Token <t>`, or the raw value), else from an `access_token` parameter
//! (query, or form/JSON body of `POST`/`PUT`/`PATCH`). It must exist, belong
//! to this route's service (or be global where `global_credentials`), not be
//! expired, and its credential and consumer must still be in the table:
//! deleting a credential revokes its tokens. Store failures answer 503 and
//! never let a request through, not even as `anonymous`.

use super::VERIFY_BODY_LIMIT;
use super::respond::{bearer_challenge, store_error};
use crate::model::plugin::Oauth2Config;
use crate::plugins::consumer::{self, AUTHENTICATED_SCOPE, AUTHENTICATED_USERID};
use crate::plugins::params::{self, Params};
use crate::plugins::{Access, Authenticated, Exchange, PluginError, Runtime};
use crate::tokens::unix_now;
use bytes::Bytes;
use http::{Method, StatusCode, Uri};

const MISSING: &str = "The access token is missing";
const INVALID: &str = "The access token is invalid or has expired";
const GLOBAL: &str =
    "The access token is global, but the current plugin is configured without 'global_credentials'";

/// How authentication failed.
enum Refusal {
    /// Falls back to `anonymous` when configured.
    Soft(PluginError),
    /// Always answered (store down, global token on a non-global plugin).
    Hard(PluginError),
}

/// Where the token was found.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Header,
    Param,
}

/// The access phase for requests that are not to the endpoints.
pub(super) async fn access(
    plugin: &str,
    config: &Oauth2Config,
    exchange: &mut Exchange<'_>,
    runtime: &Runtime,
) -> Result<Access, PluginError> {
    // Logical OR with an earlier authentication plugin: already done.
    if config.anonymous.is_some()
        && exchange
            .authenticated
            .as_ref()
            .is_some_and(|a| !a.anonymous)
    {
        exchange.clear_upstream_header(AUTHENTICATED_SCOPE);
        exchange.clear_upstream_header(AUTHENTICATED_USERID);
        return Ok(Access::Continue);
    }
    match authenticate(config, exchange, runtime).await {
        Ok(()) => Ok(Access::Continue),
        Err(Refusal::Hard(e)) => Err(e),
        Err(Refusal::Soft(e)) => {
            let Some(anonymous) = &config.anonymous else {
                return Err(e);
            };
            consumer::set_anonymous(exchange, plugin, anonymous)?;
            Ok(Access::Continue)
        }
    }
}

async fn authenticate(
    config: &Oauth2Config,
    exchange: &mut Exchange<'_>,
    runtime: &Runtime,
) -> Result<(), Refusal> {
    let realm = config.realm.as_deref();
    let token_error = |description: &str| PluginError::OAuth {
        status: StatusCode::UNAUTHORIZED,
        error: "invalid_token".into(),
        description: description.into(),
        state: None,
        // The challenge always carries the generic text, as in Kong.
        www_authenticate: Some(bearer_challenge(realm, Some(("invalid_token", INVALID)))),
        no_store: false,
    };
    let invalid = |description: &str| Refusal::Soft(token_error(description));

    let found = find_token(config, exchange).await.map_err(Refusal::Hard)?;
    if config.hide_credentials {
        hide(config, exchange, found.as_ref().map(|(_, s)| *s)).await;
    }
    let Some((token, _)) = found.filter(|(t, _)| !t.is_empty()) else {
        return Err(Refusal::Soft(PluginError::OAuth {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_request".into(),
            description: MISSING.into(),
            state: None,
            www_authenticate: Some(bearer_challenge(realm, None)),
            no_store: false,
        }));
    };

    let row = runtime
        .tokens
        .grant(&token)
        .await
        .map_err(|e| Refusal::Hard(store_error(e)))?;
    let Some(row) = row else {
        return Err(invalid(INVALID));
    };
    match &row.service {
        None if !config.global_credentials => return Err(Refusal::Hard(token_error(GLOBAL))),
        Some(service) if exchange.route.service.as_deref() != Some(&**service) => {
            return Err(invalid(INVALID));
        }
        _ => {}
    }
    if row.is_expired(unix_now()) {
        return Err(invalid(INVALID));
    }
    let table = exchange.table;
    let Some(credential) = runtime.oauth2.credential(table, &row.credential_id) else {
        return Err(invalid(INVALID)); // The credential was deleted: revoked.
    };
    let Some(who) = table.consumers.get(&credential.consumer_id) else {
        return Err(invalid(INVALID));
    };
    let who = Authenticated {
        consumer: who.clone(),
        credential: Some(credential.client_id.clone()),
        anonymous: false,
    };
    consumer::set_consumer(exchange, who);
    if let Some(scope) = &row.scope {
        exchange.set_upstream_header(AUTHENTICATED_SCOPE, scope);
    }
    if let Some(userid) = &row.authenticated_userid {
        exchange.set_upstream_header(AUTHENTICATED_USERID, userid);
    }
    Ok(())
}

/// Kong's `parse_access_token`, without its hiding step.
async fn find_token(
    config: &Oauth2Config,
    exchange: &mut Exchange<'_>,
) -> Result<Option<(String, Source)>, PluginError> {
    if let Some(value) = exchange.headers().get(&config.auth_header_name) {
        let value = value.to_str().unwrap_or_default();
        // Visible ASCII (`to_str`), so ASCII whitespace is all there is,
        // and splitting bytes spares decoding characters per request.
        let mut words = value.split_ascii_whitespace();
        let token = match (words.next(), words.next(), words.next()) {
            (Some(scheme), Some(token), None)
                if scheme.eq_ignore_ascii_case("bearer")
                    || scheme.eq_ignore_ascii_case("token") =>
            {
                token
            }
            _ => value,
        };
        return Ok(Some((token.to_string(), Source::Header)));
    }
    let params = if body_too_large(exchange) {
        // Not buffered: a token in such a body is not looked for.
        Params::from_query(exchange.request.uri().query())
    } else {
        Params::read(exchange, VERIFY_BODY_LIMIT).await?
    };
    Ok(params
        .string("access_token")
        .map(|t| (t.to_string(), Source::Param)))
}

/// `hide_credentials`: a token from the header removes the header (Kong
/// keeps a raw, scheme-less header; kingress removes it too); otherwise
/// `access_token` is removed from the query and from form bodies.
async fn hide(config: &Oauth2Config, exchange: &mut Exchange<'_>, source: Option<Source>) {
    if source == Some(Source::Header) {
        exchange.clear_upstream_header(config.auth_header_name.clone());
        return;
    }
    let uri = exchange.request.uri().clone();
    if let Some(query) = uri.query() {
        let kept = params::without_param(query, "access_token");
        if kept != query {
            let path_and_query = if kept.is_empty() {
                uri.path().to_string()
            } else {
                format!("{}?{kept}", uri.path())
            };
            let mut parts = uri.into_parts();
            if let Ok(pq) = path_and_query.parse() {
                parts.path_and_query = Some(pq);
                if let Ok(new) = Uri::from_parts(parts) {
                    *exchange.request.uri_mut() = new;
                }
            }
        }
    }
    let form = params::body_kind(exchange.headers()) == Some(params::BodyKind::Form);
    let method = exchange.request.method();
    if form && method != Method::GET && params::has_body_params(method) && !body_too_large(exchange)
    {
        // Already buffered by find_token, so this does not read again.
        if let Ok(body) = exchange.body(VERIFY_BODY_LIMIT).await
            && let Ok(text) = std::str::from_utf8(&body)
        {
            let kept = params::without_param(text, "access_token");
            if kept != text {
                exchange.set_body(Bytes::from(kept));
            }
        }
    }
}

/// A declared body larger than the verification buffer: not read at all,
/// so it streams to the upstream untouched.
fn body_too_large(exchange: &Exchange<'_>) -> bool {
    exchange
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .is_some_and(|len| len > VERIFY_BODY_LIMIT)
}
