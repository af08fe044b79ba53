//! ID token validation (OpenID Connect Core §3.1.3.7): the JWS checks of
//! `bearer` (signature with the issuer's keys, the algorithm allow-list,
//! `exp` required, `nbf`/`iat` with leeway, `iss`), then `aud` must name
//! `client_id` (and `azp`, when present, must be it), and with
//! `verify_nonce` the `nonce` must be the one this login sent.

use super::Ctx;
use super::bearer;
use super::failure::{Failure, Reason};
use super::token_endpoint::TokenResponse;
use serde_json::Value;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Validates `token`; `nonce` is the login's (`None` after a refresh,
/// where the provider may repeat the original one).
pub(super) async fn verify(
    ctx: &Ctx<'_>,
    token: &str,
    nonce: Option<&str>,
) -> Result<Arc<Value>, Failure> {
    let claims = bearer::verify(ctx, token)
        .await
        .unwrap_or(Err(Reason::Malformed.into()))?;
    let client_id = ctx.config.client_id.as_deref().unwrap_or_default();
    let audience_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == client_id,
        Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(client_id)),
        _ => false,
    };
    let azp_ok = claims
        .get("azp")
        .is_none_or(|azp| azp.as_str() == Some(client_id));
    if client_id.is_empty() || !audience_ok || !azp_ok {
        return Err(Reason::IdTokenAudience.into());
    }
    if let Some(expected) = nonce
        && ctx.config.login.verify_nonce
    {
        let got = claims.get("nonce").and_then(Value::as_str).unwrap_or("");
        if !bool::from(got.as_bytes().ct_eq(expected.as_bytes())) {
            return Err(Reason::Nonce.into());
        }
    }
    Ok(claims)
}

/// The claims a token response authenticates: the access token's when it
/// is a JWT that verifies (its `scope`, `aud`… are what API rules are
/// about), else the ID token's. The ID token, when present, must validate
/// either way; it must be present when `openid` was asked for.
pub(super) async fn claims_of(
    ctx: &Ctx<'_>,
    tokens: &TokenResponse,
    nonce: Option<&str>,
) -> Result<Arc<Value>, Failure> {
    let id_claims = match &tokens.id_token {
        Some(t) => Some(verify(ctx, t.expose(), nonce).await?),
        None if ctx.config.login.scopes.iter().any(|s| s == "openid") => {
            return Err(Reason::NoIdToken.into());
        }
        None => None,
    };
    let access = tokens.access_token.expose();
    let access_claims = bearer::verify(ctx, access).await.and_then(Result::ok);
    access_claims
        .or(id_claims)
        .ok_or_else(|| Reason::NoIdToken.into())
}
