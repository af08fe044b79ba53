//! The host side of the index: (route, host, path) entries bucketed by the
//! host condition, so a request only looks at routes whose host can match.
//!
//! ```text
//!  request host "a.b.example"
//!    ├─ exact["a.b.example"]                     ┐
//!    ├─ leading[".b.example"], leading[".example"] │ each a list of tiers
//!    ├─ trailing["a."], trailing["a.b."]           │ (one PathIndex per number
//!    ├─ irregular wildcards (matched one by one)   │  of match fields, most first)
//!    └─ any (routes without hosts)               ┘
//! ```
//!
//! Every tier of every bucket yields its best hit; the greatest summary over
//! all of them wins. A tier whose (fields, host rank) is below the best hit so
//! far cannot win and is skipped without looking at its paths, and the
//! wildcard maps are not consulted at all when no wildcard entry could win
//! (the usual case once an exact host has matched).

use super::RequestInfo;
use super::hash::FastMap;
use super::paths::{Candidate, Hit, PathIndex};
use super::summary::{HostRank, Summary};
use crate::model::{HostMatch, Route, Shared};
use std::cmp::Reverse;
use std::collections::BTreeMap;

/// Path indexes grouped by host condition.
#[derive(Default)]
pub(super) struct Index {
    /// Exact hosts.
    exact: FastMap<Box<str>, Tiers>,
    /// `*.example` patterns, keyed by `.example`.
    leading: FastMap<Box<str>, Tiers>,
    /// `example.*` patterns, keyed by `example.`.
    trailing: FastMap<Box<str>, Tiers>,
    /// Wildcards that do not stop at a dot (`*example`); Kong does not
    /// produce them, but the model allows them, so they are matched directly.
    irregular: Vec<(HostMatch, Tiers)>,
    /// Routes without hosts.
    any: Tiers,
    /// The most match fields of any wildcard entry: once the best hit's
    /// tier is above `(this, the longest wildcard)`, no wildcard lookups.
    wildcard_fields: Option<u8>,
}

/// The tiers of one host condition, most match fields first.
#[derive(Default)]
struct Tiers(Vec<PathIndex>);

/// Which bucket a host condition goes to while building.
#[derive(Clone, PartialEq, Eq, Hash)]
enum HostKey {
    Any,
    Exact(Box<str>),
    Leading(Box<str>),
    Trailing(Box<str>),
}

// === impl Index ===

impl Index {
    /// Indexes every (host, path) pair of every route.
    pub(super) fn build(routes: &[Shared<Route>]) -> Self {
        let mut staged: FastMap<HostKey, Vec<Candidate<'_>>> = FastMap::default();
        staged.reserve(routes.len());
        for (index, route) in routes.iter().enumerate() {
            // No host (or path) condition is one entry without it; indexes
            // instead of collected lists, as this runs on every publish.
            let hosts = (0..route.hosts.len().max(1)).map(|i| route.hosts.get(i));
            let paths =
                || (0..route.paths.len().max(1)).map(|i| (!route.paths.is_empty()).then_some(i));
            for host in hosts {
                let key = HostKey::of(host);
                let bucket = staged.entry(key).or_default();
                for pos in paths() {
                    bucket.push(Candidate {
                        summary: Summary::new(index, route, host, pos),
                        unconditional: route.methods.is_empty()
                            && route.headers.is_empty()
                            && route.snis.is_empty(),
                        path: pos.and_then(|p| route.paths.get(p)),
                    });
                }
            }
        }

        let mut index = Index::default();
        // Most buckets are exact hosts: one allocation, not a dozen
        // doublings of a map of tens of thousands.
        index.exact.reserve(staged.len());
        for (key, candidates) in staged {
            if !matches!(key, HostKey::Any | HostKey::Exact(_)) {
                let fields = candidates.iter().map(|c| c.summary.fields).max();
                index.wildcard_fields = index.wildcard_fields.max(fields);
            }
            let tiers = Tiers::build(candidates);
            match key {
                HostKey::Any => index.any = tiers,
                HostKey::Exact(h) => {
                    index.exact.insert(h, tiers);
                }
                HostKey::Leading(s) if s.starts_with('.') => {
                    index.leading.insert(s, tiers);
                }
                HostKey::Trailing(p) if p.ends_with('.') => {
                    index.trailing.insert(p, tiers);
                }
                HostKey::Leading(s) => index
                    .irregular
                    .push((HostMatch::WildcardPrefix(s.into()), tiers)),
                HostKey::Trailing(p) => index
                    .irregular
                    .push((HostMatch::WildcardSuffix(p.into()), tiers)),
            }
        }
        index
    }

    /// The best match for `req` among all buckets its host selects.
    pub(super) fn find(&self, routes: &[Shared<Route>], req: &RequestInfo<'_>) -> Option<Hit> {
        let host = req.host;
        let mut best = None;
        if let Some(tiers) = self.exact.get(host) {
            tiers.search(routes, req, &mut best);
        }
        if self.wildcards_may_win(best) {
            self.search_wildcards(routes, req, &mut best);
        }
        self.any.search(routes, req, &mut best);
        best
    }

    fn wildcards_may_win(&self, best: Option<Hit>) -> bool {
        let Some(fields) = self.wildcard_fields else {
            return false;
        };
        let top = HostRank::Wildcard {
            len: usize::MAX,
            leading: true,
        };
        best.is_none_or(|b| b.summary.tier() < (fields, top))
    }

    fn search_wildcards(
        &self,
        routes: &[Shared<Route>],
        req: &RequestInfo<'_>,
        best: &mut Option<Hit>,
    ) {
        let host = req.host;
        if !self.leading.is_empty() || !self.trailing.is_empty() {
            for (i, _) in host.match_indices('.') {
                // `*.example` needs at least one label before the suffix,
                // `example.*` at least one byte after the prefix.
                if i > 0
                    && let Some(tiers) = self.leading.get(&host[i..])
                {
                    tiers.search(routes, req, best);
                }
                if i + 1 < host.len()
                    && let Some(tiers) = self.trailing.get(&host[..=i])
                {
                    tiers.search(routes, req, best);
                }
            }
        }
        for (pattern, tiers) in &self.irregular {
            if pattern.matches(host) {
                tiers.search(routes, req, best);
            }
        }
    }

    /// (exact hosts, wildcard hosts, indexed (route, host, path) entries).
    pub(super) fn stats(&self) -> (usize, usize, usize) {
        let wildcards = self.leading.len() + self.trailing.len() + self.irregular.len();
        let entries = self
            .exact
            .values()
            .chain(self.leading.values())
            .chain(self.trailing.values())
            .chain(self.irregular.iter().map(|(_, t)| t))
            .chain(std::iter::once(&self.any))
            .flat_map(|t| &t.0)
            .map(PathIndex::len)
            .sum();
        (self.exact.len(), wildcards, entries)
    }
}

// === impl Tiers ===

impl Tiers {
    fn build(candidates: Vec<Candidate<'_>>) -> Self {
        // Usually every route of a host sets the same kinds of condition.
        let fields = candidates.first().map(|c| c.summary.fields);
        if fields.is_some() && candidates.iter().all(|c| Some(c.summary.fields) == fields) {
            return Tiers(vec![PathIndex::build(candidates)]);
        }
        let mut by_fields: BTreeMap<Reverse<u8>, Vec<Candidate<'_>>> = BTreeMap::new();
        for c in candidates {
            by_fields
                .entry(Reverse(c.summary.fields))
                .or_default()
                .push(c);
        }
        Tiers(by_fields.into_values().map(PathIndex::build).collect())
    }

    /// Updates `best` with this host condition's best hit, if it is better.
    fn search(&self, routes: &[Shared<Route>], req: &RequestInfo<'_>, best: &mut Option<Hit>) {
        for index in &self.0 {
            // Tiers are in descending order, so once one cannot beat the best
            // hit, none of the following can.
            if best.is_some_and(|b| b.summary.tier() > index.tier()) {
                return;
            }
            if let Some(hit) = index.search(routes, req) {
                if best.is_none_or(|b| hit.summary > b.summary) {
                    *best = Some(hit);
                }
                return;
            }
        }
    }
}

// === impl HostKey ===

impl HostKey {
    fn of(host: Option<&HostMatch>) -> Self {
        match host {
            None => HostKey::Any,
            Some(HostMatch::Exact(h)) => HostKey::Exact(h.as_str().into()),
            Some(HostMatch::WildcardPrefix(s)) => HostKey::Leading(s.as_str().into()),
            Some(HostMatch::WildcardSuffix(p)) => HostKey::Trailing(p.as_str().into()),
        }
    }
}
