//! In-process token store: bounded, with expiry sweeping.
//!
//! Rows whose lifetime has passed are invisible to lookups at once and are
//! removed later: a few on every insert (so memory follows the insert rate
//! without pauses) and the rest by a background sweeper every few seconds.
//! Deadlines sit in a min-heap; entries for rows deleted early become stale
//! and are skipped, and the heap is rebuilt when stale entries dominate.
//! When the store holds `max_tokens` live rows it refuses new ones
//! ([`StoreError::Full`]) instead of growing without bound; before that, a
//! credential holding `max_per_credential` rows has its oldest evicted
//! (`quota`), so one client cannot fill the store for the others. Rows are
//! kept in a compact form (`row`): token values inline, repeated strings
//! shared.

mod listing;
mod quota;
mod row;

use super::ops::OpCounters;
use super::{AuthCode, Grant, IssuedToken, StoreError, TokenSummary, unix_now};
use crate::metrics::Metrics;
use parking_lot::RwLock;
use quota::Quota;
use row::{Interned, Key, Row};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Expired rows removed on each insert, at most.
const SWEEP_PER_INSERT: usize = 16;
/// Expired rows removed per lock hold by the background sweeper.
const SWEEP_CHUNK: usize = 10_000;
/// Background sweep period.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// Size bounds of a [`MemoryStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most token rows held at once.
    pub max_tokens: usize,
    /// Most authorization codes held at once.
    pub max_codes: usize,
    /// Most token rows one credential holds; its oldest is evicted to
    /// store another.
    pub max_per_credential: usize,
}

/// Tokens and codes in process memory.
#[derive(Debug)]
pub struct MemoryStore {
    inner: RwLock<Inner>,
    limits: Limits,
    ops: OpCounters,
}

/// Maps keyed by token values, hashed with foldhash seeded per process
/// rather than SipHash: every verified request looks its token up, and
/// SipHash's rounds over the 33-byte key were most of the lookup. Lookups
/// take client input, but the stored keys are kingress's own random values
/// (or an operator's), so no client can choose keys that collide.
type KeyMap<V> = HashMap<Key, V, foldhash::quality::RandomState>;

#[derive(Default)]
struct Inner {
    /// Rows by access token.
    tokens: KeyMap<Row>,
    /// Refresh token → access token.
    refresh: KeyMap<Key>,
    /// Codes by value.
    codes: KeyMap<AuthCode>,
    /// Earliest deadline first.
    expiry: BinaryHeap<Reverse<Deadline>>,
    /// Credential ids, services and scopes shared by rows.
    interned: Interned,
    /// Rows per credential, oldest first.
    quota: Quota,
}

// Holds token values: shows sizes only.
impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("tokens", &self.tokens.len())
            .field("codes", &self.codes.len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Deadline {
    at: u64,
    kind: Kind,
    key: Key,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Token,
    Code,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_tokens: 5_000_000,
            max_codes: 1_000_000,
            max_per_credential: super::DEFAULT_MAX_PER_CREDENTIAL,
        }
    }
}

// === impl MemoryStore ===

impl MemoryStore {
    /// An empty store. With `metrics`, the `tokens_stored` gauge follows the
    /// number of rows.
    pub fn new(limits: Limits, metrics: Option<Metrics>) -> Self {
        Self {
            inner: RwLock::new(Inner::default()),
            limits,
            ops: OpCounters::new(metrics, "memory"),
        }
    }

    /// The metrics this store reports to.
    pub fn metrics(&self) -> Option<&Metrics> {
        self.ops.metrics()
    }

    pub(super) fn ops(&self) -> &OpCounters {
        &self.ops
    }

    /// Stores a token, evicting the credential's oldest when it holds
    /// `max_per_credential`; refuses when the store is full.
    pub fn insert_token(&self, token: IssuedToken) -> Result<(), StoreError> {
        let now = unix_now();
        let mut guard = self.inner.write();
        let inner = &mut *guard;
        inner.sweep(now, SWEEP_PER_INSERT);
        if token.is_gone(now) {
            return Ok(()); // Already past its lifetime: nothing to keep.
        }
        let access = Key::new(token.access_token.expose());
        let mut evicted = 0;
        while let Some(oldest) = inner.quota.oldest_over(
            &token.credential_id,
            self.limits.max_per_credential,
            &inner.tokens,
        ) {
            inner.remove_token(&oldest);
            evicted += 1;
        }
        if evicted > 0 {
            super::evicted(self.ops.metrics(), &token.credential_id, evicted);
        }
        if inner.tokens.len() >= self.limits.max_tokens && !inner.tokens.contains_key(&access) {
            inner.sweep(now, usize::MAX);
            if inner.tokens.len() >= self.limits.max_tokens {
                return Err(StoreError::Full {
                    limit: self.limits.max_tokens,
                });
            }
        }
        inner.put_token(access, &token);
        inner.compact_if_stale();
        self.report(inner);
        Ok(())
    }

    /// By access token, without the refresh token.
    pub fn token(&self, access_token: &str) -> Option<IssuedToken> {
        let now = unix_now();
        let key = Key::new(access_token);
        let inner = self.inner.read();
        let row = inner.tokens.get(&key).filter(|t| !t.is_gone(now))?;
        Some(row.to_token(&key, false))
    }

    /// By access token, what verification needs (shares the row's strings).
    pub fn grant(&self, access_token: &str) -> Option<Grant> {
        let now = unix_now();
        let inner = self.inner.read();
        let row = inner
            .tokens
            .get(&Key::new(access_token))
            .filter(|t| !t.is_gone(now))?;
        Some(row.grant())
    }

    /// By refresh token.
    pub fn token_by_refresh(&self, refresh: &str) -> Option<IssuedToken> {
        let now = unix_now();
        let inner = self.inner.read();
        let access = inner.refresh.get(&Key::new(refresh))?;
        inner
            .tokens
            .get(access)
            .filter(|t| !t.is_gone(now))
            .map(|row| row.to_token(access, true))
    }

    /// Deletes a token and its refresh token.
    pub fn delete_token(&self, access_token: &str) {
        let mut inner = self.inner.write();
        inner.remove_token(&Key::new(access_token));
        self.report(&inner);
    }

    /// Replaces `old` with `new` if `old` is still stored under its refresh
    /// token; see `TokenStore::replace_token`.
    pub fn replace_token(&self, old: &IssuedToken, new: IssuedToken) -> Result<bool, StoreError> {
        let now = unix_now();
        let Some(old_refresh) = &old.refresh_token else {
            return Ok(false);
        };
        let old_access = Key::new(old.access_token.expose());
        let mut inner = self.inner.write();
        let current = inner.refresh.get(&Key::new(old_refresh.expose()));
        let alive = inner
            .tokens
            .get(&old_access)
            .is_some_and(|t| !t.is_gone(now));
        if current != Some(&old_access) || !alive {
            return Ok(false);
        }
        inner.remove_token(&old_access);
        if !new.is_gone(now) {
            inner.put_token(Key::new(new.access_token.expose()), &new);
        }
        inner.compact_if_stale();
        self.report(&inner);
        Ok(true)
    }

    /// Stores a code; refuses when full.
    pub fn insert_code(&self, code: AuthCode) -> Result<(), StoreError> {
        let now = unix_now();
        let mut inner = self.inner.write();
        inner.sweep(now, SWEEP_PER_INSERT);
        if code.is_expired(now) {
            return Ok(());
        }
        if inner.codes.len() >= self.limits.max_codes {
            inner.sweep(now, usize::MAX);
            if inner.codes.len() >= self.limits.max_codes {
                return Err(StoreError::Full {
                    limit: self.limits.max_codes,
                });
            }
        }
        let key = Key::new(code.code.expose());
        inner.expiry.push(Reverse(Deadline {
            at: code.deadline(),
            kind: Kind::Code,
            key: key.clone(),
        }));
        inner.codes.insert(key, code);
        inner.compact_if_stale();
        Ok(())
    }

    /// Reads a code without consuming it.
    pub fn code(&self, code: &str) -> Option<AuthCode> {
        let now = unix_now();
        let inner = self.inner.read();
        inner
            .codes
            .get(&Key::new(code))
            .filter(|c| !c.is_expired(now))
            .cloned()
    }

    /// Takes a code (the write lock makes this atomic).
    pub fn take_code(&self, code: &str) -> Option<AuthCode> {
        let now = unix_now();
        let taken = self.inner.write().codes.remove(&Key::new(code));
        taken.filter(|c| !c.is_expired(now))
    }

    /// Number of token rows (expired rows not yet swept included).
    pub fn len(&self) -> usize {
        self.inner.read().tokens.len()
    }

    /// Whether no token rows are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops tokens and codes of credentials not in `keep`.
    pub fn retain_credentials(&self, keep: &HashSet<String>) -> usize {
        let mut inner = self.inner.write();
        let before = inner.tokens.len() + inner.codes.len();
        inner.tokens.retain(|_, t| keep.contains(t.credential_id()));
        let Inner {
            tokens, refresh, ..
        } = &mut *inner;
        refresh.retain(|_, access| tokens.contains_key(access));
        inner.quota.retain(keep);
        inner.codes.retain(|_, c| keep.contains(&c.credential_id));
        inner.interned.prune();
        let removed = before - inner.tokens.len() - inner.codes.len();
        inner.compact_if_stale();
        self.report(&inner);
        removed
    }

    /// Removes up to `budget` rows whose lifetime ended before `now`;
    /// returns how many heap entries were processed.
    pub fn sweep_chunk(&self, now: u64, budget: usize) -> usize {
        let mut inner = self.inner.write();
        let n = inner.sweep(now, budget);
        if n > 0 {
            self.report(&inner);
        }
        n
    }

    fn report(&self, inner: &Inner) {
        if let Some(m) = self.ops.metrics() {
            m.tokens_stored.set(inner.tokens.len() as i64);
        }
    }
}

/// Sweeps `store` every few seconds until it is dropped.
pub fn spawn_sweeper(store: &Arc<MemoryStore>) {
    let weak: Weak<MemoryStore> = Arc::downgrade(store);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(store) = weak.upgrade() else { break };
            // Chunks release the lock in between, so requests are never
            // held up by a large expiry wave.
            while store.sweep_chunk(unix_now(), SWEEP_CHUNK) == SWEEP_CHUNK {
                tokio::task::yield_now().await;
            }
        }
    });
}

// === impl Inner ===

impl Inner {
    fn put_token(&mut self, access: Key, token: &IssuedToken) {
        if self.tokens.contains_key(&access) {
            self.remove_token(&access);
        }
        let row = Row::new(token, &mut self.interned);
        if let Some(refresh) = row.refresh() {
            self.refresh.insert(refresh.clone(), access.clone());
        }
        if let Some(at) = row.deadline() {
            self.expiry.push(Reverse(Deadline {
                at,
                kind: Kind::Token,
                key: access.clone(),
            }));
        }
        let credential = Arc::clone(row.credential());
        self.tokens.insert(access.clone(), row);
        self.quota.added(&credential, &access, &self.tokens);
    }

    fn remove_token(&mut self, access: &Key) {
        let Some(row) = self.tokens.remove(access) else {
            return;
        };
        self.quota.removed(row.credential_id());
        if let Some(refresh) = row.refresh()
            && self.refresh.get(refresh) == Some(access)
        {
            self.refresh.remove(refresh);
        }
    }

    /// Pops deadlines before `now` (at most `budget`), removing rows that
    /// still carry that deadline.
    fn sweep(&mut self, now: u64, budget: usize) -> usize {
        let mut done = 0;
        while done < budget {
            match self.expiry.peek() {
                Some(Reverse(d)) if d.at < now => {}
                _ => break,
            }
            let Some(Reverse(d)) = self.expiry.pop() else {
                break;
            };
            done += 1;
            match d.kind {
                Kind::Token => {
                    if self.tokens.get(&d.key).and_then(Row::deadline) == Some(d.at) {
                        self.remove_token(&d.key);
                    }
                }
                Kind::Code => {
                    if self.codes.get(&d.key).map(AuthCode::deadline) == Some(d.at) {
                        self.codes.remove(&d.key);
                    }
                }
            }
        }
        done
    }

    /// Rebuilds the heap from live rows when most entries are stale (rows
    /// deleted or refreshed before their deadline).
    fn compact_if_stale(&mut self) {
        let live = self.tokens.len() + self.codes.len();
        if self.expiry.len() <= 2 * live + 1024 {
            return;
        }
        let tokens = self.tokens.iter().filter_map(|(k, t)| {
            t.deadline().map(|at| Deadline {
                at,
                kind: Kind::Token,
                key: k.clone(),
            })
        });
        let codes = self.codes.iter().map(|(k, c)| Deadline {
            at: c.deadline(),
            kind: Kind::Code,
            key: k.clone(),
        });
        self.expiry = tokens.chain(codes).map(Reverse).collect();
        self.interned.prune();
    }
}

#[cfg(test)]
mod tests;
