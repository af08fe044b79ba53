//! The path index of one tier: every (route, path) pair that shares a host
//! condition and a number of match fields. Those pairs differ only in their
//! path rank and declaration order, so lookups go class by class (exact,
//! regex, prefix) and the first hit is the tier's best.

use super::RequestInfo;
use super::hash::FastMap;
use super::literal::required_prefix;
use super::summary::{HostRank, PathRank, Summary, prefix_base, regex_source};
use crate::model::{PathMatch, Route};
use std::cmp::Reverse;

/// One way a route can match, as stored in an index.
#[derive(Clone, Copy, Debug)]
struct Entry {
    summary: Summary,
    /// The route has no method condition, so the route table need not be
    /// consulted when this entry's path matches.
    any_method: bool,
}

/// A regex entry with the literal its matches start with.
struct RegexEntry {
    entry: Entry,
    literal: Box<str>,
}

/// One length at which a request path is looked up in `prefixes`.
struct Probe {
    len: usize,
    /// Bit set of the last bytes of the keys of this length: a path whose
    /// byte at `len - 1` is not among them needs no hashing.
    last: [u64; 4],
}

/// A match found by the index, before it becomes a [`super::RouteMatch`].
#[derive(Clone, Copy, Debug)]
pub(super) struct Hit {
    pub(super) summary: Summary,
    pub(super) strip_len: usize,
}

/// Input for [`PathIndex::build`]: a summary and the path it was made from
/// (`None` for a route without paths, which matches every path).
pub(super) struct Candidate<'t> {
    pub(super) summary: Summary,
    pub(super) any_method: bool,
    pub(super) path: Option<&'t PathMatch>,
}

/// Entries of one tier, arranged for lookup.
pub(super) struct PathIndex {
    /// (fields, host rank) shared by every entry.
    tier: (u8, HostRank),
    /// `Exact` paths.
    exact: FastMap<Box<str>, Vec<Entry>>,
    /// Regex paths in summary order; tried one by one, each only when the
    /// path starts with its literal.
    regex: Vec<RegexEntry>,
    /// `Prefix` bases (`/foo` for `/foo/`), for a path equal to a base.
    whole: FastMap<Box<str>, Vec<Entry>>,
    /// Plain prefixes by their text and `Prefix` paths by base + `/`; a
    /// request path is probed at each length in `probes`.
    prefixes: FastMap<Box<str>, Vec<Entry>>,
    /// Distinct key lengths of `prefixes`, longest first.
    probes: Vec<Probe>,
}

// === impl PathIndex ===

impl PathIndex {
    /// Builds the index of one tier. Every candidate must have the same
    /// `Summary::tier`.
    pub(super) fn build(mut candidates: Vec<Candidate<'_>>) -> Self {
        // Greatest summary first, so each bucket vector below is in lookup
        // order without sorting it again.
        candidates.sort_by_key(|c| Reverse(c.summary));
        let tier = candidates
            .first()
            .map_or((0, HostRank::Any), |c| c.summary.tier());
        let mut index = PathIndex {
            tier,
            exact: FastMap::default(),
            regex: Vec::new(),
            whole: FastMap::default(),
            prefixes: FastMap::default(),
            probes: Vec::new(),
        };
        for c in candidates {
            debug_assert_eq!(c.summary.tier(), tier);
            let entry = Entry {
                summary: c.summary,
                any_method: c.any_method,
            };
            match c.path {
                Some(PathMatch::Exact(p)) => push(&mut index.exact, p, entry),
                Some(PathMatch::Regex(re)) => index.regex.push(RegexEntry {
                    entry,
                    literal: required_prefix(regex_source(re)).into(),
                }),
                Some(PathMatch::Prefix(p)) => {
                    let base = prefix_base(p);
                    push(&mut index.whole, base, entry);
                    push(&mut index.prefixes, &format!("{base}/"), entry);
                }
                Some(PathMatch::Plain(p)) => push(&mut index.prefixes, p, entry),
                None => push(&mut index.prefixes, "", entry),
            }
        }
        index.probes = probes(index.prefixes.keys());
        index
    }

    /// The tier every entry of this index has.
    pub(super) fn tier(&self) -> (u8, HostRank) {
        self.tier
    }

    /// Number of entries (for `Debug`).
    pub(super) fn len(&self) -> usize {
        let sum = |m: &FastMap<Box<str>, Vec<Entry>>| m.values().map(Vec::len).sum::<usize>();
        // `whole` repeats the `Prefix` entries of `prefixes`.
        sum(&self.exact) + self.regex.len() + sum(&self.prefixes)
    }

    /// The best entry of this tier that matches `req`.
    pub(super) fn search<'i>(&'i self, routes: &[Route], req: &RequestInfo<'_>) -> Option<Hit> {
        let path = req.path;
        let allowed = |e: &Entry| e.any_method || method_allowed(routes, e, req.method);
        let first = |bucket: Option<&'i Vec<Entry>>| bucket?.iter().find(|e| allowed(e));
        let hit = |e: &Entry, strip_len| Hit {
            summary: e.summary,
            strip_len,
        };

        if let Some(e) = first(self.exact.get(path)) {
            return Some(hit(e, path.len()));
        }
        for RegexEntry { entry: e, literal } in &self.regex {
            if path.starts_with(&**literal)
                && allowed(e)
                && let Some(len) = regex_match(routes, e, path)
            {
                return Some(hit(e, len));
            }
        }
        // A path equal to a `Prefix` base ranks as base + `/`, one byte
        // longer than anything probed below.
        if let Some(e) = first(self.whole.get(path)) {
            return Some(hit(e, path.len()));
        }
        let start = self.probes.partition_point(|p| p.len > path.len());
        for probe in &self.probes[start..] {
            if !probe.may_end(path.as_bytes()) {
                continue;
            }
            let len = probe.len;
            // `get` is `None` inside a UTF-8 sequence, where no key can end.
            let Some(e) = path
                .get(..len)
                .and_then(|head| first(self.prefixes.get(head)))
            else {
                continue;
            };
            // A `Prefix` key ends with the `/` that stays on the path.
            let strip_len = match e.summary.path {
                PathRank::Prefix {
                    element_wise: true, ..
                } => len - 1,
                _ => len,
            };
            return Some(hit(e, strip_len));
        }
        None
    }
}

/// One probe per distinct key length, longest first.
fn probes<'k>(keys: impl Iterator<Item = &'k Box<str>>) -> Vec<Probe> {
    let mut by_len: FastMap<usize, [u64; 4]> = FastMap::default();
    for key in keys {
        let last = by_len.entry(key.len()).or_default();
        if let Some(&byte) = key.as_bytes().last() {
            last[usize::from(byte >> 6)] |= 1 << (byte & 63);
        }
    }
    let mut probes: Vec<Probe> = by_len
        .into_iter()
        .map(|(len, last)| Probe { len, last })
        .collect();
    probes.sort_unstable_by_key(|p| Reverse(p.len));
    probes
}

// === impl Probe ===

impl Probe {
    /// Whether `path[..len]` can be a key: its last byte is one some key of
    /// this length ends with (the empty key always can).
    fn may_end(&self, path: &[u8]) -> bool {
        match self.len.checked_sub(1).and_then(|i| path.get(i)) {
            Some(&byte) => self.last[usize::from(byte >> 6)] & (1 << (byte & 63)) != 0,
            None => self.len == 0,
        }
    }
}

fn push(map: &mut FastMap<Box<str>, Vec<Entry>>, key: &str, entry: Entry) {
    match map.get_mut(key) {
        Some(entries) => entries.push(entry),
        None => {
            map.insert(key.into(), vec![entry]);
        }
    }
}

fn method_allowed(routes: &[Route], e: &Entry, method: &str) -> bool {
    routes
        .get(e.summary.route())
        .is_some_and(|r| r.methods.iter().any(|m| m == method))
}

/// Length of the regex match at the start of `path`, if any.
fn regex_match(routes: &[Route], e: &Entry, path: &str) -> Option<usize> {
    let route = routes.get(e.summary.route())?;
    let PathMatch::Regex(re) = route.paths.get(e.summary.path_pos())? else {
        return None;
    };
    // The model anchors with a leading `^`, which does not anchor every
    // branch of an alternation; a match must still start at 0.
    re.regex()
        .find(path)
        .filter(|m| m.start() == 0)
        .map(|m| m.end())
}
