//! The path index of one tier: every (route, path) pair that shares a host
//! condition and a number of match fields. Those pairs differ only in their
//! path rank and declaration order, so lookups go class by class (exact,
//! regex, prefix) and the first hit is the tier's best.

use super::RequestInfo;
use super::hash::FastMap;
use super::probe::Probes;
use super::regexes::RegexList;
use super::summary::{HostRank, PathRank, Summary, prefix_base};
use crate::model::{PathMatch, Route, Shared};
use std::cmp::Reverse;

/// One way a route can match, as stored in an index.
#[derive(Clone, Copy, Debug)]
pub(super) struct Entry {
    pub(super) summary: Summary,
    /// The route has no method, header or SNI condition, so the route
    /// table need not be consulted when this entry's path matches.
    pub(super) unconditional: bool,
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
    pub(super) unconditional: bool,
    pub(super) path: Option<&'t PathMatch>,
}

/// Entries of one tier, arranged for lookup.
pub(super) struct PathIndex {
    /// (fields, host rank) shared by every entry.
    tier: (u8, HostRank),
    /// `Exact` paths.
    exact: FastMap<Box<str>, Vec<Entry>>,
    /// Regex paths, tried in summary order.
    regex: RegexList,
    /// `Prefix` bases (`/foo` for `/foo/`), for a path equal to a base.
    whole: FastMap<Box<str>, Vec<Entry>>,
    /// Plain prefixes by their text and `Prefix` paths by base + `/`; a
    /// request path is probed at each length in `probes`.
    prefixes: FastMap<Box<str>, Vec<Entry>>,
    /// Lengths at which to cut a path to look it up in `prefixes`.
    probes: Probes,
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
            regex: RegexList::default(),
            whole: FastMap::default(),
            prefixes: FastMap::default(),
            probes: Probes::default(),
        };
        for c in candidates {
            debug_assert_eq!(c.summary.tier(), tier);
            let entry = Entry {
                summary: c.summary,
                unconditional: c.unconditional,
            };
            match c.path {
                Some(PathMatch::Exact(p)) => push(&mut index.exact, p, entry),
                Some(re @ PathMatch::Regex(_)) => index.regex.push(entry, re),
                Some(PathMatch::Prefix(p)) => {
                    let base = prefix_base(p);
                    push(&mut index.whole, base, entry);
                    push(&mut index.prefixes, &format!("{base}/"), entry);
                }
                Some(PathMatch::Plain(p)) => push(&mut index.prefixes, p, entry),
                None => push(&mut index.prefixes, "", entry),
            }
        }
        index.regex.finish();
        index.probes = Probes::new(index.prefixes.keys().map(|k| &**k));
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
    pub(super) fn search<'i>(
        &'i self,
        routes: &[Shared<Route>],
        req: &RequestInfo<'_>,
    ) -> Option<Hit> {
        let path = req.path;
        let allowed = |e: &Entry| e.unconditional || admits(routes, e, req);
        let first = |bucket: Option<&'i Vec<Entry>>| bucket?.iter().find(|e| allowed(e));
        let hit = |e: &Entry, strip_len| Hit {
            summary: e.summary,
            strip_len,
        };

        if let Some(e) = first(self.exact.get(path)) {
            return Some(hit(e, path.len()));
        }
        if let Some((e, len)) = self.regex.first_match(routes, path, allowed) {
            return Some(hit(e, len));
        }
        // A path equal to a `Prefix` base ranks as base + `/`, one byte
        // longer than anything probed below.
        if let Some(e) = first(self.whole.get(path)) {
            return Some(hit(e, path.len()));
        }
        for head in self.probes.heads(path) {
            let Some(e) = first(self.prefixes.get(head)) else {
                continue;
            };
            let len = head.len();
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

fn push(map: &mut FastMap<Box<str>, Vec<Entry>>, key: &str, entry: Entry) {
    match map.get_mut(key) {
        Some(entries) => entries.push(entry),
        None => {
            map.insert(key.into(), vec![entry]);
        }
    }
}

/// The route's conditions besides host and path.
fn admits(routes: &[Shared<Route>], e: &Entry, req: &RequestInfo<'_>) -> bool {
    let Some(r) = routes.get(e.summary.route()) else {
        return false;
    };
    (r.methods.is_empty() || r.methods.iter().any(|m| m == req.method))
        && r.headers.iter().all(|h| h.matches(req.headers))
        && (r.snis.is_empty() || req.sni.is_none_or(|sni| r.snis.iter().any(|s| s == sni)))
}
