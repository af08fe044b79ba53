//! The logout fields (`logout_*`, `revocation_*`) with Kong 3.x defaults.

use super::fields::{element, invalid};
use super::login::one_url;
use super::read::{Fields, field};
use super::values::ClientAuth;
use crate::model::plugin::ConfigError;
use http::Method;

/// The logout configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct LogoutConfig {
    /// `logout_uri_suffix`: a request path ending with it logs out.
    pub uri_suffix: Option<String>,
    /// `logout_methods` (Kong: POST and DELETE).
    pub methods: Vec<Method>,
    /// `logout_query_arg`: a request with this query argument logs out.
    pub query_arg: Option<String>,
    /// `logout_post_arg`: a request with this form argument logs out.
    pub post_arg: Option<String>,
    /// `logout_revoke`: revoke the session's tokens (RFC 7009).
    pub revoke: bool,
    /// `logout_revoke_access_token`.
    pub revoke_access_token: bool,
    /// `logout_revoke_refresh_token`.
    pub revoke_refresh_token: bool,
    /// `logout_redirect_uri`: where the browser goes afterwards (passed to
    /// the end-session endpoint as `post_logout_redirect_uri`).
    pub redirect_uri: Option<String>,
    /// `revocation_token_param_name` (Kong: `token`).
    pub revocation_token_param_name: String,
    /// `revocation_endpoint_auth_method`; `None`: as `client_auth`.
    pub revocation_auth: Option<ClientAuth>,
}

// === impl LogoutConfig ===

impl LogoutConfig {
    /// Whether any logout trigger is configured.
    pub fn enabled(&self) -> bool {
        self.uri_suffix.is_some() || self.query_arg.is_some() || self.post_arg.is_some()
    }
}

/// Parses the logout fields.
pub(super) fn parse(f: &Fields<'_>) -> Result<LogoutConfig, ConfigError> {
    let methods = match f.strings("logout_methods")? {
        None => vec![Method::DELETE, Method::POST],
        Some(values) => values
            .iter()
            .enumerate()
            .map(|(i, v)| match v.as_str() {
                "GET" => Ok(Method::GET),
                "POST" => Ok(Method::POST),
                "DELETE" => Ok(Method::DELETE),
                other => Err(field(&element("logout_methods", i), invalid(other))),
            })
            .collect::<Result<_, _>>()?,
    };
    let revocation_auth = match f.string("revocation_endpoint_auth_method")? {
        None => None,
        Some(v) => Some(ClientAuth::parse(&v).ok_or_else(|| {
            field(
                "revocation_endpoint_auth_method",
                format!("'{v}' is not supported by kingress"),
            )
        })?),
    };
    Ok(LogoutConfig {
        uri_suffix: f.non_empty("logout_uri_suffix")?,
        methods,
        query_arg: f.non_empty("logout_query_arg")?,
        post_arg: f.non_empty("logout_post_arg")?,
        revoke: f.bool_or("logout_revoke", false)?,
        revoke_access_token: f.bool_or("logout_revoke_access_token", true)?,
        revoke_refresh_token: f.bool_or("logout_revoke_refresh_token", true)?,
        redirect_uri: one_url(f, "logout_redirect_uri")?,
        revocation_token_param_name: f
            .non_empty("revocation_token_param_name")?
            .unwrap_or_else(|| "token".into()),
        revocation_auth,
    })
}
