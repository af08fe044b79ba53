//! Where proxy-cache keeps responses: one bounded in-process cache for
//! every instance, namespaced by `memory.dictionary_name` (Kong's shared
//! dictionary). Bounded by bytes (body, headers and key of each entry),
//! least recently used evicted first; each entry also expires after its
//! storage TTL. A concurrent cache (moka): lookups take no lock that every
//! request contends on.

use bytes::Bytes;
use http::HeaderMap;
use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Kong's `CACHE_VERSION`, shown in the Admin API's entries.
const CACHE_VERSION: u32 = 1;

/// Bytes counted for an entry besides its body, headers and key (the
/// entry's own fields and the cache's bookkeeping).
const ENTRY_OVERHEAD: u64 = 160;

/// How much the store may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// Total bytes of every entry (Kong's default dictionary,
    /// `kong_db_cache`, is sized by `mem_cache_size`, 128 MiB).
    pub memory: u64,
    /// Largest response body stored; a larger one streams through uncached.
    pub max_entry: u64,
}

impl Default for Bounds {
    fn default() -> Self {
        Self {
            memory: DEFAULT_MEMORY,
            max_entry: DEFAULT_MAX_ENTRY,
        }
    }
}

/// Default of [`Bounds::memory`]: 128 MiB, Kong's `mem_cache_size`.
pub const DEFAULT_MEMORY: u64 = 128 * 1024 * 1024;
/// Default of [`Bounds::max_entry`]: 4 MiB.
pub const DEFAULT_MAX_ENTRY: u64 = 4 * 1024 * 1024;

/// A stored response.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Status code.
    pub status: u16,
    /// Headers as the client got them on the miss.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
    /// When it was stored, in Unix seconds.
    pub timestamp: u64,
    /// Seconds it is fresh.
    pub ttl: u64,
    /// Seconds it is kept; `None` keeps it until evicted or purged.
    pub storage_ttl: Option<u64>,
}

/// The cache of every proxy-cache instance of the process.
#[derive(Clone)]
pub struct Store {
    cache: Cache<String, Arc<Entry>>,
    bounds: Bounds,
    /// Bytes of responses being copied on their way to the client, not yet
    /// stored; bounded by `bounds.memory` too, so many concurrent misses
    /// cannot buffer without limit.
    copying: Arc<AtomicU64>,
}

/// Bytes a response copy holds of the store's copying budget; given back
/// when dropped.
#[derive(Debug)]
pub struct Reservation {
    copying: Arc<AtomicU64>,
    limit: u64,
    held: u64,
}

// === impl Store ===

impl Store {
    /// An empty store within `bounds`.
    pub fn new(bounds: Bounds) -> Self {
        let cache = Cache::builder()
            .max_capacity(bounds.memory)
            .eviction_policy(EvictionPolicy::lru())
            .weigher(|key: &String, entry: &Arc<Entry>| {
                u32::try_from(weight(key, entry)).unwrap_or(u32::MAX)
            })
            .expire_after(StorageTtl)
            .build();
        Self {
            cache,
            bounds,
            copying: Arc::new(AtomicU64::new(0)),
        }
    }

    /// An empty reservation against the copying budget.
    pub fn reserve(&self) -> Reservation {
        Reservation {
            copying: self.copying.clone(),
            limit: self.bounds.memory,
            held: 0,
        }
    }

    /// The bounds it keeps to.
    pub fn bounds(&self) -> Bounds {
        self.bounds
    }

    /// The entry of `key` in `dictionary`, unless expired or evicted.
    pub fn fetch(&self, dictionary: &str, key: &str) -> Option<Arc<Entry>> {
        self.cache.get(&slot(dictionary, key))
    }

    /// Stores `entry` (replacing any); one larger than the store is dropped.
    pub fn store(&self, dictionary: &str, key: &str, entry: Entry) {
        let slot = slot(dictionary, key);
        if weight(&slot, &entry) > self.bounds.memory {
            return;
        }
        self.cache.insert(slot, Arc::new(entry));
    }

    /// Removes `key` from `dictionary`; whether it was there.
    pub fn purge(&self, dictionary: &str, key: &str) -> bool {
        self.cache.remove(&slot(dictionary, key)).is_some()
    }

    /// Removes every entry of every dictionary (Kong's `DELETE
    /// /proxy-cache`, which flushes each instance's dictionary).
    pub fn flush(&self) {
        self.cache.invalidate_all();
    }

    /// Bytes held, after pending evictions ran (for tests and metrics).
    pub fn weighted_size(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.weighted_size()
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("bounds", &self.bounds)
            .field("entries", &self.cache.entry_count())
            .finish()
    }
}

// === impl Reservation ===

impl Reservation {
    /// Takes `bytes` more, unless the budget of every copy would be exceeded.
    pub fn grow(&mut self, bytes: u64) -> bool {
        let limit = self.limit;
        let taken = self
            .copying
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                now.checked_add(bytes).filter(|total| *total <= limit)
            });
        if taken.is_ok() {
            self.held += bytes;
        }
        taken.is_ok()
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.copying.fetch_sub(self.held, Ordering::AcqRel);
    }
}

/// The cache's key: dictionary and key, apart so no two pairs collide.
fn slot(dictionary: &str, key: &str) -> String {
    format!("{}:{dictionary}:{key}", dictionary.len())
}

/// Bytes an entry is counted as.
fn weight(slot: &str, entry: &Entry) -> u64 {
    let headers: usize = entry
        .headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len())
        .sum();
    (slot.len() + headers + entry.body.len()) as u64 + ENTRY_OVERHEAD
}

/// Each entry expires after its own storage TTL.
struct StorageTtl;

impl moka::Expiry<String, Arc<Entry>> for StorageTtl {
    fn expire_after_create(
        &self,
        _key: &String,
        entry: &Arc<Entry>,
        _created_at: Instant,
    ) -> Option<Duration> {
        entry.storage_ttl.map(Duration::from_secs)
    }
}

// === impl Entry ===

impl Entry {
    /// The entry as Kong's Admin API shows it (`GET /proxy-cache/{key}`):
    /// status, headers (Kong's capitalisation; several values as an array),
    /// body, body_len, timestamp, ttl and version. `req_body` is always
    /// null: kingress does not buffer request bodies for the cache.
    pub fn to_json(&self) -> Value {
        let mut headers = Map::new();
        for name in self.headers.keys() {
            let values: Vec<Value> = self
                .headers
                .get_all(name)
                .iter()
                .map(|v| Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect();
            let value = match <[Value; 1]>::try_from(values) {
                Ok([one]) => one,
                Err(many) => Value::Array(many),
            };
            headers.insert(title_case(name.as_str()), value);
        }
        json!({
            "status": self.status,
            "headers": headers,
            "body": String::from_utf8_lossy(&self.body),
            "body_len": self.body.len(),
            "timestamp": self.timestamp,
            "ttl": self.ttl,
            "version": CACHE_VERSION,
            "req_body": Value::Null,
        })
    }
}

/// `x-cache-key` as `X-Cache-Key`.
fn title_case(name: &str) -> String {
    name.split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests;
