//! Sessions: what a login leaves behind so that later requests need no
//! IdP round trip.
//!
//! A session record (tokens, claims, timestamps) is sealed (see `seal`)
//! and kept either in the cookie itself (`session_storage: cookie`) or in
//! Redis under a random 256-bit id that the (sealed) cookie carries
//! (`redis`; see `session/store`), so that a logout can revoke it and
//! replicas share it.
//!
//! The timeouts follow lua-resty-session 4 as Kong configures it, each 0 =
//! off: a session is invalid once `session_absolute_timeout` has passed
//! since the login, `session_rolling_timeout` since it was last renewed, or
//! `session_idling_timeout` since it was last used. Using a session renews
//! it when three quarters of its rolling period are gone (lua-resty-session's
//! `refresh`) and touches it when a tenth of its idling period is gone, so
//! that a request writes a cookie (or a Redis record) only then: the rest
//! only read. Never past its absolute end. The cookie's `Max-Age` is the
//! time left.

mod opened;
mod store;

use super::browser::Browser;
use super::seal::Sealing;
use super::token_endpoint::TokenResponse;
use super::upstream;
use super::{Ctx, bearer, cookie};
use crate::model::Derived;
use crate::model::plugin::OidcConfig;
use crate::model::plugin::openid_connect::{SessionConfig, SessionStorage};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

pub(super) use opened::{OPENED_ENTRIES, Opened};
pub(super) use store::Stores;

/// The associated data of sealed session cookies and records.
const PURPOSE: &str = "session";

/// One session.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct Record {
    /// Random id: the Redis key's source, the refresh single-flight key.
    pub(super) sid: String,
    /// Login time (absolute timeout).
    pub(super) created: u64,
    /// Last renewal (rolling timeout).
    pub(super) rolled: u64,
    /// Last use (idling timeout).
    pub(super) touched: u64,
    /// The method that logged in (`authorization_code`…).
    pub(super) method: String,
    /// The access token.
    pub(super) access_token: String,
    /// Its expiry (Unix seconds), if known.
    pub(super) expires_at: Option<u64>,
    /// Its lifetime when issued, for the refresh margin.
    pub(super) expires_in: Option<u64>,
    /// The refresh token.
    pub(super) refresh_token: Option<String>,
    /// The ID token (`id_token_hint` at logout).
    pub(super) id_token: Option<String>,
    /// The verified claims the rules and headers read.
    #[serde(default, skip_serializing_if = "is_null")]
    pub(super) claims: Arc<Value>,
    /// Which token's payload the claims are, when they were left out of
    /// the sealed record (see [`Record::to_json`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claims_in: Option<ClaimsIn>,
    /// The token and claim headers this session yields, built on its
    /// first use. A record is only ever used under the configuration it
    /// was opened with (the opened-session cache checks it), and a changed
    /// record is a clone, which starts without them.
    #[serde(skip)]
    pub(super) headers: Derived<upstream::Headers>,
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("created", &self.created)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

/// The first byte of a deflated record (see [`Record::to_plain`]).
const DEFLATED: u8 = b'z';
/// A record inflates to at most this many bytes (records are sealed by
/// kingress itself; the bound is for the code, not for an attacker).
const MAX_RECORD: usize = 1 << 20;

/// A token whose payload is a record's claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum ClaimsIn {
    #[serde(rename = "at")]
    AccessToken,
    #[serde(rename = "it")]
    IdToken,
}

fn is_null(claims: &Arc<Value>) -> bool {
    claims.is_null()
}

/// The cookie of a server-side session: only the id.
#[derive(Serialize, Deserialize)]
struct Pointer {
    sid: String,
}

/// Why a session is not usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Invalid {
    /// No cookie, or one that does not open.
    Missing,
    /// A timeout passed, or the server-side record is gone.
    Expired,
    /// Redis did not answer.
    Unavailable,
}

/// A session found in a request.
pub(super) struct Loaded {
    /// The record, shared with the cache of opened sessions: changed
    /// only through `Arc::make_mut`.
    pub(super) record: Arc<Record>,
    /// Whether using it must write it back (renewed or touched).
    pub(super) dirty: bool,
    /// The highest chunk index of the request's session cookie.
    pub(super) present: usize,
    /// Whether the request has other cookies than the session's chunks.
    pub(super) others: bool,
}

// === impl Record ===

impl Record {
    /// A new session for `tokens` and `claims`, made now.
    pub(super) fn new(method: &str, tokens: &TokenResponse, claims: Arc<Value>, now: u64) -> Self {
        Record {
            sid: random_id(),
            created: now,
            rolled: now,
            touched: now,
            method: method.to_string(),
            access_token: tokens.access_token.expose().to_string(),
            expires_at: tokens.expires_at(),
            expires_in: tokens.expires_in,
            refresh_token: tokens
                .refresh_token
                .as_ref()
                .map(|t| t.expose().to_string()),
            id_token: tokens.id_token.as_ref().map(|t| t.expose().to_string()),
            claims,
            claims_in: None,
            headers: Derived::default(),
        }
    }

    /// The record as it is sealed. Claims that are the payload of one of
    /// its tokens (the access token's or the ID token's: what verified
    /// the login) are left out and read back from that token when the
    /// record is opened, so that a session cookie does not carry them
    /// twice: with the JSON of an identity provider's claims they are a
    /// third of the record, and a session cookie is sent with every
    /// request. The token was verified when the session was made, and the
    /// record is sealed with it.
    fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        let carriers = [
            (ClaimsIn::AccessToken, Some(&self.access_token)),
            (ClaimsIn::IdToken, self.id_token.as_ref()),
        ];
        let carrier = carriers.into_iter().find_map(|(place, token)| {
            let payload = bearer::unverified_payload(token?)?;
            (!self.claims.is_null() && payload == *self.claims).then_some(place)
        });
        match carrier {
            Some(place) => serde_json::to_vec(&Record {
                claims: Arc::new(Value::Null),
                claims_in: Some(place),
                ..self.clone()
            }),
            None => serde_json::to_vec(self),
        }
    }

    /// The bytes sealed for the record: its JSON ([`Record::to_json`])
    /// deflated, marked by a leading [`DEFLATED`] (JSON starts with `{`).
    /// A session cookie is sent with every request and every byte of it is
    /// parsed and compared on each: tokens and claims are text that
    /// deflates by about a third. Compressing before sealing leaks
    /// nothing here: a record holds what the identity provider issued for
    /// its user, nothing another party chooses and then sees sealed again.
    pub(super) fn to_plain(&self) -> serde_json::Result<Vec<u8>> {
        let json = self.to_json()?;
        let mut plain = vec![DEFLATED];
        plain.extend(miniz_oxide::deflate::compress_to_vec(&json, 6));
        Ok(plain)
    }

    /// A record from the bytes of [`Record::to_plain`] (or the plain JSON
    /// that earlier versions sealed).
    pub(super) fn from_plain(plain: &[u8]) -> Option<Self> {
        match plain.split_first() {
            Some((&DEFLATED, deflated)) => {
                let json = miniz_oxide::inflate::decompress_to_vec_with_limit(deflated, MAX_RECORD)
                    .ok()?;
                Self::from_json(&json)
            }
            _ => Self::from_json(plain),
        }
    }

    /// A record from the JSON of [`Record::to_json`], its claims read back
    /// from the token that carries them.
    fn from_json(json: &[u8]) -> Option<Self> {
        let mut record: Record = serde_json::from_slice(json).ok()?;
        if let Some(place) = record.claims_in.take() {
            let token = match place {
                ClaimsIn::AccessToken => Some(&record.access_token),
                ClaimsIn::IdToken => record.id_token.as_ref(),
            };
            record.claims = Arc::new(bearer::unverified_payload(token?)?);
        }
        Some(record)
    }

    /// Takes the tokens of a refresh (keeping the refresh and ID tokens
    /// when the provider sent no new ones).
    pub(super) fn refreshed(&mut self, tokens: &TokenResponse) {
        // New tokens (and claims, set beside this): new headers.
        self.headers = Derived::default();
        self.access_token = tokens.access_token.expose().to_string();
        self.expires_at = tokens.expires_at();
        self.expires_in = tokens.expires_in;
        if let Some(r) = &tokens.refresh_token {
            self.refresh_token = Some(r.expose().to_string());
        }
        if let Some(i) = &tokens.id_token {
            self.id_token = Some(i.expose().to_string());
        }
    }

    /// Seconds until the first timeout ends the session (`None`: no
    /// timeout applies).
    fn remaining(&self, config: &SessionConfig, now: u64) -> Option<u64> {
        [
            (config.absolute_timeout, self.created),
            (config.rolling_timeout, self.rolled),
            (config.idling_timeout, self.touched),
        ]
        .into_iter()
        .filter(|(timeout, _)| *timeout > 0)
        .map(|(timeout, since)| (since + timeout).saturating_sub(now))
        .min()
    }

    /// Applies the timeouts at `now`: `Err` when expired, else whether the
    /// record is due to be renewed or touched (see [`Record::renew`]).
    fn check(&self, config: &SessionConfig, now: u64) -> Result<bool, Invalid> {
        if self.remaining(config, now) == Some(0) {
            return Err(Invalid::Expired);
        }
        Ok(self.renew_due(config, now) || self.touch_due(config, now))
    }

    fn renew_due(&self, config: &SessionConfig, now: u64) -> bool {
        config.rolling_timeout > 0 && now - self.rolled.min(now) >= config.rolling_timeout * 3 / 4
    }

    fn touch_due(&self, config: &SessionConfig, now: u64) -> bool {
        config.idling_timeout > 0 && now - self.touched.min(now) >= config.idling_timeout / 10
    }

    /// Renews and touches the record as [`Record::check`] found due.
    pub(super) fn renew(&mut self, config: &SessionConfig, now: u64) {
        if self.renew_due(config, now) {
            self.rolled = now;
        }
        if self.touch_due(config, now) {
            self.touched = now;
        }
    }
}

/// 256 random bits, base64url.
pub(super) fn random_id() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::Rng::fill(&mut rand::rng(), &mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Where sessions of one plugin live, with its keys.
pub(super) struct Sessions<'a> {
    /// The plugin's session configuration.
    pub(super) config: &'a SessionConfig,
    /// The whole plugin configuration, binding [`Opened`] entries (`None`:
    /// nothing is cached).
    pub(super) plugin: Option<&'a Arc<OidcConfig>>,
    /// Its sealing keys.
    pub(super) sealing: Keys<'a>,
    /// Its Redis, for server-side sessions.
    pub(super) stores: &'a Stores,
    /// Sessions opened recently.
    pub(super) opened: &'a Opened,
}

/// A plugin's sealing keys, as [`Sessions`] holds them.
pub(super) enum Keys<'a> {
    /// At hand (the unit tests have no request).
    #[cfg(test)]
    Ready(&'a Sealing),
    /// Looked up on first use (a shared map behind a lock): a session
    /// found among the opened ones needs no keys.
    Lazy(&'a Browser, &'a Ctx<'a>),
}

// === impl Keys ===

impl<'a> Keys<'a> {
    fn get(&self) -> &'a Sealing {
        match self {
            #[cfg(test)]
            Keys::Ready(sealing) => sealing,
            Keys::Lazy(browser, ctx) => browser.sealing(ctx),
        }
    }
}

// === impl Sessions ===

impl Sessions<'_> {
    /// The session of a request with these headers, checked against the
    /// timeouts at `now`.
    pub(super) async fn load(
        &self,
        headers: &http::HeaderMap,
        now: u64,
    ) -> Result<Loaded, Invalid> {
        let chunks = cookie::Chunks::of(headers, &self.config.cookie.name);
        let raw = chunks.value().ok_or(Invalid::Missing)?;
        let record = match self.config.storage {
            SessionStorage::Cookie => self
                .open_record(PURPOSE, &raw, now)
                .ok_or(Invalid::Missing)?,
            SessionStorage::Redis => {
                let raw = std::str::from_utf8(&raw).map_err(|_| Invalid::Missing)?;
                let opened = self
                    .sealing
                    .get()
                    .open(PURPOSE, raw)
                    .ok_or(Invalid::Missing)?;
                let pointer: Pointer =
                    serde_json::from_slice(&opened).map_err(|_| Invalid::Missing)?;
                // Boxed: a Redis call's future is kilobytes and would size
                // every openid-connect request's, cookie sessions and bearer
                // tokens alike (see `plugins::access`).
                let sealed = Box::pin(self.stores.get(&self.config.redis, &pointer.sid))
                    .await
                    .map_err(|_| Invalid::Unavailable)?
                    .ok_or(Invalid::Expired)?;
                let record = self
                    .open_record(&record_purpose(&pointer.sid), sealed.as_bytes(), now)
                    .ok_or(Invalid::Expired)?;
                if record.sid != pointer.sid {
                    return Err(Invalid::Expired);
                }
                record
            }
        };
        let dirty = record.check(self.config, now)?;
        Ok(Loaded {
            record,
            dirty,
            present: chunks.present(),
            others: chunks.others,
        })
    }

    /// Stores `record` and returns the `Set-Cookie` values; `present` is
    /// how many chunks the request's cookie had.
    pub(super) async fn save(
        &self,
        record: &Record,
        https: bool,
        present: usize,
        now: u64,
    ) -> Result<Vec<http::HeaderValue>, Invalid> {
        let max_age = record.remaining(self.config, now);
        let value = match self.config.storage {
            SessionStorage::Cookie => {
                let json = record.to_plain().map_err(|_| Invalid::Missing)?;
                self.sealing.get().seal(PURPOSE, &json)
            }
            SessionStorage::Redis => {
                let json = record.to_plain().map_err(|_| Invalid::Missing)?;
                let sealed = self.sealing.get().seal(&record_purpose(&record.sid), &json);
                Box::pin(
                    self.stores
                        .put(&self.config.redis, &record.sid, sealed, max_age),
                )
                .await
                .map_err(|_| Invalid::Unavailable)?;
                let pointer = Pointer {
                    sid: record.sid.clone(),
                };
                let json = serde_json::to_vec(&pointer).map_err(|_| Invalid::Missing)?;
                self.sealing.get().seal(PURPOSE, &json)
            }
        };
        Ok(cookie::set(
            &self.config.cookie,
            &value,
            max_age,
            https,
            present,
        ))
    }

    /// Ends a session: deletes the server-side record (if any) and
    /// returns the `Set-Cookie` values expiring every chunk.
    pub(super) async fn destroy(
        &self,
        record: Option<&Record>,
        https: bool,
        present: usize,
    ) -> Vec<http::HeaderValue> {
        if self.config.storage == SessionStorage::Redis
            && let Some(r) = record
            && let Err(e) = Box::pin(self.stores.delete(&self.config.redis, &r.sid)).await
        {
            tracing::warn!(error = %e, "could not delete a server-side session");
        }
        cookie::expire(&self.config.cookie, https, present)
    }
}

/// A record is bound to its id: a record copied under another key does
/// not open.
fn record_purpose(sid: &str) -> String {
    format!("session-record:{sid}")
}

#[cfg(test)]
mod tests;
