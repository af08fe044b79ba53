//! The `password` and `client_credentials` methods: what the client
//! presents (see `credentials`) is exchanged at the identity provider's
//! token endpoint — the user's name and password with the plugin's own
//! client authentication, or the client's id and secret as the client
//! authentication itself — and the provider's access token is what the
//! upstream receives.
//!
//! With `cache_tokens` (default on) the token response is kept until the
//! access token expires (`expires_in`, bounded by `cache_ttl_min` /
//! `cache_ttl_max`; `cache_ttl` when the provider gives none; never past the
//! token's own expiry minus a small margin), so a client calling with the
//! same credentials costs one token request per token lifetime. The cache
//! key is an HMAC-SHA256, under a key drawn at process start, of everything
//! the answer depends on (method, issuer, client, name, secret, scope,
//! `cache_tokens_salt`): neither a secret nor an unkeyed hash of one is
//! ever kept. A refused grant (wrong password or secret) is not cached.
//!
//! The obtained access token is then verified like a `bearer` token when it
//! is a JWT (signature, issuer, expiry: it is what the authorization rules
//! and claim headers read), or taken as is with no claims when opaque: it
//! came straight from the token endpoint.

mod credentials;

pub(super) use credentials::{Presented, hide};

use super::cache::TokenHash;
use super::failure::Failure;
use super::token_endpoint::{Grant, TokenRequest, TokenResponse};
use super::{Ctx, bearer, now_unix};
use super::{Verified, authorize, needs_user_info, refuse, search_user_info};
use crate::model::PluginInstance;
use crate::model::plugin::OidcConfig;
use crate::model::plugin::openid_connect::AuthMethod;
use crate::plugins::{Access, Runtime};
use crate::plugins::{Exchange, PluginError};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::sync::Arc;

/// A cached token response lives at most until this many seconds before
/// the access token expires, so the upstream never gets one about to lapse.
const EXPIRY_MARGIN: u64 = 5;

/// A token response kept for the credentials that obtained it, bound to
/// the configuration it was obtained under (as `CachedClaims`).
#[derive(Clone)]
pub(super) struct CachedTokens {
    config: Arc<OidcConfig>,
    tokens: TokenResponse,
}

/// Keys the token cache: HMAC-SHA256 under a per-process random key.
pub(super) struct CacheKeys {
    key: [u8; 32],
}

// === impl CacheKeys ===

impl CacheKeys {
    /// A fresh random key.
    pub(super) fn new() -> Self {
        Self {
            key: rand::random(),
        }
    }

    /// The cache key of one set of presented credentials under `config`.
    fn of(&self, config: &OidcConfig, presented: &Presented, scope: Option<&str>) -> TokenHash {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            // HMAC takes keys of any length; this cannot happen.
            return [0; 32];
        };
        let client = match presented.method {
            AuthMethod::Password => config.client_id.as_deref().unwrap_or_default(),
            _ => presented.name.as_str(),
        };
        // Length-prefixed, so no two different tuples hash alike.
        let scope = if config.grants.token_cache_key_include_scope {
            scope.unwrap_or_default()
        } else {
            ""
        };
        for part in [
            presented.method.as_str(),
            config.issuer.as_str(),
            client,
            presented.name.as_str(),
            presented.secret.expose(),
            scope,
            salt(config),
        ] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }
}

impl Default for CacheKeys {
    fn default() -> Self {
        Self::new()
    }
}

/// `cache_tokens_salt`.
fn salt(config: &OidcConfig) -> &str {
    config
        .grants
        .cache_tokens_salt
        .as_ref()
        .map_or("", |s| s.expose())
}

/// The credentials of the first enabled grant method the request carries:
/// `password` before `client_credentials`, as in Kong.
pub(super) async fn find(
    config: &OidcConfig,
    exchange: &mut Exchange<'_>,
) -> Result<Option<Presented>, PluginError> {
    for (method, places) in [
        (AuthMethod::Password, &config.grants.password_param_type),
        (
            AuthMethod::ClientCredentials,
            &config.grants.client_credentials_param_type,
        ),
    ] {
        if config.enabled(method)
            && let Some(presented) = credentials::find(method, places, exchange).await?
        {
            return Ok(Some(presented));
        }
    }
    Ok(None)
}

/// The tokens for `presented`: from the cache, else from the token
/// endpoint (then cached). A refusal is a 401, an outage a 503.
pub(super) async fn tokens(ctx: &Ctx<'_>, presented: &Presented) -> Result<TokenResponse, Failure> {
    let config = ctx.config;
    let scope = scope(config);
    let key = ctx.state.grant_keys.of(config, presented, scope.as_deref());
    let now = now_unix();
    if cache_tokens(config)
        && let Some(hit) = ctx.state.grants.get(&key, now)
        && ctx
            .shared
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, &hit.config) || **c == *hit.config)
    {
        return Ok(hit.tokens);
    }
    let (grant, client) = match presented.method {
        AuthMethod::Password => (
            Grant::Password {
                username: presented.name.clone(),
                password: presented.secret.clone(),
            },
            None,
        ),
        _ => (
            Grant::ClientCredentials,
            Some((presented.name.clone(), presented.secret.clone())),
        ),
    };
    let request = TokenRequest {
        grant,
        scope,
        presented: client,
        args: Vec::new(),
        headers: Vec::new(),
    };
    let tokens = super::token_endpoint::request(ctx, request)
        .await
        .map_err(Failure::Unauthorized)?;
    if cache_tokens(config)
        && let Some(shared) = &ctx.shared
        && let Some(until) = cache_until(config, &tokens)
    {
        let entry = CachedTokens {
            config: shared.clone(),
            tokens: tokens.clone(),
        };
        ctx.state.grants.insert(key, entry, until, now);
    }
    Ok(tokens)
}

fn cache_tokens(config: &OidcConfig) -> bool {
    config.grants.cache_tokens
}

fn scope(config: &OidcConfig) -> Option<String> {
    config.grants.scope.clone()
}

/// Until when a response may be served from the cache (Unix seconds), or
/// `None` when it must not be cached at all.
fn cache_until(config: &OidcConfig, tokens: &TokenResponse) -> Option<u64> {
    let grants = &config.grants;
    let ttl = grants.bounded_ttl(tokens.expires_in.unwrap_or(grants.cache_ttl));
    let mut until = tokens.received_at.saturating_add(ttl);
    // The token's own lifetime outranks `cache_ttl_min`.
    if let Some(expires_at) = tokens.expires_at() {
        until = until.min(expires_at.saturating_sub(EXPIRY_MARGIN));
    }
    (until > tokens.received_at).then_some(until)
}

/// The claims of an obtained access token: verified like a `bearer` token
/// when it is a JWT, none when it is opaque.
pub(super) async fn claims(ctx: &Ctx<'_>, tokens: &TokenResponse) -> Result<Arc<Value>, Failure> {
    let token = tokens.access_token.expose();
    match bearer::verify(ctx, token).await {
        Some(verified) => verified,
        None => Ok(Arc::new(Value::Object(Default::default()))),
    }
}

/// `password` / `client_credentials`: the presented credentials are
/// exchanged for tokens (see `grant`); the provider's access token is then
/// what the rules, the consumer mapping and the upstream see.
pub(super) async fn exchange(
    plugin: &PluginInstance,
    config: &Arc<OidcConfig>,
    exchange: &mut Exchange<'_>,
    runtime: &Runtime,
    presented: Presented,
) -> Result<Access, PluginError> {
    // Read before the credentials are hidden, as on the token path.
    let copies = super::client_copies::collect(config, exchange).await?;
    if config.hide_credentials {
        hide(exchange, &presented).await?;
    }
    let ctx = Ctx {
        state: &runtime.oidc.inner,
        plugin_id: &plugin.id,
        config,
        shared: Some(Arc::clone(config)),
        copies,
    };
    let obtained = match tokens(&ctx, &presented).await {
        Ok(tokens) => tokens,
        Err(failure) => return refuse(&plugin.id, config, exchange, failure),
    };
    let token = obtained.access_token.expose();
    let verified = match claims(&ctx, &obtained).await {
        Ok(claims) => Verified {
            claims: claims.into(),
            introspection: None,
            user_info: None,
            tokens: Some(obtained.clone()),
        },
        Err(failure) => return refuse(&plugin.id, config, exchange, failure),
    };
    let verified = if needs_user_info(config, &verified) {
        // Boxed, as in `methods::verify`.
        Box::pin(search_user_info(&ctx, token, verified)).await
    } else {
        verified
    };
    match authorize(config, exchange.table, verified) {
        Ok((verified, consumer)) => {
            super::upstream::apply(config, exchange, &verified, consumer, token, None, None);
            Ok(Access::Continue)
        }
        Err(failure) => refuse(&plugin.id, config, exchange, failure),
    }
}

#[cfg(test)]
mod tests {
    use super::credentials::Place;
    use super::*;
    use crate::model::Sensitive;
    use serde_json::json;

    fn config(extra: serde_json::Value) -> OidcConfig {
        let mut c = json!({ "issuer": "https://idp.test/realm", "client_id": "web" });
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        OidcConfig::parse(&c).unwrap()
    }

    fn presented(method: AuthMethod, name: &str, secret: &str) -> Presented {
        Presented {
            method,
            name: name.into(),
            secret: Sensitive::new(secret),
            place: Place::Header,
        }
    }

    fn response(expires_in: Option<u64>) -> TokenResponse {
        TokenResponse {
            access_token: Sensitive::new("at"),
            token_type: "Bearer".into(),
            expires_in,
            refresh_token: None,
            id_token: None,
            scope: None,
            received_at: 1000,
        }
    }

    #[test]
    fn the_cache_key_depends_on_every_input_and_is_keyed() {
        let keys = CacheKeys::new();
        let c = config(json!({}));
        let cc = presented(AuthMethod::ClientCredentials, "svc", "s3cret");
        let base = keys.of(&c, &cc, None);
        assert_eq!(base, keys.of(&c, &cc, None), "stable");
        let other_secret = presented(AuthMethod::ClientCredentials, "svc", "s3cre");
        assert_ne!(base, keys.of(&c, &other_secret, None));
        let as_password = presented(AuthMethod::Password, "svc", "s3cret");
        assert_ne!(base, keys.of(&c, &as_password, None));
        // The boundary between name and secret is part of the key.
        let shifted = presented(AuthMethod::ClientCredentials, "svcs", "3cret");
        assert_ne!(base, keys.of(&c, &shifted, None));
        let salted = config(json!({ "cache_tokens_salt": "pepper" }));
        assert_ne!(base, keys.of(&salted, &cc, None));
        // The scope counts only with token_cache_key_include_scope.
        assert_eq!(base, keys.of(&c, &cc, Some("openid")));
        let scoped = config(json!({ "token_cache_key_include_scope": true }));
        assert_ne!(
            keys.of(&scoped, &cc, None),
            keys.of(&scoped, &cc, Some("openid"))
        );
        // Another process (another random key) derives other keys, and no
        // key is the plain digest of the secret.
        assert_ne!(base, CacheKeys::new().of(&c, &cc, None));
        assert_ne!(base, super::super::cache::token_hash("s3cret"));
    }

    #[test]
    fn cache_lifetime_follows_expires_in_within_the_bounds() {
        let c = config(json!({}));
        // expires_in, minus the margin.
        assert_eq!(cache_until(&c, &response(Some(300))), Some(1295));
        // No expires_in: cache_ttl.
        assert_eq!(cache_until(&c, &response(None)), Some(4600));
        let bounded = config(json!({ "cache_ttl_max": 60, "cache_ttl_min": 10 }));
        assert_eq!(cache_until(&bounded, &response(Some(300))), Some(1060));
        // cache_ttl_min never keeps a token past its own expiry.
        assert_eq!(cache_until(&bounded, &response(Some(8))), Some(1003));
        // A token that expires within the margin is not cached at all.
        assert_eq!(cache_until(&c, &response(Some(5))), None);
    }

    #[test]
    fn presented_credentials_never_print_the_secret() {
        let p = presented(AuthMethod::Password, "alice", "hunter2-password");
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
