//! Refresh tokens: `refresh_tokens` keeps a session's access token fresh,
//! and the `refresh_token` method exchanges one the client presents.
//!
//! A session's access token is refreshed when it expires within a margin
//! (30 s, or half its lifetime when shorter). Refreshes are single-flight
//! per session: concurrent requests of one session wait for the one call
//! to the token endpoint and take its result (kept for [`REUSE`] seconds,
//! for requests that still carry the old cookie), so a provider that
//! rotates refresh tokens never sees the old one twice.

use super::Ctx;
use super::failure::Reason;
use super::session::Record;
use super::token_endpoint::{self, Grant, TokenRequest, TokenResponse};
use crate::model::Sensitive;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

/// How long a refresh result is handed to requests with the old cookie.
const REUSE: u64 = 60;
/// The refresh margin's upper bound (seconds before expiry).
const MARGIN: u64 = 30;
/// Sessions whose refresh state is kept.
const MAX_FLIGHTS: usize = 10_000;

/// The last refresh of one session.
type Flight = Arc<tokio::sync::Mutex<Option<(u64, TokenResponse)>>>;

/// Refreshes in flight or just done, per session id.
#[derive(Default)]
pub(super) struct Flights {
    map: Mutex<HashMap<String, Flight>>,
}

// === impl Flights ===

impl Flights {
    fn flight(&self, sid: &str, now: u64) -> Flight {
        let mut map = self.map.lock();
        if map.len() >= MAX_FLIGHTS && !map.contains_key(sid) {
            // Keep only flights in use or done recently.
            map.retain(|_, f| {
                Arc::strong_count(f) > 1
                    || f.try_lock()
                        .is_ok_and(|g| g.as_ref().is_some_and(|(at, _)| at + REUSE > now))
            });
        }
        map.entry(sid.to_string()).or_default().clone()
    }
}

/// Whether `record`'s access token should be refreshed at `now`.
pub(super) fn due(record: &Record, now: u64) -> bool {
    let Some(expires_at) = record.expires_at else {
        return false;
    };
    let margin = record.expires_in.map_or(MARGIN, |e| (e / 2).min(MARGIN));
    record.refresh_token.is_some() && expires_at <= now + margin
}

/// Refreshes a session's tokens (single flight); returns the new tokens.
pub(super) async fn session(
    ctx: &Ctx<'_>,
    flights: &Flights,
    record: &Record,
    now: u64,
) -> Result<TokenResponse, Reason> {
    let flight = flights.flight(&record.sid, now);
    let mut last = flight.lock().await;
    if let Some((at, tokens)) = last.as_ref()
        && at + REUSE > now
        && tokens.expires_at() > record.expires_at
    {
        return Ok(tokens.clone());
    }
    let refresh_token = record.refresh_token.clone().ok_or(Reason::GrantRefused)?;
    let tokens = exchange(ctx, Sensitive::new(refresh_token)).await?;
    *last = Some((now, tokens.clone()));
    Ok(tokens)
}

/// One `refresh_token` grant.
pub(super) async fn exchange(
    ctx: &Ctx<'_>,
    refresh_token: Sensitive,
) -> Result<TokenResponse, Reason> {
    let grant = Grant::RefreshToken { refresh_token };
    token_endpoint::request(ctx, TokenRequest::new(grant)).await
}
