//! The per-credential bound of the memory store: how many rows each
//! credential holds, and its access tokens in issue order so the oldest can
//! be evicted when the credential is at its bound.
//!
//! Rows leave the store in many ways (delete, refresh, expiry, cascade);
//! each one lowers the count at once, but its place in the issue order is
//! only dropped when eviction meets it or when stale places outnumber live
//! rows, which keeps every removal O(1).

use super::KeyMap;
use super::row::{Key, Row};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// Stale places tolerated per credential before its order is compacted.
const SLACK: usize = 32;

/// Rows held per credential.
#[derive(Default)]
pub(super) struct Quota {
    by_credential: HashMap<Arc<str>, Held>,
}

#[derive(Default)]
struct Held {
    /// Rows the credential holds (rows past their lifetime but not yet
    /// swept included).
    rows: usize,
    /// Access tokens in issue order, stale places included.
    order: VecDeque<Key>,
}

// === impl Quota ===

impl Quota {
    /// Counts `access`, just stored in `tokens` for `credential`.
    pub(super) fn added(&mut self, credential: &Arc<str>, access: &Key, tokens: &KeyMap<Row>) {
        let held = self
            .by_credential
            .entry(Arc::clone(credential))
            .or_default();
        held.rows += 1;
        held.order.push_back(access.clone());
        if held.order.len() > 2 * held.rows + SLACK {
            held.order.retain(|k| holds(tokens, k, credential));
        }
    }

    /// Uncounts one row of `credential`, just removed.
    pub(super) fn removed(&mut self, credential: &str) {
        if let Some(held) = self.by_credential.get_mut(credential) {
            held.rows = held.rows.saturating_sub(1);
            if held.rows == 0 {
                self.by_credential.remove(credential);
            }
        }
    }

    /// The oldest access token of `credential` while it holds `max` rows or
    /// more; `None` once there is room for one more. The caller removes
    /// the row (which calls [`Quota::removed`]) and asks again.
    pub(super) fn oldest_over(
        &mut self,
        credential: &str,
        max: usize,
        tokens: &KeyMap<Row>,
    ) -> Option<Key> {
        let held = self.by_credential.get_mut(credential)?;
        if held.rows < max {
            return None;
        }
        while let Some(key) = held.order.pop_front() {
            if holds(tokens, &key, credential) {
                return Some(key);
            }
        }
        None
    }

    /// Forgets every credential not in `keep` (their rows were dropped).
    pub(super) fn retain(&mut self, keep: &HashSet<String>) {
        self.by_credential.retain(|c, _| keep.contains(&**c));
    }

    /// Rows `credential` holds.
    #[cfg(test)]
    pub(super) fn rows(&self, credential: &str) -> usize {
        self.by_credential.get(credential).map_or(0, |h| h.rows)
    }

    /// Places kept in `credential`'s issue order.
    #[cfg(test)]
    pub(super) fn places(&self, credential: &str) -> usize {
        self.by_credential
            .get(credential)
            .map_or(0, |h| h.order.len())
    }
}

/// Whether `tokens` holds `access` for `credential`.
fn holds(tokens: &KeyMap<Row>, access: &Key, credential: &str) -> bool {
    tokens
        .get(access)
        .is_some_and(|row| row.credential_id() == credential)
}
