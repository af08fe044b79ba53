//! Where the browser methods meet a request, in Kong's order around the
//! token methods (`bearer`, `kong_oauth2`, `introspection`):
//!
//! - before them: a logout request (`logout`), a login callback
//!   (`login`), then a session cookie (`session`: used, renewed, its
//!   access token refreshed when due);
//! - after them, when no token authenticated the request: a presented
//!   refresh token (`refresh_token`), then the login redirect
//!   (`authorization_code`).
//!
//! A 401 or 403 ends the request's session (Kong's
//! `unauthorized_destroy_session` and `forbidden_destroy_session`, both on
//! by default).

use super::failure::{Failure, Reason};
use super::seal::Sealing;
use super::session::{Invalid, Keys, Loaded, Record, Sessions};
use super::token_endpoint::TokenResponse;
use super::token_location::{find_param, hide};
use super::{Ctx, Verified, authorize, cookie, id_token, login, logout, refresh, upstream};
use crate::model::Sensitive;
use crate::model::plugin::openid_connect::AuthMethod;
use crate::plugins::{Access, Exchange, PluginError, Runtime};
use http::header::SET_COOKIE;

/// What one request's browser steps share.
pub(super) struct Browser {
    /// Looked up on first use: most requests of most plugins never seal.
    sealing: std::sync::OnceLock<std::sync::Arc<Sealing>>,
    https: bool,
    now: u64,
}

/// The outcome of a step: answered (or refused), or on to the next one.
pub(super) type Step = Option<Result<Access, Failure>>;

// === impl Browser ===

impl Browser {
    /// The request's sealing keys, scheme and time.
    pub(super) fn new(exchange: &Exchange<'_>, runtime: &Runtime) -> Self {
        Browser {
            sealing: std::sync::OnceLock::new(),
            https: login::https(exchange, &runtime.trusted_ips),
            now: super::now_unix(),
        }
    }

    /// The plugin's sealing keys (looked up once per request, if at all).
    pub(super) fn sealing(&self, ctx: &Ctx<'_>) -> &Sealing {
        self.sealing.get_or_init(|| {
            let session = &ctx.config.session;
            if session.secrets.is_empty() {
                ctx.state.warn_no_secret(ctx.plugin_id);
            }
            let derive = || {
                Sealing::new(
                    &session.secrets,
                    &ctx.state.fallback_secret,
                    &session.audience,
                )
            };
            match &ctx.shared {
                Some(config) => ctx.state.sealings.get(ctx.plugin_id, config, derive),
                None => std::sync::Arc::new(derive()),
            }
        })
    }

    fn sessions<'a>(&'a self, ctx: &'a Ctx<'_>) -> Sessions<'a> {
        Sessions {
            config: &ctx.config.session,
            plugin: ctx.shared.as_ref(),
            sealing: Keys::Lazy(self, ctx),
            stores: &ctx.state.sessions,
            opened: &ctx.state.opened,
        }
    }

    /// The sessions a login by `method` creates, if any.
    fn creates<'a>(&'a self, ctx: &'a Ctx<'_>, method: AuthMethod) -> Option<Sessions<'a>> {
        let config = ctx.config;
        let disabled = config.session.disable.iter().any(|m| m == method.as_str());
        (config.enabled(AuthMethod::Session) && !disabled).then(|| self.sessions(ctx))
    }

    /// Logout, login callback, session.
    pub(super) async fn before(
        &self,
        ctx: &Ctx<'_>,
        exchange: &mut Exchange<'_>,
    ) -> Result<Step, PluginError> {
        let config = ctx.config;
        if logout::requested(ctx, exchange).await? {
            let sessions = self.sessions(ctx);
            // Boxed, as the login below: paths few requests take (see
            // `plugins::access`).
            return Ok(Some(
                Box::pin(logout::run(ctx, &sessions, exchange, self.https, self.now)).await,
            ));
        }
        if config.enabled(AuthMethod::AuthorizationCode)
            && let Some(callback) = login::Callback::detect(ctx, exchange).await?
        {
            let sessions = self.creates(ctx, AuthMethod::AuthorizationCode);
            let done = Box::pin(login::finish(
                ctx,
                self.sealing(ctx),
                sessions.as_ref(),
                exchange,
                callback,
                self.https,
                self.now,
            ))
            .await;
            return Ok(Some(done));
        }
        if !config.enabled(AuthMethod::Session) {
            return Ok(None);
        }
        let sessions = self.sessions(ctx);
        match sessions.load(exchange.headers(), self.now).await {
            Ok(loaded) => Ok(self
                .use_session(ctx, &sessions, exchange, loaded)
                .await
                .transpose()),
            Err(Invalid::Missing) => Ok(None),
            Err(Invalid::Expired) => {
                self.drop_cookie(ctx, exchange);
                Ok(None)
            }
            Err(Invalid::Unavailable) => Ok(Some(Err(Reason::StoreUnavailable.into()))),
        }
    }

    /// A valid session authenticates the request; its access token is
    /// refreshed when due, and the cookie rewritten when renewed. `None`:
    /// the provider refused the refresh, the session is over.
    async fn use_session(
        &self,
        ctx: &Ctx<'_>,
        sessions: &Sessions<'_>,
        exchange: &mut Exchange<'_>,
        loaded: Loaded,
    ) -> Result<Option<Access>, Failure> {
        let Loaded {
            mut record,
            mut dirty,
            present,
            others,
        } = loaded;
        if ctx.config.session.refresh_tokens && refresh::due(&record, self.now) {
            // Boxed: a refresh is due once per token lifetime (see
            // `plugins::access`).
            match Box::pin(refresh::session(ctx, &ctx.state.flights, &record, self.now)).await {
                Ok(tokens) => {
                    let claims = id_token::claims_of(ctx, &tokens, None).await?;
                    let record = std::sync::Arc::make_mut(&mut record);
                    record.claims = claims;
                    record.refreshed(&tokens);
                    dirty = true;
                }
                // Still valid: keep using it until the provider is back.
                Err(reason) if reason.is_outage() && record.expires_at > Some(self.now) => {}
                Err(reason) if reason.is_outage() => return Err(reason.into()),
                Err(_) => {
                    for line in sessions.destroy(Some(&record), self.https, present).await {
                        exchange.response_headers.append(SET_COOKIE, line);
                    }
                    return Ok(None);
                }
            }
        }
        if dirty {
            std::sync::Arc::make_mut(&mut record).renew(sessions.config, self.now);
            let lines = sessions
                .save(&record, self.https, present, self.now)
                .await
                .map_err(|_| Reason::StoreUnavailable)?;
            for line in lines {
                exchange.response_headers.append(SET_COOKIE, line);
            }
        }
        let verified = Verified {
            claims: record.claims.clone().into(),
            introspection: None,
            user_info: None,
            tokens: None,
        };
        let (verified, consumer) = authorize(ctx.config, exchange.table, verified)?;
        // Kong's `clear_request_cookie`: the session is the proxy's, the
        // upstream gets its tokens and claims in headers instead.
        cookie::remove_scanned(
            exchange.request.headers_mut(),
            &sessions.config.cookie.name,
            others,
        );
        let headers = record.headers.get_or_init(|| {
            upstream::Headers::new(
                ctx.config,
                &verified,
                &record.access_token,
                Some(&record.sid),
                None,
            )
        });
        upstream::apply_with(ctx.config, exchange, &verified, consumer, headers);
        Ok(Some(Access::Continue))
    }

    /// After the token methods refused (or found nothing): the
    /// `refresh_token` method, then the login redirect.
    pub(super) async fn after(
        &self,
        ctx: &Ctx<'_>,
        exchange: &mut Exchange<'_>,
        failure: Failure,
        token_found: bool,
    ) -> Result<Result<Access, Failure>, PluginError> {
        let config = ctx.config;
        let Failure::Unauthorized(reason) = failure else {
            return Ok(Err(failure));
        };
        if reason.is_outage() {
            return Ok(Err(failure));
        }
        if !token_found && config.enabled(AuthMethod::RefreshToken) {
            let session = &config.session;
            if let Some(found) = find_param(
                exchange,
                &session.refresh_param_name,
                &session.refresh_param_type,
            )
            .await?
            {
                if config.hide_credentials {
                    hide(exchange, &found.place).await?;
                }
                // Boxed, as the login below (see `plugins::access`).
                return Ok(Box::pin(self.refresh_token(ctx, exchange, found.token)).await);
            }
        }
        if config.enabled(AuthMethod::AuthorizationCode) && config.anonymous.is_none() {
            let sealing = self.sealing(ctx);
            return Ok(Box::pin(login::start(ctx, sealing, exchange, self.https, self.now)).await);
        }
        Ok(Err(failure))
    }

    /// The `refresh_token` method: the presented token is exchanged; the
    /// new access token is what the upstream receives.
    async fn refresh_token(
        &self,
        ctx: &Ctx<'_>,
        exchange: &mut Exchange<'_>,
        token: String,
    ) -> Result<Access, Failure> {
        let tokens = refresh::exchange(ctx, Sensitive::new(token)).await?;
        let claims = id_token::claims_of(ctx, &tokens, None).await?;
        self.grant_done(ctx, exchange, AuthMethod::RefreshToken, &tokens, claims)
            .await
    }

    /// Authorizes a grant's result, starts a session if configured, and
    /// sends the new access token upstream.
    async fn grant_done(
        &self,
        ctx: &Ctx<'_>,
        exchange: &mut Exchange<'_>,
        method: AuthMethod,
        tokens: &TokenResponse,
        claims: std::sync::Arc<serde_json::Value>,
    ) -> Result<Access, Failure> {
        let verified = Verified {
            claims: claims.into(),
            introspection: None,
            user_info: None,
            tokens: None,
        };
        let (verified, consumer) = authorize(ctx.config, exchange.table, verified)?;
        let mut session_id = None;
        if let Some(sessions) = self.creates(ctx, method) {
            let record = Record::new(method.as_str(), tokens, verified.claims.shared(), self.now);
            let present = cookie::chunks_present(exchange.headers(), &sessions.config.cookie.name);
            let lines = sessions
                .save(&record, self.https, present, self.now)
                .await
                .map_err(|_| Reason::StoreUnavailable)?;
            for line in lines {
                exchange.response_headers.append(SET_COOKIE, line);
            }
            session_id = Some(record.sid);
        }
        upstream::apply(
            ctx.config,
            exchange,
            &verified,
            consumer,
            tokens.access_token.expose(),
            session_id.as_deref(),
            None,
        );
        Ok(Access::Continue)
    }

    /// A refused request ends its session when Kong's
    /// `*_destroy_session` says so (the cookie is expired; a server-side
    /// record is deleted).
    pub(super) async fn on_refusal(
        &self,
        ctx: &Ctx<'_>,
        exchange: &mut Exchange<'_>,
        failure: &Failure,
    ) {
        let session = &ctx.config.session;
        let destroy = match failure {
            Failure::Unauthorized(reason) => !reason.is_outage() && session.unauthorized_destroy,
            Failure::Forbidden(_) => session.forbidden_destroy,
        };
        if !destroy || !ctx.config.enabled(AuthMethod::Session) {
            return;
        }
        let present = cookie::chunks_present(exchange.headers(), &session.cookie.name);
        if present == 0 {
            return;
        }
        let sessions = self.sessions(ctx);
        let record = sessions
            .load(exchange.headers(), self.now)
            .await
            .ok()
            .map(|l| l.record);
        for line in sessions
            .destroy(record.as_deref(), self.https, present)
            .await
        {
            // Not twice: a step may have expired it already.
            if !exchange
                .response_headers
                .get_all(&SET_COOKIE)
                .any(|l| l == line)
            {
                exchange.response_headers.append(SET_COOKIE, line);
            }
        }
    }

    /// Expires the request's session cookie, if it has one.
    fn drop_cookie(&self, ctx: &Ctx<'_>, exchange: &mut Exchange<'_>) {
        let cookie = &ctx.config.session.cookie;
        let present = cookie::chunks_present(exchange.headers(), &cookie.name);
        if present > 0 {
            for line in cookie::expire(cookie, self.https, present) {
                exchange.response_headers.append(SET_COOKIE, line);
            }
        }
    }
}
