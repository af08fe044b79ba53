//! Kong's `openid-connect` plugin, verification side: `bearer` (JWS access
//! tokens checked with the issuer's keys), `kong_oauth2` (tokens of our own
//! `oauth2` plugin) and `introspection` (RFC 7662).
//!
//! Per request: clear client copies of our headers; find the token
//! (`token_location`); hide it if asked; try the enabled methods in Kong's
//! order (bearer only for JWT-shaped tokens). The first method that accepts
//! the token decides: its claims must pass the authorization rules and the
//! consumer mapping (else 403, no further method is tried, since the token
//! is known); a method that cannot accept the token passes to the next.
//! When none accepts it the answer is 401 with the first method's reason,
//! or the `anonymous` consumer when configured.
//!
//! The identity provider is contacted only when a method needs it, and
//! every answer is cached (see `discovery`, `cache`). Any provider failure
//! fails closed with 401 unless cached data is enough; no 5xx carries
//! internals.

mod bearer;
mod browser;
mod cache;
mod claims;
mod client_auth;
mod client_copies;
mod cookie;
mod discovery;
mod failure;
mod fetch;
#[doc(hidden)]
pub mod fuzz;
mod grant;
mod id_token;
mod introspection;
mod jwks;
mod kong_oauth2;
mod login;
mod logout;
mod methods;
mod refresh;
mod seal;
mod session;
mod signing_key;
mod token_endpoint;
mod token_location;
mod upstream;
mod userinfo;

use super::{Access, Exchange, Phases, PluginError, Runtime, consumer};
use crate::model::PluginInstance;
use crate::model::plugin::OidcConfig;
use cache::TokenCache;
use failure::{Failure, Reason};
use methods::{authorize, needs_user_info, search_user_info};
use serde_json::Value;
use std::sync::Arc;

/// Verified JWTs and introspection results kept, each.
const CACHE_ENTRIES: usize = 10_000;

/// Process-wide openid-connect state: the identity-provider HTTP clients,
/// discovery/JWKS per issuer, the verified-token and introspection caches,
/// and generated client keys. Cheap to clone (shared).
#[derive(Clone)]
pub struct State {
    inner: Arc<Inner>,
}

struct Inner {
    clients: fetch::Clients,
    issuers: discovery::Issuers,
    verified: TokenCache<CachedClaims>,
    introspected: TokenCache<CachedClaims>,
    /// Userinfo answers, by token hash.
    userinfo: TokenCache<CachedClaims>,
    /// Token responses of `password`/`client_credentials`, by keyed digest.
    grants: TokenCache<grant::CachedTokens>,
    grant_keys: grant::CacheKeys,
    keys: client_auth::Keys,
    /// Server-side session stores (Redis connectors).
    sessions: session::Stores,
    /// Session refreshes in flight.
    flights: refresh::Flights,
    /// Each plugin's session sealing keys.
    sealings: seal::Sealings,
    /// Sessions opened recently.
    opened: session::Opened,
    /// The per-process session secret of plugins without `session_secret`.
    fallback_secret: [u8; 32],
    /// Plugins already warned about a missing `session_secret`.
    warned: parking_lot::Mutex<std::collections::HashSet<String>>,
}

/// A cached verification result and the configuration it was made under:
/// a hit only counts for an equal configuration (holding the `Arc` keeps
/// the pointer from being reused, so pointer equality is exact).
#[derive(Clone)]
struct CachedClaims {
    config: Arc<OidcConfig>,
    claims: Arc<Value>,
}

/// What one request's verification works with.
struct Ctx<'a> {
    state: &'a Inner,
    plugin_id: &'a str,
    config: &'a OidcConfig,
    /// The plugin's shared config, used to bind cache entries to it.
    shared: Option<Arc<OidcConfig>>,
    /// What the introspection request copies from the client's request.
    copies: client_copies::ClientCopies,
}

/// A token some method accepted.
struct Verified {
    /// Claims the rules and claim headers read.
    claims: claims::Claims,
    /// The raw introspection response, for `upstream_introspection_header`.
    introspection: Option<Arc<Value>>,
    /// The userinfo answer (`userinfo`, `search_user_info`).
    user_info: Option<Arc<Value>>,
    /// The token response of `password` / `client_credentials` (its ID and
    /// refresh tokens, for the token headers).
    tokens: Option<token_endpoint::TokenResponse>,
}

// === impl State ===

impl State {
    /// Empty state; nothing is fetched or generated until needed.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                clients: fetch::Clients::default(),
                issuers: discovery::Issuers::default(),
                verified: TokenCache::new(CACHE_ENTRIES),
                introspected: TokenCache::new(CACHE_ENTRIES),
                userinfo: TokenCache::new(CACHE_ENTRIES),
                grants: TokenCache::new(CACHE_ENTRIES),
                grant_keys: grant::CacheKeys::new(),
                keys: client_auth::Keys::default(),
                sessions: session::Stores::default(),
                flights: refresh::Flights::default(),
                sealings: seal::Sealings::default(),
                opened: TokenCache::new(session::OPENED_ENTRIES),
                fallback_secret: {
                    let mut secret = [0u8; 32];
                    rand::Rng::fill(&mut rand::rng(), &mut secret);
                    secret
                },
                warned: parking_lot::Mutex::new(std::collections::HashSet::new()),
            }),
        }
    }

    /// The public JWKS of the `private_key_jwt` keys generated for a plugin
    /// instance (to register at the identity provider, as Kong's
    /// `/openid-connect/jwks` shows). `None` until a key was generated.
    pub fn client_jwks(&self, plugin_id: &str) -> Option<Value> {
        self.inner.keys.public_jwks(plugin_id)
    }
}

impl Default for State {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("issuers", &self.inner.issuers)
            .finish_non_exhaustive()
    }
}

// === impl Inner ===

impl Inner {
    /// Logs once per plugin that its sessions use the per-process secret.
    fn warn_no_secret(&self, plugin_id: &str) {
        let mut warned = self.warned.lock();
        if warned.len() < 1024 && warned.insert(plugin_id.to_string()) {
            tracing::warn!(
                plugin = plugin_id,
                "openid-connect has no session_secret: sessions use a per-process secret, end with the process and are not shared with other replicas"
            );
        }
    }
}

// === impl CachedClaims ===

impl CachedClaims {
    fn fits(&self, ctx: &Ctx<'_>) -> bool {
        ctx.shared
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, &self.config) || **c == *self.config)
    }
}

/// Access phase: authenticate the request or refuse it.
impl Phases for OidcConfig {
    async fn access(
        config: &Arc<Self>,
        instance: &PluginInstance,
        exchange: &mut Exchange<'_>,
        runtime: &Runtime,
    ) -> Result<Access, PluginError> {
        access(instance, config, exchange, runtime).await
    }
}

pub(super) async fn access(
    plugin: &PluginInstance,
    config: &Arc<OidcConfig>,
    exchange: &mut Exchange<'_>,
    runtime: &Runtime,
) -> Result<Access, PluginError> {
    upstream::clear_client_copies(config, exchange);
    // Kong's `run_on_preflight: false`: CORS preflights pass unauthenticated.
    if !config.run_on_preflight && exchange.request.method() == http::Method::OPTIONS {
        return Ok(Access::Continue);
    }
    // Logical OR with other auth plugins: one already authenticated.
    if config.anonymous.is_some()
        && exchange
            .authenticated
            .as_ref()
            .is_some_and(|a| !a.anonymous)
    {
        return Ok(Access::Continue);
    }
    let shared = Some(Arc::clone(config));
    let copies = client_copies::collect(config, exchange).await?;
    let ctx = Ctx {
        state: &runtime.oidc.inner,
        plugin_id: &plugin.id,
        config,
        shared,
        copies,
    };
    let browser = browser::Browser::new(exchange, runtime);
    match browser.before(&ctx, exchange).await? {
        Some(Ok(access)) => return Ok(access),
        Some(Err(failure)) => {
            browser.on_refusal(&ctx, exchange, &failure).await;
            return refuse(&plugin.id, config, exchange, failure);
        }
        None => {}
    }
    let found = token_location::find(config, exchange).await?;
    // No token: credentials for the grant methods (before the browser
    // login in Kong's order).
    if found.is_none()
        && let Some(presented) = grant::find(config, exchange).await?
    {
        // Boxed: most requests carry a token (see `plugins::access`).
        return Box::pin(grant::exchange(
            plugin, config, exchange, runtime, presented,
        ))
        .await;
    }
    let failure = match &found {
        None => Failure::Unauthorized(Reason::NoToken),
        Some(found) => {
            // Taken before `hide_credentials` removes it (a shared handle,
            // not a copy): see `upstream::Yielded::presented`.
            let presented = match &found.place {
                token_location::Place::Header(name) => exchange.headers().get(name).cloned(),
                _ => None,
            };
            if config.hide_credentials {
                token_location::hide(exchange, &found.place).await?;
            }
            // Borrowed from the table, not the exchange, so it may be held
            // across awaits.
            let service = exchange.service.map(|s| s.name.as_str());
            match methods::verify(&ctx, exchange.table, service, runtime, &found.token).await {
                Ok((verified, consumer)) => {
                    upstream::apply(
                        config,
                        exchange,
                        &verified,
                        consumer,
                        &found.token,
                        None,
                        presented.as_ref(),
                    );
                    return Ok(Access::Continue);
                }
                Err(failure) => failure,
            }
        }
    };
    match browser
        .after(&ctx, exchange, failure, found.is_some())
        .await?
    {
        Ok(access) => Ok(access),
        Err(failure) => {
            browser.on_refusal(&ctx, exchange, &failure).await;
            refuse(&plugin.id, config, exchange, failure)
        }
    }
}

fn refuse(
    plugin: &str,
    config: &OidcConfig,
    exchange: &mut Exchange<'_>,
    failure: Failure,
) -> Result<Access, PluginError> {
    tracing::debug!(?failure, "openid-connect refused the request");
    // As the oauth2 plugin: an outage of what verifies tokens is a 503
    // (the token may well be valid: retry), never a 401 that tells the
    // client to throw its token away, and never lets the request through
    // as `anonymous`.
    if let Failure::Unauthorized(reason) = failure
        && reason.is_outage()
    {
        let what = if reason == Reason::StoreUnavailable {
            "the token store"
        } else {
            "the identity provider"
        };
        return Err(PluginError::Unavailable(format!(
            "{what} is unavailable, try again later"
        )));
    }
    if matches!(failure, Failure::Unauthorized(_))
        && let Some(anonymous) = &config.anonymous
    {
        consumer::set_anonymous(exchange, plugin, anonymous)?;
        return Ok(Access::Continue);
    }
    Err(failure.into_error(config, &realm(config, exchange)))
}

/// `realm` for `WWW-Authenticate`: the request's host, else the issuer.
fn realm(config: &OidcConfig, exchange: &Exchange<'_>) -> String {
    let host = exchange
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| exchange.request.uri().authority().map(|a| a.as_str()));
    match host.map(|h| {
        h.rsplit_once(':')
            .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
            .map_or(h, |(n, _)| n)
    }) {
        Some(h) if !h.is_empty() => h.to_string(),
        _ => config.issuer_id().to_string(),
    }
}

/// Unix time in seconds.
fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
