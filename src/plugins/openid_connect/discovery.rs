//! Discovery documents and JWKS, fetched lazily and cached per issuer.
//!
//! Nothing is fetched until a request needs it (a JWT to verify, an
//! introspection endpoint to find). A snapshot lives for the responses'
//! `max-age` (else `cache_ttl`, an hour by default), within `cache_ttl_min`
//! and `cache_ttl_max` when set. Refreshes are single-flight
//! per issuer: while one request refreshes an expired snapshot, the others
//! keep using the stale one; when there is nothing cached they wait for the
//! one fetch. A failed refresh keeps the old snapshot (Kong: "cached data is
//! still used") and is not retried for a few seconds. An unknown `kid`
//! triggers a rediscovery at most once per `rediscovery_lifetime`.

use super::fetch::{Clients, FetchError};
use super::jwks::KeySet;
use crate::model::plugin::OidcConfig;
use crate::model::plugin::openid_connect::Endpoint;
use parking_lot::Mutex;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Bounds on a provider-given `max-age` (then `cache_ttl_min`/`_max`).
const MIN_TTL: Duration = Duration::from_secs(10);
const MAX_TTL: Duration = Duration::from_secs(24 * 3600);
/// After a failed fetch, callers get the cached data (or a 401) without a
/// new attempt for this long (Kong: 5 s after a failed discovery).
const FAILURE_BACKOFF: Duration = Duration::from_secs(5);
/// Issuer entries kept; plugin configurations bound the real number.
const MAX_ISSUERS: usize = 256;

/// What a caller needs from the issuer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Want {
    /// The discovery document.
    pub(super) document: bool,
    /// The verification keys.
    pub(super) keys: bool,
}

/// The parts of a discovery document kingress uses.
#[derive(Debug, Default)]
pub(super) struct Document {
    /// `issuer`.
    pub(super) issuer: Option<String>,
    /// The endpoints it names (`jwks_uri`, `token_endpoint`, …).
    pub(super) endpoints: Vec<(Endpoint, String)>,
    /// `introspection_endpoint_auth_methods_supported`, else
    /// `token_endpoint_auth_methods_supported`.
    pub(super) auth_methods: Vec<String>,
    /// `token_endpoint_auth_methods_supported`.
    pub(super) token_auth_methods: Vec<String>,
    /// `revocation_endpoint_auth_methods_supported`, else the token
    /// endpoint's.
    pub(super) revocation_auth_methods: Vec<String>,
}

/// What is known about one issuer at one moment.
pub(super) struct Snapshot {
    /// The discovery document, if it was needed so far.
    pub(super) document: Option<Arc<Document>>,
    /// The keys, if they were needed so far.
    pub(super) keys: Option<Arc<KeySet>>,
    /// Counts refreshes; lets waiters see that someone else refreshed.
    pub(super) generation: u64,
    expires: Instant,
}

/// The cache of issuers, keyed by everything that decides what is fetched
/// and how (discovery URL, JWKS overrides, certificate checking).
#[derive(Default)]
pub(super) struct Issuers {
    map: Mutex<HashMap<String, Arc<Issuer>>>,
}

/// One issuer's cached data and refresh coordination.
pub(super) struct Issuer {
    current: Mutex<Option<Arc<Snapshot>>>,
    refresh: tokio::sync::Mutex<()>,
    attempts: Mutex<Attempts>,
}

#[derive(Default)]
struct Attempts {
    last_failure: Option<Instant>,
    last_rediscovery: Option<Instant>,
}

// === impl Issuers ===

impl Issuers {
    /// The entry for this configuration's issuer (created empty: no fetch).
    pub(super) fn get(&self, config: &OidcConfig) -> Arc<Issuer> {
        let key = format!(
            "{}|{}|{}|{}",
            config.discovery_url(),
            config.endpoint_override(Endpoint::Jwks).unwrap_or(""),
            config.extra_jwks_uris.join(" "),
            config.ssl_verify
        );
        let mut map = self.map.lock();
        if let Some(issuer) = map.get(&key) {
            return issuer.clone();
        }
        if map.len() >= MAX_ISSUERS {
            // Drop entries no request holds; configuration churn is slow.
            map.retain(|_, i| Arc::strong_count(i) > 1);
        }
        let issuer = Arc::new(Issuer {
            current: Mutex::new(None),
            refresh: tokio::sync::Mutex::new(()),
            attempts: Mutex::new(Attempts::default()),
        });
        map.insert(key, issuer.clone());
        issuer
    }
}

impl std::fmt::Debug for Issuers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuers")
            .field("len", &self.map.lock().len())
            .finish()
    }
}

// === impl Issuer ===

impl Issuer {
    fn current(&self) -> Option<Arc<Snapshot>> {
        self.current.lock().clone()
    }

    /// A snapshot with what `want` asks for: the cached one while fresh,
    /// else a refreshed one, else the stale one. `None` when the provider
    /// cannot be reached and nothing usable is cached.
    pub(super) async fn snapshot(
        &self,
        clients: &Clients,
        config: &OidcConfig,
        want: Want,
    ) -> Option<Arc<Snapshot>> {
        let cached = self.current().filter(|s| s.has(want));
        let guard = match &cached {
            Some(s) if Instant::now() < s.expires => return cached,
            // Stale: whoever gets the refresh lock updates it; the others
            // go on with what they have.
            Some(_) => match self.refresh.try_lock() {
                Ok(guard) => guard,
                Err(_) => return cached,
            },
            None => self.refresh.lock().await,
        };
        let seen = cached.as_ref().map_or(0, |s| s.generation);
        // Boxed: a path few requests take (see `plugins::access`).
        Box::pin(self.refresh(guard, clients, config, want, seen))
            .await
            .or(cached)
    }

    /// For an unknown `kid`: refetches at most once per
    /// `rediscovery_lifetime`. Returns the new snapshot, or `None` when no
    /// refresh happened (too soon, or the provider failed).
    pub(super) async fn rediscover(
        &self,
        clients: &Clients,
        config: &OidcConfig,
        want: Want,
        seen: u64,
    ) -> Option<Arc<Snapshot>> {
        let newer = |s: &Arc<Snapshot>| s.generation != seen && s.has(want);
        if let Some(s) = self.current().filter(newer) {
            return Some(s);
        }
        // Waits for a refresh in flight, whose result may hold the kid.
        let _guard = self.refresh.lock().await;
        if let Some(s) = self.current().filter(newer) {
            return Some(s);
        }
        {
            let lifetime = Duration::from_secs(config.rediscovery_lifetime);
            let mut attempts = self.attempts.lock();
            if attempts
                .last_rediscovery
                .is_some_and(|t| t.elapsed() < lifetime)
            {
                return None;
            }
            attempts.last_rediscovery = Some(Instant::now());
        }
        self.fetch(clients, config, want).await
    }

    /// Refreshes (holding the single-flight lock) unless another request
    /// did it meanwhile or a recent attempt failed.
    async fn refresh(
        &self,
        _guard: tokio::sync::MutexGuard<'_, ()>,
        clients: &Clients,
        config: &OidcConfig,
        want: Want,
        seen: u64,
    ) -> Option<Arc<Snapshot>> {
        if let Some(s) = self
            .current()
            .filter(|s| s.has(want) && (s.generation != seen || Instant::now() < s.expires))
        {
            return Some(s);
        }
        if self
            .attempts
            .lock()
            .last_failure
            .is_some_and(|t| t.elapsed() < FAILURE_BACKOFF)
        {
            return None;
        }
        self.fetch(clients, config, want).await
    }

    /// Fetches what `want` (and the current snapshot) needs and publishes
    /// the result. Called with the refresh lock held.
    async fn fetch(
        &self,
        clients: &Clients,
        config: &OidcConfig,
        want: Want,
    ) -> Option<Arc<Snapshot>> {
        let old = self.current();
        let want = Want {
            document: want.document || old.as_ref().is_some_and(|s| s.document.is_some()),
            keys: want.keys || old.as_ref().is_some_and(|s| s.keys.is_some()),
        };
        match fetch_parts(clients, config, want).await {
            Ok((document, keys, ttl)) => {
                let snapshot = Arc::new(Snapshot {
                    document,
                    keys,
                    generation: old.map_or(1, |s| s.generation + 1),
                    expires: Instant::now() + ttl,
                });
                *self.current.lock() = Some(snapshot.clone());
                self.attempts.lock().last_failure = None;
                Some(snapshot)
            }
            Err(e) => {
                tracing::warn!(issuer = %config.issuer, error = %e, "identity provider fetch failed");
                self.attempts.lock().last_failure = Some(Instant::now());
                None
            }
        }
    }
}

// === impl Snapshot ===

impl Snapshot {
    fn has(&self, want: Want) -> bool {
        (!want.document || self.document.is_some()) && (!want.keys || self.keys.is_some())
    }
}

/// Fetches the document (when wanted, or when the keys need its
/// `jwks_uri`) and the keys. Extra JWKS URIs that fail are skipped; the
/// primary one must work.
async fn fetch_parts(
    clients: &Clients,
    config: &OidcConfig,
    want: Want,
) -> Result<(Option<Arc<Document>>, Option<Arc<KeySet>>, Duration), FetchError> {
    let mut ttl = config.provider.cache_ttl;
    let mut fresh = |max_age: Option<Duration>| {
        if let Some(age) = max_age {
            ttl = ttl.min(age.clamp(MIN_TTL, MAX_TTL));
        }
    };
    let need_document =
        want.document || (want.keys && config.endpoint_override(Endpoint::Jwks).is_none());
    let document = if need_document {
        let url = config.discovery_url();
        let fetched = clients
            .get_json(config, &url, &config.provider.discovery_headers)
            .await?;
        fresh(fetched.max_age);
        Some(Arc::new(Document::parse(&fetched.body)))
    } else {
        None
    };
    let keys = if want.keys {
        let primary = endpoint(config, document.as_deref(), Endpoint::Jwks)
            .ok_or_else(|| FetchError::Json("discovery document has no jwks_uri".into()))?;
        let fetched = clients.get_json(config, &primary, &[]).await?;
        fresh(fetched.max_age);
        let mut keys = KeySet::parse(&fetched.body);
        for uri in &config.extra_jwks_uris {
            match clients.get_json(config, uri, &[]).await {
                Ok(extra) => {
                    fresh(extra.max_age);
                    keys.extend(KeySet::parse(&extra.body));
                }
                Err(e) => tracing::warn!(error = %e, "extra JWKS fetch failed"),
            }
        }
        tracing::debug!(issuer = %config.issuer, keys = keys.len(), "JWKS refreshed");
        Some(Arc::new(keys))
    } else {
        None
    };
    Ok((document, keys, config.provider.bounded(ttl)))
}

/// Where `which` is: the configuration's override (`token_endpoint`, …),
/// else the discovery document's.
pub(super) fn endpoint(
    config: &OidcConfig,
    document: Option<&Document>,
    which: Endpoint,
) -> Option<String> {
    config
        .endpoint_override(which)
        .map(str::to_string)
        .or_else(|| document?.endpoint(which).map(str::to_string))
}

// === impl Document ===

impl Document {
    /// The discovered URL of `which`.
    pub(super) fn endpoint(&self, which: Endpoint) -> Option<&str> {
        self.endpoints
            .iter()
            .find(|(e, _)| *e == which)
            .map(|(_, url)| url.as_str())
    }

    fn parse(body: &Value) -> Self {
        let string = |name: &str| {
            body.get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let url = |name: &str| {
            string(name).filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        };
        let methods = |name: &str| {
            body.get(name).and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
        };
        Document {
            issuer: string("issuer"),
            endpoints: Endpoint::ALL
                .into_iter()
                .filter_map(|e| Some((e, url(e.discovery_key())?)))
                .collect(),
            auth_methods: methods("introspection_endpoint_auth_methods_supported")
                .or_else(|| methods("token_endpoint_auth_methods_supported"))
                .unwrap_or_default(),
            token_auth_methods: methods("token_endpoint_auth_methods_supported")
                .unwrap_or_default(),
            revocation_auth_methods: methods("revocation_endpoint_auth_methods_supported")
                .or_else(|| methods("token_endpoint_auth_methods_supported"))
                .unwrap_or_default(),
        }
    }
}
