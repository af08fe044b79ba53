//! The path index of one tier: every (route, path) pair that shares a host
//! condition and a number of match fields. Those pairs differ only in their
//! path rank and declaration order, so lookups go class by class (exact,
//! regex, prefix) and the first hit is the tier's best. A tier of a few
//! plain entries (one Ingress per host) is instead a short list in that
//! same order, scanned until the first entry that matches.

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
    lookup: Lookup,
}

/// Most tiers hold one route's one or two paths (an Ingress per host):
/// those are a short list scanned in order, which is built and searched
/// faster than hash maps and takes a tenth of their memory. Tiers with
/// more entries, or any regex, get the maps.
enum Lookup {
    Few(Box<[Few]>),
    Many(Box<Many>),
}

/// At most this many entries, none a regex: a [`Lookup::Few`].
const FEW: usize = 8;

/// One entry of a [`Lookup::Few`], greatest summary first.
struct Few {
    path: FewPath,
    entry: Entry,
}

/// The path condition of a [`Few`] entry.
enum FewPath {
    /// `Exact`: the path equals it.
    Exact(Box<str>),
    /// `Prefix`, by its base (`/foo` for `/foo/`): the path equals the
    /// base or starts with base + `/`.
    Prefix(Box<str>),
    /// `Plain`: the path starts with it.
    Plain(Box<str>),
    /// No path condition: every path.
    Any,
}

/// The maps of a tier with many entries.
struct Many {
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
        // Greatest summary first, so each list below is in lookup order
        // without sorting it again.
        candidates.sort_by_key(|c| Reverse(c.summary));
        let tier = candidates
            .first()
            .map_or((0, HostRank::Any), |c| c.summary.tier());
        debug_assert!(candidates.iter().all(|c| c.summary.tier() == tier));
        let few = candidates.len() <= FEW
            && !candidates
                .iter()
                .any(|c| matches!(c.path, Some(PathMatch::Regex(_))));
        let lookup = if few {
            Lookup::Few(candidates.into_iter().map(Few::of).collect())
        } else {
            Lookup::Many(Box::new(Many::build(candidates)))
        };
        PathIndex { tier, lookup }
    }

    /// The tier every entry of this index has.
    pub(super) fn tier(&self) -> (u8, HostRank) {
        self.tier
    }

    /// Number of entries (for `Debug`).
    pub(super) fn len(&self) -> usize {
        match &self.lookup {
            Lookup::Few(few) => few.len(),
            Lookup::Many(many) => many.len(),
        }
    }

    /// The best entry of this tier that matches `req`.
    pub(super) fn search(&self, routes: &[Shared<Route>], req: &RequestInfo<'_>) -> Option<Hit> {
        let allowed = |e: &Entry| e.unconditional || admits(routes, e, req);
        let (entry, strip_len) = match &self.lookup {
            // Greatest summary first: the first entry that matches is the
            // tier's best, as the maps below find it class by class.
            Lookup::Few(few) => few.iter().find_map(|f| {
                let len = f.path.strip_len(req.path)?;
                allowed(&f.entry).then_some((&f.entry, len))
            })?,
            Lookup::Many(many) => many.search(routes, req.path, allowed)?,
        };
        Some(Hit {
            summary: entry.summary,
            strip_len,
        })
    }
}

// === impl Few ===

impl Few {
    fn of(c: Candidate<'_>) -> Self {
        let path = match c.path {
            Some(PathMatch::Exact(p)) => FewPath::Exact(p.as_str().into()),
            Some(PathMatch::Prefix(p)) => FewPath::Prefix(prefix_base(p).into()),
            Some(PathMatch::Plain(p)) => FewPath::Plain(p.as_str().into()),
            None => FewPath::Any,
            Some(PathMatch::Regex(_)) => unreachable!("a tier with a regex has maps"),
        };
        Few {
            path,
            entry: Entry {
                summary: c.summary,
                unconditional: c.unconditional,
            },
        }
    }
}

// === impl FewPath ===

impl FewPath {
    /// How much of `path` the condition matched (what `strip_path`
    /// removes), or `None` when it does not match.
    fn strip_len(&self, path: &str) -> Option<usize> {
        match self {
            FewPath::Exact(p) => (path == &**p).then_some(path.len()),
            FewPath::Prefix(base) => {
                let rest = path.strip_prefix(&**base)?;
                (rest.is_empty() || rest.starts_with('/')).then_some(base.len())
            }
            FewPath::Plain(p) => path.starts_with(&**p).then_some(p.len()),
            FewPath::Any => Some(0),
        }
    }
}

// === impl Many ===

impl Many {
    /// Candidates greatest summary first.
    fn build(candidates: Vec<Candidate<'_>>) -> Self {
        let mut index = Many {
            exact: FastMap::default(),
            regex: RegexList::default(),
            whole: FastMap::default(),
            prefixes: FastMap::default(),
            probes: Probes::default(),
        };
        for c in candidates {
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

    fn len(&self) -> usize {
        let sum = |m: &FastMap<Box<str>, Vec<Entry>>| m.values().map(Vec::len).sum::<usize>();
        // `whole` repeats the `Prefix` entries of `prefixes`.
        sum(&self.exact) + self.regex.len() + sum(&self.prefixes)
    }

    /// The best allowed entry matching `path`, and how much of the path it
    /// matched.
    fn search<'i>(
        &'i self,
        routes: &[Shared<Route>],
        path: &str,
        allowed: impl Fn(&Entry) -> bool,
    ) -> Option<(&'i Entry, usize)> {
        let first = |bucket: Option<&'i Vec<Entry>>| bucket?.iter().find(|e| allowed(e));
        if let Some(e) = first(self.exact.get(path)) {
            return Some((e, path.len()));
        }
        if let Some((e, len)) = self.regex.first_match(routes, path, &allowed) {
            return Some((e, len));
        }
        // A path equal to a `Prefix` base ranks as base + `/`, one byte
        // longer than anything probed below.
        if let Some(e) = first(self.whole.get(path)) {
            return Some((e, path.len()));
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
            return Some((e, strip_len));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::fixtures::{RouteFixture, get, route};
    use proptest::prelude::*;

    const PATHS: &[&str] = &["", "/", "/a", "/a/", "/a/b", "/ab", "/a//", "/é", "/a/é"];

    fn condition() -> impl Strategy<Value = PathMatch> {
        (0..3usize, prop::sample::select(PATHS)).prop_map(|(kind, p)| match kind {
            0 => PathMatch::Exact(p.into()),
            1 => PathMatch::Prefix(p.into()),
            _ => PathMatch::Plain(p.into()),
        })
    }

    proptest! {
        /// The short list finds what the maps find, for every path.
        #[test]
        fn few_finds_what_the_maps_find(
            conditions in prop::collection::vec(condition(), 1..=FEW),
            with_paths in any::<bool>(),
            get_only in any::<bool>(),
        ) {
            // One tier: every route sets paths or none, and methods or none
            // (chosen once, so that no case is rejected).
            let routes: Vec<Shared<Route>> = conditions
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let mut r = route(&format!("r{i}"));
                    if with_paths {
                        r = r.with(|r| r.paths.push(c.clone()));
                    }
                    if get_only {
                        r = r.with(|r| r.methods.push("GET".into()));
                    }
                    Shared::new(r)
                })
                .collect();
            let candidates = || {
                routes.iter().enumerate().map(|(i, r)| Candidate {
                    summary: Summary::new(i, r, None, (!r.paths.is_empty()).then_some(0)),
                    unconditional: r.methods.is_empty(),
                    path: r.paths.first(),
                })
            };
            let tiers: std::collections::BTreeSet<_> = candidates().map(|c| c.summary.tier()).collect();
            prop_assert_eq!(tiers.len(), 1);
            let few = PathIndex::build(candidates().collect());
            prop_assert!(matches!(few.lookup, Lookup::Few(_)));
            let mut sorted: Vec<Candidate<'_>> = candidates().collect();
            sorted.sort_by_key(|c| Reverse(c.summary));
            let many = PathIndex { tier: few.tier, lookup: Lookup::Many(Box::new(Many::build(sorted))) };
            for path in PATHS.iter().chain(&["/a/b/c", "/abc", "/b", "/a/é/x"]) {
                for method in ["GET", "POST"] {
                    let req = get("a.test", path).method(method);
                    let (a, b) = (few.search(&routes, &req.info()), many.search(&routes, &req.info()));
                    let key = |h: Option<Hit>| h.map(|h| (h.summary, h.strip_len));
                    prop_assert_eq!(key(a), key(b), "{} {}", method, path);
                }
            }
        }
    }
}
