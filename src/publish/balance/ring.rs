//! The consistent-hashing ring: `slots` points shared out among the
//! targets by weight (Kong's `consistent_hashing.lua`; weight 0 holds
//! none), each point at the CRC32 of the target's address and the
//! point's number (Kong hashes keys with CRC32 too), mixed. A key goes to the
//! first point at or after its hash; when that target is unhealthy or was
//! tried, to the next point's, so only the keys of a missing target move.

use crate::model::Target;

/// Points sorted by hash, each naming a target index.
#[derive(Debug)]
pub(super) struct Ring {
    points: Vec<(u32, u32)>,
}

impl Ring {
    /// A ring of about `slots` points (at least one per target of a
    /// weight above 0).
    pub(super) fn new(targets: &[Target], slots: u32) -> Self {
        let total: u64 = targets.iter().map(|t| u64::from(t.weight)).sum();
        let mut points = Vec::with_capacity(slots as usize);
        for (index, target) in targets.iter().enumerate() {
            let share = u64::from(slots) * u64::from(target.weight) / total.max(1);
            let per_target = match target.weight {
                0 => 0,
                _ => share.max(1),
            };
            let address = target.to_string();
            for n in 0..per_target {
                let hash = mix(crc32fast::hash(format!("{address} {n}").as_bytes()));
                points.push((hash, index as u32));
            }
        }
        points.sort_unstable();
        Self { points }
    }

    /// The target for `hash`: the first usable one from its point on.
    pub(super) fn find(&self, hash: u32, usable: impl Fn(usize) -> bool) -> Option<usize> {
        let len = self.points.len();
        let hash = mix(hash);
        let start = self.points.partition_point(|(h, _)| *h < hash);
        (0..len)
            .map(|k| self.points[(start + k) % len].1 as usize)
            .find(|i| usable(*i))
    }
}

/// MurmurHash3's 32-bit finaliser. CRC32 is linear: addresses and keys
/// that differ in a few characters get hashes that differ in a few bits,
/// which bunches points (and keys) on the ring; mixing spreads them.
fn mix(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}
