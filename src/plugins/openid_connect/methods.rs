//! The token methods (`auth_methods` other than the browser and grant
//! ones) tried in order on a presented token, then what every accepted
//! token goes through: `search_user_info`, `claims_forbidden`, the
//! authorization rules and the consumer mapping.

use super::claims::{self, Claims};
use super::failure::{Failure, Reason};
use super::{Ctx, Verified, bearer, introspection, kong_oauth2, upstream, userinfo};
use crate::model::plugin::OidcConfig;
use crate::model::plugin::openid_connect::AuthMethod;
use crate::model::{Consumer, Table};
use crate::plugins::Runtime;
use std::sync::Arc;

/// Tries the enabled methods in order (see the plugin's module docs).
pub(super) async fn verify(
    ctx: &Ctx<'_>,
    table: &Table,
    service: Option<&str>,
    runtime: &Runtime,
    token: &str,
) -> Result<(Verified, Option<Arc<Consumer>>), Failure> {
    let mut first_reason = None;
    // A method that could not ask its store or provider outranks the
    // others' refusals: the token may be valid, so the answer is a 503.
    let mut outage = None;
    for method in &ctx.config.auth_methods {
        let result = match method {
            // Not token methods (`browser`, `grant`), or refused by the
            // configuration until implemented.
            AuthMethod::Session
            | AuthMethod::RefreshToken
            | AuthMethod::Password
            | AuthMethod::ClientCredentials
            | AuthMethod::AuthorizationCode => continue,
            AuthMethod::Bearer => match bearer::verify(ctx, token).await {
                None => continue,
                // `introspect_jwt_tokens`: a revoked JWT is refused too.
                Some(Ok(claims)) if ctx.config.introspect_jwt_tokens => {
                    introspection::verify(ctx, token)
                        .await
                        .map(|result| Verified {
                            claims: claims.into(),
                            introspection: Some(result),
                            user_info: None,
                            tokens: None,
                        })
                }
                Some(other) => other.map(|claims| Verified {
                    claims: claims.into(),
                    introspection: None,
                    user_info: None,
                    tokens: None,
                }),
            },
            AuthMethod::KongOauth2 => kong_oauth2::verify(table, service, runtime, token)
                .await
                .map(|identity| Verified {
                    claims: Claims::of_oauth2_row(identity),
                    introspection: None,
                    user_info: None,
                    tokens: None,
                })
                .map_err(Failure::from),
            AuthMethod::Introspection => {
                introspection::verify(ctx, token)
                    .await
                    .map(|result| Verified {
                        claims: Arc::clone(&result).into(),
                        introspection: Some(result),
                        user_info: None,
                        tokens: None,
                    })
            }
            AuthMethod::Userinfo => userinfo::verify(ctx, token).await.map(|info| Verified {
                claims: Arc::clone(&info).into(),
                introspection: None,
                user_info: Some(info),
                tokens: None,
            }),
        };
        match result {
            Ok(verified) => {
                let verified = if needs_user_info(ctx.config, &verified) {
                    // Boxed: only with `search_user_info` (see
                    // `plugins::access`).
                    Box::pin(search_user_info(ctx, token, verified)).await
                } else {
                    verified
                };
                return authorize(ctx.config, table, verified);
            }
            Err(Failure::Unauthorized(reason)) => {
                tracing::debug!(method = method.as_str(), %reason, "method did not accept the token");
                if reason.is_outage() {
                    outage.get_or_insert(reason);
                } else {
                    first_reason.get_or_insert(reason);
                }
            }
            Err(forbidden) => return Err(forbidden),
        }
    }
    Err(Failure::Unauthorized(
        outage.or(first_reason).unwrap_or(Reason::Unknown),
    ))
}

/// Whether [`search_user_info`] has anything to do: asked first, so that
/// the common case does not make (and poll) its future.
pub(super) fn needs_user_info(config: &OidcConfig, verified: &Verified) -> bool {
    config.grants.search_user_info && verified.user_info.is_none()
}

/// `search_user_info`: completes the claims of a token another method
/// accepted with the provider's user info (when [`needs_user_info`]).
/// Without an answer (refused, or the provider down) the token's own claims
/// stand: the token itself was accepted.
pub(super) async fn search_user_info(ctx: &Ctx<'_>, token: &str, verified: Verified) -> Verified {
    match userinfo::verify(ctx, token).await {
        Ok(info) => Verified {
            claims: userinfo::merged(&verified.claims, &info).into(),
            user_info: Some(info),
            ..verified
        },
        Err(failure) => {
            tracing::debug!(?failure, "search_user_info: no user info");
            verified
        }
    }
}

/// `claims_forbidden` (401: the token is not acceptable at all), then the
/// authorization rules and the consumer mapping (both 403).
pub(super) fn authorize(
    config: &OidcConfig,
    table: &Table,
    verified: Verified,
) -> Result<(Verified, Option<Arc<Consumer>>), Failure> {
    if config
        .claims_forbidden
        .iter()
        .any(|c| verified.claims.get(c).is_some_and(|v| !v.is_null()))
    {
        return Err(Failure::Unauthorized(Reason::ForbiddenClaim));
    }
    claims::authorize(config, &verified.claims).map_err(Failure::Forbidden)?;
    if verified.claims.oauth2_row().is_some() {
        return Ok((verified, None));
    }
    let consumer = upstream::map_consumer(config, table, &verified.claims)
        .map_err(Failure::Forbidden)?
        .cloned();
    Ok((verified, consumer))
}
