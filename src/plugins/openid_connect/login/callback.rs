//! The login callback: checks, code exchange, session, `login_action`.

use super::{PURPOSE, Pending, local_path, origin};
use crate::model::Sensitive;
use crate::model::plugin::openid_connect::{LoginAction, LoginToken, RedirectMode, ResponseMode};
use crate::plugins::openid_connect::failure::{Failure, Reason};
use crate::plugins::openid_connect::seal::Sealing;
use crate::plugins::openid_connect::session::{Record, Sessions};
use crate::plugins::openid_connect::token_endpoint::{self, Grant, TokenRequest, TokenResponse};
use crate::plugins::openid_connect::{Ctx, Verified, authorize, cookie, id_token, upstream};
use crate::plugins::{Access, Exchange, LocalBody, LocalResponse, PluginError};
use http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq;

/// Largest form_post body read (as much as a token may be looked for in).
const FORM_LIMIT: usize = 1024 * 1024;
/// Parameters of the callback removed before the request goes upstream.
const CALLBACK_ARGS: [&str; 5] = ["code", "state", "session_state", "iss", "error"];

/// The parameters of a login callback.
pub(in crate::plugins::openid_connect) struct Callback {
    state: String,
    code: Option<Sensitive>,
    error: Option<String>,
    posted: bool,
}

// === impl Callback ===

impl Callback {
    /// This request's callback parameters, if it is a callback: `state`
    /// with `code` or `error`, in the query, or in a POSTed form for
    /// `response_mode: form_post`. A form is only read from a request
    /// with the authorization cookie (a login in progress). Without that
    /// cookie, parameters in the query still make a callback (refused:
    /// a stale or looping login) unless the request has a session, whose
    /// application may use such parameters itself.
    pub(in crate::plugins::openid_connect) async fn detect(
        ctx: &Ctx<'_>,
        exchange: &mut Exchange<'_>,
    ) -> Result<Option<Callback>, PluginError> {
        let config = ctx.config;
        // Without a query or a possible form there are no parameters: the
        // usual request, whose cookies (kilobytes with a session) need not
        // be looked at here.
        let form_possible = config.login.response_mode == ResponseMode::FormPost
            && exchange.request.method() == Method::POST;
        if exchange.request.uri().query().is_none() && !form_possible {
            return Ok(None);
        }
        let headers = exchange.headers();
        let pending = cookie::present(headers, &config.login.cookie.name);
        if !pending && cookie::present(headers, &config.session.cookie.name) {
            return Ok(None);
        }
        let posted = pending
            && form_possible
            && exchange
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let args: Vec<(String, String)> = if posted {
            let body = exchange.body(FORM_LIMIT).await?;
            form_urlencoded::parse(&body).into_owned().collect()
        } else {
            let query = exchange.request.uri().query().unwrap_or("");
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect()
        };
        let get = |name: &str| args.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let Some(state) = get("state") else {
            return Ok(None);
        };
        let (code, error) = (get("code"), get("error"));
        if code.is_none() && error.is_none() {
            return Ok(None);
        }
        Ok(Some(Callback {
            state,
            code: code.map(Sensitive::new),
            error,
            posted,
        }))
    }
}

/// Finishes a login: see the module docs of `login`.
#[allow(clippy::too_many_arguments)]
pub(in crate::plugins::openid_connect) async fn finish(
    ctx: &Ctx<'_>,
    sealing: &Sealing,
    sessions: Option<&Sessions<'_>>,
    exchange: &mut Exchange<'_>,
    callback: Callback,
    https: bool,
    now: u64,
) -> Result<Access, Failure> {
    let config = ctx.config;
    let login = &config.login;
    let headers = exchange.headers();
    let raw = cookie::read(headers, &login.cookie.name);
    let present = cookie::chunks_present(headers, &login.cookie.name);
    // The authorization cookie serves one callback, whatever its outcome.
    for line in cookie::expire(&login.cookie, https, present) {
        exchange.response_headers.append(SET_COOKIE, line);
    }
    let pending: Pending = raw
        .and_then(|raw| sealing.open(PURPOSE, &raw))
        .and_then(|plain| serde_json::from_slice(&plain).ok())
        .ok_or(Reason::LoginState)?;
    if login.rolling_timeout > 0 && now.saturating_sub(pending.created) > login.rolling_timeout {
        return Err(Reason::LoginState.into());
    }
    if !bool::from(callback.state.as_bytes().ct_eq(pending.state.as_bytes())) {
        return Err(Reason::LoginState.into());
    }
    if let Some(error) = &callback.error {
        tracing::debug!(error = %error.escape_debug(), "the identity provider answered the login with an error");
        return Err(Reason::LoginDenied.into());
    }
    let code = callback.code.ok_or(Reason::LoginState)?;
    let grant = Grant::AuthorizationCode {
        code,
        redirect_uri: pending.redirect_uri.clone(),
        code_verifier: login.pkce.then(|| Sensitive::new(pending.verifier.clone())),
    };
    let tokens = token_endpoint::request(ctx, TokenRequest::new(grant)).await?;
    let claims = id_token::claims_of(ctx, &tokens, Some(&pending.nonce)).await?;
    let verified = Verified {
        claims: claims.into(),
        introspection: None,
        user_info: None,
        tokens: None,
    };
    let (verified, consumer) = authorize(config, exchange.table, verified)?;
    let mut session_id = None;
    if let Some(sessions) = sessions {
        let record = Record::new("authorization_code", &tokens, verified.claims.shared(), now);
        let present = cookie::chunks_present(exchange.headers(), &config.session.cookie.name);
        let lines = sessions
            .save(&record, https, present, now)
            .await
            .map_err(|_| Reason::StoreUnavailable)?;
        for line in lines {
            exchange.response_headers.append(SET_COOKIE, line);
        }
        session_id = Some(record.sid);
    }
    let action = if login.methods.iter().any(|m| m == "authorization_code") {
        login.action
    } else {
        LoginAction::Upstream
    };
    match action {
        LoginAction::Upstream => {
            to_upstream(
                exchange,
                &pending,
                callback.posted,
                login.preserve_query_args,
            );
            // The login's own cookies are the proxy's (Kong clears both).
            let headers = exchange.request.headers_mut();
            cookie::remove_chunked(headers, &login.cookie.name);
            cookie::remove_chunked(headers, &config.session.cookie.name);
            let token = tokens.access_token.expose().to_string();
            upstream::apply(
                config,
                exchange,
                &verified,
                consumer,
                &token,
                session_id.as_deref(),
                None,
            );
            Ok(Access::Continue)
        }
        LoginAction::Redirect => {
            let base = match &login.redirect_to {
                Some(uri) => uri.clone(),
                None => {
                    let origin = origin(exchange, https).ok_or(Reason::LoginState)?;
                    let (path, query) = split(&pending.uri);
                    match query.filter(|_| login.preserve_query_args) {
                        Some(q) => format!("{origin}{}?{q}", local_path(path)),
                        None => format!("{origin}{}", local_path(path)),
                    }
                }
            };
            let location = with_tokens(
                &base,
                &login_tokens(&login.tokens, &tokens),
                login.redirect_mode,
            );
            let mut headers = HeaderMap::new();
            headers.insert(
                LOCATION,
                HeaderValue::from_str(&location).map_err(|_| Reason::LoginState)?,
            );
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(Access::Respond(LocalResponse {
                status: StatusCode::FOUND,
                headers,
                body: LocalBody::Json(Value::Null),
            }))
        }
        LoginAction::Response => {
            let mut headers = HeaderMap::new();
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            let body: Map<String, Value> =
                login_tokens(&login.tokens, &tokens).into_iter().collect();
            Ok(Access::Respond(LocalResponse {
                status: StatusCode::OK,
                headers,
                body: LocalBody::Json(Value::Object(body)),
            }))
        }
    }
}

/// The callback request as the upstream sees it: no callback parameters
/// (the original query instead under `preserve_query_args`), and a
/// form_post callback becomes the GET it stands for.
fn to_upstream(exchange: &mut Exchange<'_>, pending: &Pending, posted: bool, preserve: bool) {
    if posted {
        *exchange.request.method_mut() = Method::GET;
        exchange.set_body(bytes::Bytes::new());
        exchange.request.headers_mut().remove(CONTENT_TYPE);
        exchange.request.headers_mut().remove(CONTENT_LENGTH);
    }
    let query = if preserve {
        split(&pending.uri).1.map(str::to_string)
    } else {
        let current = exchange.request.uri().query().unwrap_or("");
        let kept: Vec<(String, String)> = form_urlencoded::parse(current.as_bytes())
            .into_owned()
            .filter(|(k, _)| !CALLBACK_ARGS.contains(&k.as_str()))
            .collect();
        (!kept.is_empty()).then(|| {
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(kept)
                .finish()
        })
    };
    exchange.set_query(query.as_deref());
}

fn split(uri: &str) -> (&str, Option<&str>) {
    match uri.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (uri, None),
    }
}

/// The `login_tokens` that exist, by name.
fn login_tokens(wanted: &[LoginToken], tokens: &TokenResponse) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for t in wanted {
        let (name, value) = match t {
            LoginToken::IdToken => (
                "id_token",
                tokens.id_token.as_ref().map(|t| json!(t.expose())),
            ),
            LoginToken::AccessToken => ("access_token", Some(json!(tokens.access_token.expose()))),
            LoginToken::RefreshToken => (
                "refresh_token",
                tokens.refresh_token.as_ref().map(|t| json!(t.expose())),
            ),
            LoginToken::Tokens => ("tokens", Some(tokens.to_json())),
        };
        if let Some(v) = value {
            out.push((name.to_string(), v));
        }
    }
    out
}

/// `base` with the tokens in its fragment or query.
fn with_tokens(base: &str, tokens: &[(String, Value)], mode: RedirectMode) -> String {
    if tokens.is_empty() {
        return base.to_string();
    }
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in tokens {
        match v {
            Value::String(t) => s.append_pair(k, t),
            other => s.append_pair(k, &other.to_string()),
        };
    }
    let encoded = s.finish();
    match mode {
        RedirectMode::Fragment => {
            let base = base.split('#').next().unwrap_or(base);
            format!("{base}#{encoded}")
        }
        RedirectMode::Query => {
            let (before, fragment) = match base.split_once('#') {
                Some((b, f)) => (b, Some(f)),
                None => (base, None),
            };
            let sep = if before.contains('?') { '&' } else { '?' };
            match fragment {
                Some(f) => format!("{before}{sep}{encoded}#{f}"),
                None => format!("{before}{sep}{encoded}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_go_in_fragment_or_query() {
        let t = vec![("id_token".to_string(), json!("a.b.c"))];
        assert_eq!(
            with_tokens("https://app.test/done", &t, RedirectMode::Fragment),
            "https://app.test/done#id_token=a.b.c"
        );
        assert_eq!(
            with_tokens("https://app.test/done?x=1#f", &t, RedirectMode::Query),
            "https://app.test/done?x=1&id_token=a.b.c#f"
        );
        assert_eq!(
            with_tokens("https://app.test/done", &[], RedirectMode::Query),
            "https://app.test/done"
        );
    }
}
