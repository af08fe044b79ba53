//! The authorization code flow's fields: the authorization request
//! (`scopes`, `redirect_uri`, `response_mode`, PKCE, extra arguments), the
//! authorization cookie that carries its state, and what happens after a
//! login (`login_*`, `preserve_query_args`), with Kong 3.x defaults.

use super::fields::{element, invalid};
use super::read::{Fields, field, http_url};
use super::session::{CookieConfig, SameSite, cookie};
use super::values::ClientAuth;
use crate::model::plugin::ConfigError;

/// How the identity provider returns the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseMode {
    /// In the redirect's query string (Kong's default).
    Query,
    /// In a POSTed form (the code stays out of access logs).
    FormPost,
}

/// `login_action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginAction {
    /// Proxy the callback request upstream (Kong's default).
    Upstream,
    /// Redirect to `login_redirect_uri`, else the original URL.
    Redirect,
    /// Answer with the tokens.
    Response,
}

/// `login_redirect_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirectMode {
    /// Tokens in the fragment (Kong's default; never sent to servers).
    Fragment,
    /// Tokens in the query string.
    Query,
}

/// A `login_tokens` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginToken {
    /// `id_token`.
    IdToken,
    /// `access_token`.
    AccessToken,
    /// `refresh_token`.
    RefreshToken,
    /// The whole token endpoint response.
    Tokens,
}

/// The login configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct LoginConfig {
    /// `redirect_uri`; `None`: the request URL without its query.
    pub redirect_uri: Option<String>,
    /// `response_mode`.
    pub response_mode: ResponseMode,
    /// `scopes`, sent space-separated.
    pub scopes: Vec<String>,
    /// `verify_nonce`.
    pub verify_nonce: bool,
    /// `require_proof_key_for_code_exchange`: `Some(false)` turns PKCE off;
    /// otherwise S256 is always sent (harmless where unsupported).
    pub pkce: bool,
    /// `authorization_query_args_names` / `_values`.
    pub query_args: Vec<(String, String)>,
    /// `authorization_query_args_client`: copied from the request.
    pub query_args_client: Vec<String>,
    /// The authorization cookie.
    pub cookie: CookieConfig,
    /// `authorization_rolling_timeout` (s): how long a login may take.
    pub rolling_timeout: u64,
    /// `login_action`.
    pub action: LoginAction,
    /// `login_methods`.
    pub methods: Vec<String>,
    /// `login_redirect_uri`.
    pub redirect_to: Option<String>,
    /// `login_redirect_mode`.
    pub redirect_mode: RedirectMode,
    /// `login_tokens`.
    pub tokens: Vec<LoginToken>,
    /// `preserve_query_args`.
    pub preserve_query_args: bool,
    /// `token_endpoint_auth_method`; `None`: as `client_auth`.
    pub token_auth: Option<ClientAuth>,
    /// `token_post_args_names` / `_values`: extra token request arguments.
    pub token_args: Vec<(String, String)>,
    /// `token_headers_names` / `_values`: extra token request headers.
    pub token_headers: Vec<(http::HeaderName, http::HeaderValue)>,
}

/// Parses the login fields.
pub(super) fn parse(f: &Fields<'_>) -> Result<LoginConfig, ConfigError> {
    let redirect_uri = one_url(f, "redirect_uri")?;
    let response_mode = match f.string("response_mode")?.as_deref() {
        None | Some("query") => ResponseMode::Query,
        Some("form_post") => ResponseMode::FormPost,
        Some(v @ ("fragment" | "fragment.jwt")) => {
            return Err(field(
                "response_mode",
                format!(
                    "'{v}' cannot work: a server never sees the fragment (use query or form_post)"
                ),
            ));
        }
        Some(v @ ("jwt" | "query.jwt" | "form_post.jwt")) => {
            return Err(field(
                "response_mode",
                format!("'{v}' (JARM) is not supported by kingress"),
            ));
        }
        Some(v) => return Err(field("response_mode", invalid(v))),
    };
    if let Some(types) = f.strings("response_type")?
        && types != ["code"]
    {
        return Err(field(
            "response_type",
            "only [\"code\"] is supported by kingress",
        ));
    }
    let scopes = f
        .strings("scopes")?
        .unwrap_or_else(|| vec!["openid".into()]);
    if scopes.iter().any(|s| s.is_empty() || s.contains(' ')) {
        return Err(field("scopes", "entries must be single, non-empty scopes"));
    }
    let query_args = pairs(
        f,
        "authorization_query_args_names",
        "authorization_query_args_values",
    )?;
    let action = match f.string("login_action")?.as_deref() {
        None | Some("upstream") => LoginAction::Upstream,
        Some("redirect") => LoginAction::Redirect,
        Some("response") => LoginAction::Response,
        Some(v) => return Err(field("login_action", invalid(v))),
    };
    let login_methods = f
        .strings("login_methods")?
        .unwrap_or_else(|| vec!["authorization_code".into()]);
    let token_auth = match f.string("token_endpoint_auth_method")? {
        None => None,
        Some(v) => Some(ClientAuth::parse(&v).ok_or_else(|| {
            field(
                "token_endpoint_auth_method",
                format!("'{v}' is not supported by kingress"),
            )
        })?),
    };
    let redirect_mode = match f.string("login_redirect_mode")?.as_deref() {
        None | Some("fragment") => RedirectMode::Fragment,
        Some("query") => RedirectMode::Query,
        Some(v) => return Err(field("login_redirect_mode", invalid(v))),
    };
    let tokens = match f.strings("login_tokens")? {
        // `login_tokens: null` (the how-to's way to keep tokens out of
        // the address bar) means none, not the default.
        None if f.0.contains_key("login_tokens") => Vec::new(),
        None => vec![LoginToken::IdToken],
        Some(values) => values
            .iter()
            .enumerate()
            .map(|(i, v)| match v.as_str() {
                "id_token" => Ok(LoginToken::IdToken),
                "access_token" => Ok(LoginToken::AccessToken),
                "refresh_token" => Ok(LoginToken::RefreshToken),
                "tokens" => Ok(LoginToken::Tokens),
                "introspection" => Err(field(
                    &element("login_tokens", i),
                    "'introspection' is not supported by kingress",
                )),
                other => Err(field(&element("login_tokens", i), invalid(other))),
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(LoginConfig {
        redirect_uri,
        response_mode,
        scopes,
        verify_nonce: f.bool_or("verify_nonce", true)?,
        pkce: f.bool_or("require_proof_key_for_code_exchange", true)?,
        query_args,
        query_args_client: f
            .strings("authorization_query_args_client")?
            .unwrap_or_default(),
        cookie: cookie(
            f,
            "authorization_cookie",
            "authorization",
            SameSite::Default,
        )?,
        rolling_timeout: f.uint_or("authorization_rolling_timeout", 600)?,
        action,
        methods: login_methods,
        redirect_to: one_url(f, "login_redirect_uri")?,
        redirect_mode,
        tokens,
        preserve_query_args: f.bool_or("preserve_query_args", false)?,
        token_auth,
        token_args: pairs(f, "token_post_args_names", "token_post_args_values")?,
        token_headers: pairs(f, "token_headers_names", "token_headers_values")?
            .into_iter()
            .map(|(n, v)| {
                let name = http::HeaderName::from_bytes(n.as_bytes()).map_err(|_| {
                    field("token_headers_names", format!("'{n}' is not a header name"))
                })?;
                let value = http::HeaderValue::from_str(&v)
                    .map_err(|_| field("token_headers_values", "not a valid header value"))?;
                Ok((name, value))
            })
            .collect::<Result<_, ConfigError>>()?,
    })
}

/// `names` and `values` zipped; they must have the same length.
fn pairs(f: &Fields<'_>, names: &str, values: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let n = f.strings(names)?.unwrap_or_default();
    let v = f.strings(values)?.unwrap_or_default();
    if n.len() != v.len() {
        return Err(field(
            values,
            format!("must have as many entries as {names}"),
        ));
    }
    Ok(n.into_iter().zip(v).collect())
}

/// The first (only) URL of a Kong URL array; kingress has one client, so
/// more than one is refused.
pub(super) fn one_url(f: &Fields<'_>, key: &str) -> Result<Option<String>, ConfigError> {
    let Some(mut values) = f.strings(key)? else {
        return Ok(None);
    };
    match values.len() {
        0 => Ok(None),
        1 => {
            let v = values.remove(0);
            http_url(key, &v)?;
            Ok(Some(v))
        }
        _ => Err(field(
            key,
            "only one URL is supported (kingress has one client)",
        )),
    }
}
