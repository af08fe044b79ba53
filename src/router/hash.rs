//! A fast string hasher for the router's lookup maps.
//!
//! `find` hashes the request host once per wildcard label and the path once
//! per candidate prefix length, so SipHash's cost shows up directly in the
//! per-request time. Flooding resistance buys nothing here: the maps are
//! built from the configuration and never grow from requests, so a hostile
//! key can at worst hit a collision chain that the configuration already has.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` keyed through [`WordHasher`].
pub(super) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<WordHasher>>;

/// Multiplies in eight bytes at a time (FxHash's step) and finishes with
/// MurmurHash3's mixer, so the low bits the table indexes by depend on every
/// input byte.
#[derive(Default)]
pub(super) struct WordHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

// === impl WordHasher ===

impl WordHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            // The free top byte records the tail length, so `"/a"` and
            // `"/a\0"` differ.
            word[7] = 0x80 | rest.len() as u8;
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn tail_bytes_and_length_change_the_hash() {
        let build = BuildHasherDefault::<WordHasher>::default();
        let a = build.hash_one("/api/v1");
        assert_ne!(a, build.hash_one("/api/v1\0"));
        assert_ne!(a, build.hash_one("/api/v2"));
        assert_ne!(build.hash_one("/a"), build.hash_one("/a/"));
        assert_eq!(a, build.hash_one(String::from("/api/v1")));
    }
}
