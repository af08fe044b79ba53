//! `authorization_code`: the browser login.
//!
//! An unauthenticated request is answered 302 to the provider's
//! authorization endpoint with `response_type=code`, `client_id`,
//! `redirect_uri` (configured, else the request URL without its query),
//! `scope`, `state`, `nonce` and a PKCE S256 `code_challenge`. `state`,
//! `nonce`, the PKCE verifier and the original path and query are kept in
//! the sealed authorization cookie for `authorization_rolling_timeout`.
//!
//! The callback (`state` with `code` or `error`, in the query or, for
//! `response_mode: form_post`, in a POSTed form) needs that cookie: its
//! `state` must match (constant time), the code is exchanged at the token
//! endpoint with the verifier, and the ID token is validated (`id_token`).
//! The authorization cookie is then expired, a session is created, and
//! `login_action` decides: `upstream` proxies the request (without `code`
//! and `state`; with the original query under `preserve_query_args`),
//! `redirect` answers 302 to `login_redirect_uri` or the original URL on
//! the request's own origin, `response` answers the tokens.
//!
//! Redirects never leave the request's origin except to configured URLs:
//! the original URL is rebuilt from the request's scheme and host, never
//! from anything the client sends as a parameter.

mod callback;

use super::Ctx;
use super::cookie;
use super::discovery::endpoint;
use super::failure::{Failure, Reason};
use super::seal::Sealing;
use super::session::random_id;
use super::token_endpoint::document;
use crate::model::plugin::OidcConfig;
use crate::model::plugin::openid_connect::Endpoint;
use crate::plugins::{Access, Exchange, LocalBody, LocalResponse, TrustedIps};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::{CACHE_CONTROL, HOST, LOCATION, SET_COOKIE};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub(super) use callback::{Callback, finish};

/// Associated data of the sealed authorization cookie.
const PURPOSE: &str = "authorization";

/// What the authorization cookie carries between the redirect and the
/// callback.
#[derive(Serialize, Deserialize)]
struct Pending {
    state: String,
    nonce: String,
    verifier: String,
    /// The original path and query.
    uri: String,
    /// The `redirect_uri` sent (the token request repeats it).
    redirect_uri: String,
    created: u64,
}

/// Whether the request counts as HTTPS: TLS, or `X-Forwarded-Proto: https`
/// from a trusted peer (the rule of the oauth2 plugin).
pub(super) fn https(exchange: &Exchange<'_>, trusted: &TrustedIps) -> bool {
    crate::plugins::oauth2::https::check(exchange, trusted, true).is_ok()
}

/// `scheme://host[:port]` of the request (`Host`, else the URI's
/// authority).
pub(super) fn origin(exchange: &Exchange<'_>, https: bool) -> Option<String> {
    let host = exchange
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| exchange.request.uri().authority().map(|a| a.as_str()))
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
        })?;
    let scheme = if https { "https" } else { "http" };
    Some(format!("{scheme}://{host}"))
}

/// A path that stays on the origin when appended to it: one leading `/`.
fn local_path(path: &str) -> String {
    format!("/{}", path.trim_start_matches(['/', '\\']))
}

/// RFC 7636 S256.
fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Answers 302 to the authorization endpoint and sets the authorization
/// cookie.
pub(super) async fn start(
    ctx: &Ctx<'_>,
    sealing: &Sealing,
    exchange: &Exchange<'_>,
    https: bool,
    now: u64,
) -> Result<Access, Failure> {
    let config = ctx.config;
    let login = &config.login;
    let document = document(ctx).await?;
    let endpoint =
        endpoint(config, Some(&document), Endpoint::Authorization).ok_or(Reason::IdpUnavailable)?;
    let origin = origin(exchange, https).ok_or(Reason::LoginState)?;
    let uri = exchange.request.uri();
    let path = local_path(uri.path());
    let redirect_uri = login
        .redirect_uri
        .clone()
        .unwrap_or_else(|| format!("{origin}{path}"));
    let pending = Pending {
        state: random_id(),
        nonce: random_id(),
        verifier: random_id(),
        uri: match uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        },
        redirect_uri,
        created: now,
    };
    let location = authorization_url(config, &endpoint, &pending, uri.query());
    let json = serde_json::to_vec(&pending).map_err(|_| Reason::LoginState)?;
    let sealed = sealing.seal(PURPOSE, &json);
    let max_age = (login.rolling_timeout > 0).then_some(login.rolling_timeout);
    let present = cookie::chunks_present(exchange.headers(), &login.cookie.name);
    let mut headers = HeaderMap::new();
    for line in cookie::set(&login.cookie, &sealed, max_age, https, present) {
        headers.append(SET_COOKIE, line);
    }
    headers.insert(
        LOCATION,
        HeaderValue::from_str(&location).map_err(|_| Reason::IdpUnavailable)?,
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(Access::Respond(LocalResponse {
        status: StatusCode::FOUND,
        headers,
        body: LocalBody::Json(serde_json::Value::Null),
    }))
}

/// The authorization request URL.
fn authorization_url(
    config: &OidcConfig,
    endpoint: &str,
    pending: &Pending,
    request_query: Option<&str>,
) -> String {
    let login = &config.login;
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("response_type", "code");
    if let Some(id) = &config.client_id {
        q.append_pair("client_id", id);
    }
    q.append_pair("redirect_uri", &pending.redirect_uri);
    q.append_pair("scope", &login.scopes.join(" "));
    q.append_pair("state", &pending.state);
    q.append_pair("nonce", &pending.nonce);
    if login.pkce {
        q.append_pair("code_challenge", &challenge(&pending.verifier));
        q.append_pair("code_challenge_method", "S256");
    }
    if login.response_mode == crate::model::plugin::openid_connect::ResponseMode::FormPost {
        q.append_pair("response_mode", "form_post");
    }
    for (k, v) in &login.query_args {
        q.append_pair(k, v);
    }
    // `authorization_query_args_client`: copied from the request.
    if let Some(query) = request_query {
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            if login.query_args_client.iter().any(|n| *n == k) {
                q.append_pair(&k, &v);
            }
        }
    }
    let sep = if endpoint.contains('?') { '&' } else { '?' };
    format!("{endpoint}{sep}{}", q.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc7636_appendix_b() {
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn paths_stay_on_the_origin() {
        assert_eq!(local_path("//evil.example/x"), "/evil.example/x");
        assert_eq!(local_path("/\\evil.example"), "/evil.example");
        assert_eq!(local_path("/a/b"), "/a/b");
    }
}
