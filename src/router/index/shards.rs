//! Exact hosts in shards by hash. A shard is a map of its own behind an
//! `Arc`, so a new generation builds again only the shards a changed route
//! has a host in and shares the others with the last generation: an edit of
//! one Ingress among 50,000 rebuilds a few dozen hosts, not 50,000.

use super::super::hash::{FastMap, WordHasher};
use super::super::paths::Candidate;
use super::Tiers;
use std::hash::{BuildHasher, BuildHasherDefault};
use std::sync::Arc;

/// Exact hosts' tiers, in a power-of-two number of shards.
pub(super) struct Shards {
    maps: Box<[Arc<Shard>]>,
}

/// One shard: tiers by exact host.
type Shard = FastMap<Box<str>, Tiers>;

/// Hosts per shard a whole build aims at: a rebuilt shard is that many
/// hosts' tiers.
const PER_SHARD: usize = 32;
/// Fewest shards (so small tables share some too) and most.
const MIN_SHARDS: usize = 8;
const MAX_SHARDS: usize = 4096;

impl Default for Shards {
    fn default() -> Self {
        Self {
            maps: (0..MIN_SHARDS).map(|_| Arc::default()).collect(),
        }
    }
}

impl Shards {
    /// How many shards a whole build of `hosts` exact hosts has.
    pub(super) fn count_for(hosts: usize) -> usize {
        (hosts / PER_SHARD)
            .next_power_of_two()
            .clamp(MIN_SHARDS, MAX_SHARDS)
    }

    /// The shard of `host` among `count` (a power of two). It takes bits
    /// from the middle of the hash: the shard's own map indexes by the low
    /// bits and tags by the top ones, which must still differ between the
    /// hosts of one shard.
    pub(super) fn shard(host: &str, count: usize) -> usize {
        let hash = BuildHasherDefault::<WordHasher>::default().hash_one(host);
        (hash >> 32) as usize & (count - 1)
    }

    /// Number of shards.
    pub(super) fn count(&self) -> usize {
        self.maps.len()
    }

    /// `count` shards holding `staged`; with `last`, the shards not marked
    /// in its list are `last`'s and `staged` holds exactly the hosts of the
    /// marked ones (`count` is then `last`'s).
    pub(super) fn build(
        count: usize,
        staged: FastMap<&str, Vec<Candidate<'_>>>,
        last: Option<(&Shards, &[bool])>,
    ) -> Self {
        let rebuilt = |i: usize| last.is_none_or(|(_, marked)| marked[i]);
        let per_shard = staged.len() / count + 1;
        let mut fresh: Vec<Option<Shard>> = (0..count)
            .map(|i| {
                rebuilt(i).then(|| {
                    FastMap::with_capacity_and_hasher(per_shard + per_shard / 4, Default::default())
                })
            })
            .collect();
        for (host, candidates) in staged {
            let shard = Self::shard(host, count);
            // Staging took the hosts of rebuilt shards only.
            if let Some(map) = &mut fresh[shard] {
                map.insert(host.into(), Tiers::build(candidates));
            }
        }
        let maps = fresh
            .into_iter()
            .enumerate()
            .map(|(i, map)| match (map, last) {
                (Some(map), _) => Arc::new(map),
                (None, Some((last, _))) => Arc::clone(&last.maps[i]),
                (None, None) => Arc::default(),
            })
            .collect();
        Self { maps }
    }

    /// The tiers of exact host `host`.
    pub(super) fn get(&self, host: &str) -> Option<&Tiers> {
        self.maps[Self::shard(host, self.maps.len())].get(host)
    }

    /// Number of exact hosts.
    pub(super) fn len(&self) -> usize {
        self.maps.iter().map(|m| m.len()).sum()
    }

    /// Every exact host's tiers.
    pub(super) fn values(&self) -> impl Iterator<Item = &Tiers> {
        self.maps.iter().flat_map(|m| m.values())
    }

    /// Whether shard `i` is the very same map in `self` and `other` (tests).
    #[cfg(test)]
    pub(super) fn shares(&self, other: &Shards, i: usize) -> bool {
        Arc::ptr_eq(&self.maps[i], &other.maps[i])
    }
}
