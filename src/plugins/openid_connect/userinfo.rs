//! `userinfo` (OpenID Connect Core §5.3): a token is accepted when the
//! provider's userinfo endpoint (`userinfo_endpoint`, else discovered)
//! answers it with a JSON object; that object is the claims the rules,
//! consumer mapping and claim headers read, and what
//! `upstream_user_info_header` sends (base64 of the JSON).
//!
//! The same call serves `search_user_info`: after another method accepted a
//! token, the user info completes its claims (a claim the token carries
//! wins over the user info's).
//!
//! With `cache_user_info` (default on) answers are cached by the token's
//! digest for `cache_ttl` (bounded by `cache_ttl_min`/`cache_ttl_max`), and
//! never past the token's `exp` when the token is a JWT, so a revoked token
//! is not served longer than its lifetime. Refusals (401/403) are not cached.
//! A signed or encrypted (JWT) userinfo response is not supported: it counts
//! as an outage, logged, rather than as unverified claims. A provider
//! without a userinfo endpoint makes the method refuse every token (401,
//! not an outage), so Kong's default method list works with such providers.

use super::cache::token_hash;
use super::discovery::Want;
use super::failure::{Failure, Reason};
use super::fetch::FetchError;
use super::{CachedClaims, Ctx, now_unix};
use crate::model::plugin::openid_connect::Endpoint;
use serde_json::Value;
use std::sync::Arc;

/// The provider's user info for `token`.
pub(super) async fn verify(ctx: &Ctx<'_>, token: &str) -> Result<Arc<Value>, Failure> {
    let config = ctx.config;
    let key = token_hash(token);
    let now = now_unix();
    if config.grants.cache_user_info
        && let Some(hit) = ctx.state.userinfo.get(&key, now)
        && hit.fits(ctx)
    {
        return Ok(hit.claims);
    }
    let endpoint = endpoint(ctx).await?;
    let fetched = ctx
        .state
        .clients
        .get_json_bearer(config, &endpoint, token)
        .await
        .map_err(|e| match e {
            FetchError::Status(401 | 403) => Reason::UserinfoRefused,
            e => {
                tracing::warn!(issuer = %config.issuer, error = %e, "userinfo request failed");
                Reason::IdpUnavailable
            }
        })?;
    let info = Arc::new(fetched.body);
    if config.grants.cache_user_info
        && let Some(shared) = &ctx.shared
    {
        let until = cache_until(config, token, now);
        let entry = CachedClaims {
            config: shared.clone(),
            claims: info.clone(),
        };
        ctx.state.userinfo.insert(key, entry, until, now);
    }
    Ok(info)
}

async fn endpoint(ctx: &Ctx<'_>) -> Result<String, Reason> {
    if let Some(url) = ctx.config.endpoint_override(Endpoint::Userinfo) {
        return Ok(url.to_string());
    }
    let want = Want {
        document: true,
        keys: false,
    };
    let issuer = ctx.state.issuers.get(ctx.config);
    let snapshot = issuer.snapshot(&ctx.state.clients, ctx.config, want).await;
    let document = snapshot
        .and_then(|s| s.document.clone())
        .ok_or(Reason::IdpUnavailable)?;
    document
        .endpoint(Endpoint::Userinfo)
        .map(str::to_string)
        .ok_or_else(|| {
            tracing::debug!(issuer = %ctx.config.issuer, "the provider has no userinfo endpoint");
            Reason::NoUserinfoEndpoint
        })
}

/// `cache_ttl` bounded by `cache_ttl_min`/`_max`, and by the `exp` of a
/// JWT-shaped token (read without verification: it only shortens).
fn cache_until(config: &crate::model::plugin::OidcConfig, token: &str, now: u64) -> u64 {
    let grants = &config.grants;
    let until = now.saturating_add(grants.bounded_ttl(grants.cache_ttl));
    match unverified_exp(token) {
        Some(exp) => until.min(exp),
        None => until,
    }
}

/// The `exp` of a JWT payload, without checking anything.
fn unverified_exp(token: &str) -> Option<u64> {
    super::bearer::unverified_payload(token)?
        .get("exp")?
        .as_u64()
}

/// `search_user_info`: `claims` completed with the user info (the token's
/// own claims win).
pub(super) fn merged(claims: &Value, info: &Value) -> Value {
    let mut out = info.clone();
    if let (Some(out), Some(claims)) = (out.as_object_mut(), claims.as_object()) {
        for (k, v) in claims {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use serde_json::json;

    #[test]
    fn token_claims_win_over_user_info() {
        let m = merged(
            &json!({ "sub": "s", "email": "token@x" }),
            &json!({ "sub": "s", "email": "info@x", "name": "Alice" }),
        );
        assert_eq!(
            m,
            json!({ "sub": "s", "email": "token@x", "name": "Alice" })
        );
    }

    #[test]
    fn exp_of_a_jwt_shortens_the_cache() {
        let b64 =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let jwt = format!(
            "{}.{}.sig",
            b64(&json!({"alg": "RS256"})),
            b64(&json!({"exp": 1000}))
        );
        assert_eq!(unverified_exp(&jwt), Some(1000));
        assert_eq!(unverified_exp("opaque"), None);
    }
}
