//! A map split into independently locked shards, so that requests counted
//! under different keys do not wait for each other: each lock covers a few
//! arithmetic steps on one shard, and two keys share a shard one time in
//! [`SHARDS`]. Memory is bounded: each shard holds at most a fixed number of
//! keys, dropping expired ones first and then arbitrary ones (Kong's shared
//! dictionary forgets its least recently used counters the same way).
//!
//! A key is hashed once (SipHash with a random key: keys carry client
//! addresses and headers), and that hash both picks the shard and finds
//! the entry in the shard's table, which keeps each entry's hash so that
//! growing never hashes again.

use hashbrown::HashTable;
use parking_lot::Mutex;
use std::hash::{BuildHasher, RandomState};

/// Number of shards (a power of two).
pub(crate) const SHARDS: usize = 64;

/// A value that knows when it may be forgotten.
pub(crate) trait Expiring {
    /// Whether the value is of no use at `now` (seconds since the epoch).
    fn expired(&self, now: u64) -> bool;
}

/// The sharded map.
pub(crate) struct Sharded<V> {
    shards: Box<[Mutex<Shard<V>>]>,
    hasher: RandomState,
    per_shard: usize,
}

struct Shard<V> {
    map: HashTable<Entry<V>>,
    /// When expired entries are next swept out (seconds since the epoch).
    next_sweep: u64,
}

/// A key, its hash and its value.
struct Entry<V> {
    hash: u64,
    key: Box<str>,
    value: V,
}

// === impl Sharded ===

impl<V: Expiring> Sharded<V> {
    /// A map holding at most about `capacity` keys.
    pub(crate) fn new(capacity: usize) -> Self {
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    map: HashTable::new(),
                    next_sweep: 0,
                })
            })
            .collect();
        Self {
            shards,
            hasher: RandomState::new(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
        }
    }

    /// Runs `f` on `key`'s value (created by `fresh` when missing), holding
    /// only that key's shard.
    pub(crate) fn with<R>(
        &self,
        key: &str,
        now: u64,
        fresh: impl FnOnce() -> V,
        f: impl FnOnce(&mut V) -> R,
    ) -> R {
        let hash = self.hasher.hash_one(key);
        // Middle bits pick the shard: hashbrown places an entry by the low
        // bits and tells entries apart in a group by the top seven.
        let mut shard = self.shards[(hash >> 32) as usize & (SHARDS - 1)].lock();
        if now >= shard.next_sweep {
            // Once a second per shard: the sweep is the only O(n) step.
            shard.map.retain(|e| !e.value.expired(now));
            shard.next_sweep = now + 1;
        }
        let same = |e: &Entry<V>| e.hash == hash && *e.key == *key;
        if let Some(entry) = shard.map.find_mut(hash, same) {
            return f(&mut entry.value);
        }
        if shard.map.len() >= self.per_shard {
            shard.map.retain(|e| !e.value.expired(now));
            if shard.map.len() >= self.per_shard
                && let Some(victim) = shard.map.iter().next().map(|e| e.hash)
                && let Ok(entry) = shard.map.find_entry(victim, |e| e.hash == victim)
            {
                entry.remove();
            }
        }
        let entry = Entry {
            hash,
            key: key.into(),
            value: fresh(),
        };
        let entry = shard.map.insert_unique(hash, entry, |e| e.hash);
        f(&mut entry.into_mut().value)
    }

    /// Takes every value out (a batch flush).
    pub(crate) fn drain(&self) -> Vec<(Box<str>, V)> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            out.extend(shard.lock().map.drain().map(|e| (e.key, e.value)));
        }
        out
    }

    /// Number of keys held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().map.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Until(u64, u32);
    impl Expiring for Until {
        fn expired(&self, now: u64) -> bool {
            now >= self.0
        }
    }

    #[test]
    fn counts_per_key_and_drops_expired_values() {
        let map = Sharded::new(1000);
        for _ in 0..3 {
            map.with("a", 10, || Until(12, 0), |v| v.1 += 1);
        }
        map.with("b", 10, || Until(11, 0), |v| v.1 += 1);
        assert_eq!(map.with("a", 10, || Until(0, 0), |v| v.1), 3);
        assert_eq!(map.len(), 2);
        // At 11 "b" has expired: its shard's sweep drops it, and it starts
        // afresh; "a" keeps its count.
        assert_eq!(map.with("b", 11, || Until(99, 7), |v| v.1), 7);
        assert_eq!(map.with("a", 11, || Until(0, 0), |v| v.1), 3);
    }

    #[test]
    fn memory_is_bounded() {
        let map = Sharded::new(SHARDS * 2);
        for i in 0..10_000 {
            map.with(&i.to_string(), 1, || Until(100, 0), |v| v.1 += 1);
        }
        assert!(map.len() <= SHARDS * 2, "{}", map.len());
        assert!(map.drain().len() <= SHARDS * 2);
        assert_eq!(map.len(), 0);
    }
}
