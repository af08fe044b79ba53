//! The grant-specific part of the token endpoint, and token issuing shared
//! with the implicit grant.

use super::respond::{Failure, store_error};
use super::{pkce, scope};
use crate::model::plugin::Oauth2Config;
use crate::model::{Oauth2Credential, PluginInstance, Sensitive};
use crate::plugins::params::Params;
use crate::plugins::{Exchange, PluginError, Runtime};
use crate::tokens::{IssuedToken, TokenStore, unix_now};
use serde_json::{Map, Value, json};

/// A grant type the plugin accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Grant {
    /// `authorization_code` (always accepted).
    AuthorizationCode,
    /// `refresh_token` (always accepted).
    RefreshToken,
    /// `client_credentials` (`enable_client_credentials`).
    ClientCredentials,
    /// `password` (`enable_password_grant`).
    Password,
}

/// Why a grant did not issue a token.
#[derive(Debug)]
pub(super) enum Refusal {
    /// An OAuth error for the client.
    OAuth(Failure),
    /// Anything else (store down, misconfiguration).
    Plugin(PluginError),
}

impl From<Failure> for Refusal {
    fn from(f: Failure) -> Self {
        Refusal::OAuth(f)
    }
}

impl From<PluginError> for Refusal {
    fn from(e: PluginError) -> Self {
        Refusal::Plugin(e)
    }
}

// === impl Grant ===

impl Grant {
    /// The grant named by `grant_type` if this configuration accepts it.
    pub(super) fn enabled(grant_type: Option<&str>, config: &Oauth2Config) -> Option<Self> {
        match grant_type? {
            "authorization_code" => Some(Grant::AuthorizationCode),
            "refresh_token" => Some(Grant::RefreshToken),
            "client_credentials" if config.enable_client_credentials => {
                Some(Grant::ClientCredentials)
            }
            "password" if config.enable_password_grant => Some(Grant::Password),
            _ => None,
        }
    }
}

/// Runs `grant` for `client` (present for every grant but
/// client_credentials, whose checks already passed).
pub(super) async fn run(
    grant: Grant,
    plugin: &PluginInstance,
    config: &Oauth2Config,
    exchange: &Exchange<'_>,
    runtime: &Runtime,
    params: &Params,
    client: Option<&Oauth2Credential>,
) -> Result<IssuedToken, Refusal> {
    let cx = Cx {
        config,
        runtime,
        params,
        binding: || binding(config, exchange),
    };
    match (grant, client) {
        (Grant::ClientCredentials, client) => cx.client_credentials(client).await,
        (_, None) => Err(Failure::invalid_client(false).into()),
        (Grant::Password, Some(c)) => cx.password(c).await,
        (Grant::AuthorizationCode, Some(c)) => cx.authorization_code(plugin, c).await,
        (Grant::RefreshToken, Some(c)) => cx.refresh(c).await,
    }
}

struct Cx<'a, B> {
    config: &'a Oauth2Config,
    runtime: &'a Runtime,
    params: &'a Params,
    binding: B,
}

impl<B: Fn() -> Result<Option<String>, PluginError>> Cx<'_, B> {
    async fn client_credentials(
        &self,
        client: Option<&Oauth2Credential>,
    ) -> Result<IssuedToken, Refusal> {
        // The provision key is only checked when a user id is being bound.
        if self.params.has("authenticated_userid")
            && !self
                .config
                .provision_key_matches(self.params.string("provision_key"))
        {
            return Err(Failure::bad("invalid_provision_key", "Invalid provision_key").into());
        }
        let Some(client) = client else {
            return Err(Failure::invalid_client(false).into());
        };
        let scope = scope::retrieve(self.params, self.config)?;
        let userid = self
            .params
            .string("authenticated_userid")
            .map(str::to_string);
        let token = new_token(
            &self.runtime.tokens,
            self.config,
            (self.binding)()?,
            &client.id,
            userid,
            scope,
            false,
        );
        self.insert(token).await
    }

    async fn password(&self, client: &Oauth2Credential) -> Result<IssuedToken, Refusal> {
        if !self
            .config
            .provision_key_matches(self.params.string("provision_key"))
        {
            return Err(Failure::bad("invalid_provision_key", "Invalid provision_key").into());
        }
        let Some(userid) = self
            .params
            .string("authenticated_userid")
            .filter(|u| !u.trim().is_empty())
        else {
            return Err(Failure::bad(
                "invalid_authenticated_userid",
                "Missing authenticated_userid parameter",
            )
            .into());
        };
        let scope = scope::retrieve(self.params, self.config)?;
        let token = new_token(
            &self.runtime.tokens,
            self.config,
            (self.binding)()?,
            &client.id,
            Some(userid.to_string()),
            scope,
            true,
        );
        self.insert(token).await
    }

    /// The code is read first and only consumed (atomically) once every
    /// check passed, so a failed attempt does not burn it (as in Kong) and
    /// two concurrent exchanges cannot both win.
    async fn authorization_code(
        &self,
        plugin: &PluginInstance,
        client: &Oauth2Credential,
    ) -> Result<IssuedToken, Refusal> {
        let invalid = || Refusal::OAuth(Failure::invalid_request("Invalid code"));
        let Some(value) = self.params.string("code") else {
            return Err(invalid());
        };
        let binding = (self.binding)()?;
        let code = self.runtime.tokens.code(value).await.map_err(store_error)?;
        let Some(code) = code else {
            return Err(invalid());
        };
        let same_service = self.config.global_credentials || code.service == binding;
        let same_plugin = !self.config.global_credentials || code.plugin_id == plugin.id;
        if !same_service || !same_plugin || code.credential_id != client.id {
            return Err(invalid());
        }
        if pkce::required(
            self.config.pkce,
            client.client_type,
            code.challenge_method.is_some(),
        ) {
            pkce::verify(self.params, &code)?;
        }
        let taken = self
            .runtime
            .tokens
            .take_code(value)
            .await
            .map_err(store_error)?;
        if taken.is_none() {
            return Err(invalid()); // Another exchange consumed it first.
        }
        let token = new_token(
            &self.runtime.tokens,
            self.config,
            binding,
            &client.id,
            code.authenticated_userid,
            code.scope,
            true,
        );
        self.insert(token).await
    }

    /// Rotation (a new pair, the old row deleted) unless
    /// `reuse_refresh_token`, which rewrites the row with a new access
    /// token and keeps the refresh token. Either way the swap is atomic, so
    /// a refresh token is good for exactly one of two concurrent refreshes.
    async fn refresh(&self, client: &Oauth2Credential) -> Result<IssuedToken, Refusal> {
        let invalid = || Refusal::OAuth(Failure::invalid_request("Invalid refresh_token"));
        let Some(value) = self.params.string("refresh_token") else {
            return Err(invalid());
        };
        let binding = (self.binding)()?;
        let old = self
            .runtime
            .tokens
            .token_by_refresh(value)
            .await
            .map_err(store_error)?;
        let Some(old) = old else {
            return Err(invalid());
        };
        if !self.config.global_credentials && old.service != binding {
            return Err(invalid());
        }
        if old.credential_id != client.id {
            return Err(Failure::invalid_client(false).into());
        }
        scope::still_allowed(old.scope.as_deref(), self.config)?;
        let new = if self.config.reuse_refresh_token {
            IssuedToken {
                access_token: Sensitive::new(self.runtime.tokens.fresh_token(&old.credential_id)),
                expires_in: self.config.token_expiration,
                created_at: unix_now(),
                ttl: row_ttl(self.config),
                ..old.clone()
            }
        } else {
            new_token(
                &self.runtime.tokens,
                self.config,
                binding,
                &client.id,
                old.authenticated_userid.clone(),
                old.scope.clone(),
                true,
            )
        };
        let swapped = self
            .runtime
            .tokens
            .replace_token(&old, &new)
            .await
            .map_err(store_error)?;
        if swapped { Ok(new) } else { Err(invalid()) }
    }

    async fn insert(&self, token: IssuedToken) -> Result<IssuedToken, Refusal> {
        self.runtime
            .tokens
            .insert_token(&token)
            .await
            .map_err(store_error)?;
        Ok(token)
    }
}

/// The service new tokens and codes are bound to: `None` with
/// `global_credentials`, else the route's service (Kong binds to the Service
/// entity; a route without one cannot issue non-global tokens).
pub(super) fn binding(
    config: &Oauth2Config,
    exchange: &Exchange<'_>,
) -> Result<Option<String>, PluginError> {
    if config.global_credentials {
        return Ok(None);
    }
    match &exchange.route.service {
        Some(service) => Ok(Some(service.clone())),
        None => Err(PluginError::Internal(
            "the oauth2 plugin needs global_credentials on a route without a service".to_string(),
        )),
    }
}

/// A fresh token row (values from `tokens`, which may need them to fit
/// the credential). Refresh tokens only when asked and tokens expire.
pub(super) fn new_token(
    tokens: &TokenStore,
    config: &Oauth2Config,
    service: Option<String>,
    credential_id: &str,
    authenticated_userid: Option<String>,
    scope: Option<String>,
    with_refresh: bool,
) -> IssuedToken {
    IssuedToken {
        access_token: Sensitive::new(tokens.fresh_token(credential_id)),
        refresh_token: (with_refresh && config.token_expiration > 0)
            .then(|| Sensitive::new(tokens.fresh_token(credential_id))),
        credential_id: credential_id.to_string(),
        service,
        scope,
        authenticated_userid,
        expires_in: config.token_expiration,
        created_at: unix_now(),
        ttl: row_ttl(config),
    }
}

/// Kong's row TTL: `refresh_token_ttl` when tokens expire and it is set.
fn row_ttl(config: &Oauth2Config) -> Option<u64> {
    (config.token_expiration > 0 && config.refresh_token_ttl > 0)
        .then_some(config.refresh_token_ttl)
}

/// The success body: `access_token`, `token_type`, `expires_in` (unless the
/// token never expires), `refresh_token` (when issued), `state` (echoed).
pub(super) fn token_body(token: &IssuedToken, state: Option<&str>) -> Value {
    let mut body = Map::new();
    body.insert("access_token".into(), json!(token.access_token.expose()));
    body.insert("token_type".into(), json!("bearer"));
    if token.expires_in > 0 {
        body.insert("expires_in".into(), json!(token.expires_in));
    }
    if let Some(r) = &token.refresh_token {
        body.insert("refresh_token".into(), json!(r.expose()));
    }
    if let Some(s) = state {
        body.insert("state".into(), json!(s));
    }
    Value::Object(body)
}
