//! Length probes: the ways to cut a request path that can equal a key of a
//! map, longest first. A map of prefixes is searched by hashing the path cut
//! at each key length; a bit set of the keys' last bytes per length rules
//! most cuts out before any hashing (prefix keys mostly end in `/`).

use std::cmp::Reverse;

/// The distinct key lengths of one map, longest first.
#[derive(Default)]
pub(super) struct Probes(Vec<Probe>);

/// One key length and the last bytes of the keys that have it.
struct Probe {
    len: usize,
    last: [u64; 4],
}

// === impl Probes ===

impl Probes {
    /// Probes for every key in `keys`.
    pub(super) fn new<'k>(keys: impl Iterator<Item = &'k str>) -> Self {
        // Sorting (length, last byte) pairs and folding runs beats a hash
        // map here: most indexes have one or two keys, and the router
        // builds one per host on every publish.
        let mut ends: Vec<(usize, Option<u8>)> = keys
            .map(|k| (k.len(), k.as_bytes().last().copied()))
            .collect();
        ends.sort_unstable_by_key(|&(len, _)| Reverse(len));
        let mut probes: Vec<Probe> = Vec::new();
        for (len, byte) in ends {
            if probes.last().is_none_or(|p| p.len != len) {
                probes.push(Probe { len, last: [0; 4] });
            }
            if let (Some(byte), Some(probe)) = (byte, probes.last_mut()) {
                probe.last[usize::from(byte >> 6)] |= 1 << (byte & 63);
            }
        }
        // One index per host, ten thousand hosts: no spare room.
        probes.shrink_to_fit();
        Probes(probes)
    }

    /// The starts of `path` that may be keys, longest first.
    pub(super) fn heads<'p>(&'p self, path: &'p str) -> impl Iterator<Item = &'p str> + 'p {
        let start = self.0.partition_point(|p| p.len > path.len());
        self.0[start..]
            .iter()
            .filter(move |p| p.may_end(path.as_bytes()))
            // `get` is `None` inside a UTF-8 sequence, where no key can end.
            .filter_map(move |p| path.get(..p.len))
    }
}

// === impl Probe ===

impl Probe {
    /// Whether `path[..len]` ends with a byte some key of this length ends
    /// with (the empty key always can).
    fn may_end(&self, path: &[u8]) -> bool {
        match self.len.checked_sub(1).and_then(|i| path.get(i)) {
            Some(&byte) => self.last[usize::from(byte >> 6)] & (1 << (byte & 63)) != 0,
            None => self.len == 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Probes;

    #[test]
    fn heads_are_the_cuts_that_can_be_keys() {
        let probes = Probes::new(["/api/", "/a", "/b", "", "/static/x"].into_iter());
        let heads: Vec<&str> = probes.heads("/api/v1").collect();
        assert_eq!(heads, ["/api/", "/a", ""]);
        assert_eq!(probes.heads("/é").collect::<Vec<_>>(), [""]);
    }
}
