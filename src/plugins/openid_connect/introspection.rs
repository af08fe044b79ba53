//! `introspection`: RFC 7662 token introspection.
//!
//! POSTs the token (`introspection_token_param_name`, default `token`),
//! `token_type_hint` (`introspection_hint`) and `introspection_post_args_*`
//! with the `introspection_headers_*` to the configured (or discovered)
//! endpoint, with the client authentication of
//! `introspection_endpoint_auth_method`, else `client_auth`.
//! Only `"active": true` (the JSON boolean) is accepted. With
//! `verify_claims`, a returned `exp`/`nbf`/`iat` is checked with leeway.
//! Active results are cached (by digest of the token) until their `exp`,
//! or for a minute when the provider gives none, so that revocation is
//! seen soon, within `cache_ttl_min`/`cache_ttl_max` when set; inactive
//! results are not cached.

use super::cache::token_hash;
use super::claims::check_times;
use super::client_auth::credentials;
use super::discovery::{Want, endpoint};
use super::failure::{Failure, Reason};
use super::{CachedClaims, Ctx, now_unix};
use crate::model::plugin::openid_connect::Endpoint;
use serde_json::Value;
use std::sync::Arc;

/// Cache lifetime of an active result that carries no `exp`.
const NO_EXP_TTL: u64 = 60;

/// Introspects `token`; returns the provider's response.
pub(super) async fn verify(ctx: &Ctx<'_>, token: &str) -> Result<Arc<Value>, Failure> {
    let config = ctx.config;
    let key = token_hash(token);
    let now = now_unix();
    if config.cache_introspection
        && let Some(hit) = ctx.state.introspected.get(&key, now)
        && hit.fits(ctx)
    {
        return Ok(hit.claims);
    }
    // The document is needed for the endpoint, or to pick the client
    // authentication method when none is configured.
    let auth = config.introspection_auth();
    let want_document =
        config.endpoint_override(Endpoint::Introspection).is_none() || auth.is_none();
    let snapshot = if want_document {
        let want = Want {
            document: true,
            keys: false,
        };
        let issuer = ctx.state.issuers.get(config);
        issuer.snapshot(&ctx.state.clients, config, want).await
    } else {
        None
    };
    let document = snapshot.as_ref().and_then(|s| s.document.clone());
    let endpoint = endpoint(config, document.as_deref(), Endpoint::Introspection)
        .ok_or(Reason::IdpUnavailable)?;
    let client = credentials(
        &ctx.state.keys,
        ctx.plugin_id,
        config,
        auth,
        &endpoint,
        document.as_deref(),
    )
    .await?;
    let request = &config.introspection;
    let headers: Vec<_> = request
        .headers
        .iter()
        .chain(&ctx.copies.headers)
        .cloned()
        .collect();
    let mut form = vec![(request.token_param_name.clone(), token.to_string())];
    if let Some(hint) = &request.hint {
        form.push(("token_type_hint".to_string(), hint.clone()));
    }
    form.extend(request.post_args.iter().cloned());
    form.extend(ctx.copies.args.iter().cloned());
    form.extend(client.form.into_iter().map(|(k, v)| (k.to_string(), v)));
    let response = ctx
        .state
        .clients
        .post_form(config, &endpoint, form, &headers, client.basic)
        .await
        .map_err(|e| {
            tracing::warn!(issuer = %config.issuer, error = %e, "introspection failed");
            Reason::IdpUnavailable
        })?;
    let result = response.body;
    if result.get("active") != Some(&Value::Bool(true)) {
        return Err(Reason::Inactive.into());
    }
    let exp = if config.verify_claims {
        check_times(&result, now, config.leeway, false)?
    } else {
        None
    };
    let result = Arc::new(result);
    if config.cache_introspection
        && let Some(shared) = &ctx.shared
    {
        let until = exp.map_or(now + NO_EXP_TTL, |e| e.saturating_add(config.leeway));
        let ttl = std::time::Duration::from_secs(until.saturating_sub(now));
        let until = now + config.provider.bounded(ttl).as_secs();
        let entry = CachedClaims {
            config: shared.clone(),
            claims: result.clone(),
        };
        ctx.state.introspected.insert(key, entry, until, now);
    }
    Ok(result)
}
