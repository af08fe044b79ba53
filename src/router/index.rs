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
//!
//! Exact hosts sit in shards by hash ([`Shards`]), and everything else in one
//! shared part: a new generation whose routes changed in place (an edited
//! Ingress) rebuilds only the shards its changed routes' hosts fall in, and
//! shares every other shard, and the rest when no wildcard or host-less
//! route changed, with the last generation.

mod shards;

use super::RequestInfo;
use super::hash::FastMap;
use super::paths::{Candidate, Hit, PathIndex};
use super::summary::{HostRank, Summary};
use crate::model::{HostMatch, Route, Shared};
use shards::Shards;
use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Path indexes grouped by host condition.
#[derive(Default)]
pub(super) struct Index {
    /// Exact hosts.
    exact: Shards,
    /// Wildcard hosts and routes without hosts.
    rest: Arc<Rest>,
}

/// The buckets of wildcard hosts and of routes without hosts.
#[derive(Default)]
struct Rest {
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

/// Which bucket of [`Rest`] a host condition goes to while building.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum RestKey<'r> {
    Any,
    Leading(&'r str),
    Trailing(&'r str),
}

/// Candidates by bucket, before the buckets are built.
#[derive(Default)]
struct Staged<'r> {
    exact: FastMap<&'r str, Vec<Candidate<'r>>>,
    rest: FastMap<RestKey<'r>, Vec<Candidate<'r>>>,
}

/// More routes changed than this (beside a sixteenth of all), and a new
/// generation's index is built whole: rebuilding most shards one by one
/// would cost as much.
const FEW_CHANGED: usize = 64;

// === impl Index ===

impl Index {
    /// Indexes every (host, path) pair of every route.
    pub(super) fn build(routes: &[Shared<Route>]) -> Self {
        let mut staged = Staged::default();
        staged.exact.reserve(routes.len());
        staged.add(routes, |_| true, true);
        let count = Shards::count_for(staged.exact.len());
        Index {
            exact: Shards::build(count, staged.exact, None),
            rest: Arc::new(Rest::build(staged.rest)),
        }
    }

    /// The index of `routes` from `last`, the index of `before`, when the
    /// routes changed in place (the same number, most of them the very
    /// same `Arc`s at the same positions): only the shards and the rest
    /// that a changed route (old or new) has a host in are built again, so
    /// every entry elsewhere still names its route by the right position.
    /// `None` when a whole build is due.
    pub(super) fn next(
        routes: &[Shared<Route>],
        before: &[Shared<Route>],
        last: &Index,
    ) -> Option<Self> {
        if routes.len() != before.len() {
            return None;
        }
        let changed: Vec<usize> = (0..routes.len())
            .filter(|&i| !Shared::ptr_eq(&routes[i], &before[i]))
            .collect();
        if changed.len() > FEW_CHANGED + routes.len() / 16 {
            return None;
        }
        let count = last.exact.count();
        let mut affected = vec![false; count];
        let mut rest_changed = false;
        for &i in &changed {
            for route in [&routes[i], &before[i]] {
                rest_changed |= route.hosts.is_empty();
                for host in &route.hosts {
                    match host {
                        HostMatch::Exact(h) => affected[Shards::shard(h, count)] = true,
                        _ => rest_changed = true,
                    }
                }
            }
        }
        // Only the hosts of the marked shards: no room for all of them.
        let mut staged = Staged::default();
        staged.add(
            routes,
            |host| affected[Shards::shard(host, count)],
            rest_changed,
        );
        Some(Index {
            exact: Shards::build(count, staged.exact, Some((&last.exact, &affected))),
            rest: if rest_changed {
                Arc::new(Rest::build(staged.rest))
            } else {
                Arc::clone(&last.rest)
            },
        })
    }

    /// The best match for `req` among all buckets its host selects.
    pub(super) fn find(&self, routes: &[Shared<Route>], req: &RequestInfo<'_>) -> Option<Hit> {
        let mut best = None;
        if let Some(tiers) = self.exact.get(req.host) {
            tiers.search(routes, req, &mut best);
        }
        let rest = &*self.rest;
        if rest.wildcards_may_win(best) {
            rest.search_wildcards(routes, req, &mut best);
        }
        rest.any.search(routes, req, &mut best);
        best
    }

    /// (exact hosts, wildcard hosts, indexed (route, host, path) entries).
    pub(super) fn stats(&self) -> (usize, usize, usize) {
        let rest = &*self.rest;
        let wildcards = rest.leading.len() + rest.trailing.len() + rest.irregular.len();
        let entries = self
            .exact
            .values()
            .chain(rest.leading.values())
            .chain(rest.trailing.values())
            .chain(rest.irregular.iter().map(|(_, t)| t))
            .chain(std::iter::once(&rest.any))
            .flat_map(|t| &t.0)
            .map(PathIndex::len)
            .sum();
        (self.exact.len(), wildcards, entries)
    }
}

// === impl Rest ===

impl Rest {
    fn build(staged: FastMap<RestKey<'_>, Vec<Candidate<'_>>>) -> Self {
        let mut rest = Rest::default();
        for (key, candidates) in staged {
            if key != RestKey::Any {
                let fields = candidates.iter().map(|c| c.summary.fields).max();
                rest.wildcard_fields = rest.wildcard_fields.max(fields);
            }
            let tiers = Tiers::build(candidates);
            match key {
                RestKey::Any => rest.any = tiers,
                RestKey::Leading(s) if s.starts_with('.') => {
                    rest.leading.insert(s.into(), tiers);
                }
                RestKey::Trailing(p) if p.ends_with('.') => {
                    rest.trailing.insert(p.into(), tiers);
                }
                RestKey::Leading(s) => rest
                    .irregular
                    .push((HostMatch::WildcardPrefix(s.into()), tiers)),
                RestKey::Trailing(p) => rest
                    .irregular
                    .push((HostMatch::WildcardSuffix(p.into()), tiers)),
            }
        }
        rest
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
}

// === impl Staged ===

impl<'r> Staged<'r> {
    /// Adds the candidates of every route for the exact hosts `exact`
    /// accepts and, when `rest`, for wildcard hosts and routes without
    /// hosts.
    fn add(&mut self, routes: &'r [Shared<Route>], exact: impl Fn(&str) -> bool, rest: bool) {
        let staged = self;
        for (index, route) in routes.iter().enumerate() {
            // No host (or path) condition is one entry without it; indexes
            // instead of collected lists, as this runs on every publish.
            let hosts = (0..route.hosts.len().max(1)).map(|i| route.hosts.get(i));
            let paths =
                || (0..route.paths.len().max(1)).map(|i| (!route.paths.is_empty()).then_some(i));
            for host in hosts {
                let bucket = match host {
                    Some(HostMatch::Exact(h)) if exact(h) => {
                        staged.exact.entry(h.as_str()).or_default()
                    }
                    Some(HostMatch::Exact(_)) => continue,
                    _ if !rest => continue,
                    None => staged.rest.entry(RestKey::Any).or_default(),
                    Some(HostMatch::WildcardPrefix(s)) => {
                        staged.rest.entry(RestKey::Leading(s)).or_default()
                    }
                    Some(HostMatch::WildcardSuffix(p)) => {
                        staged.rest.entry(RestKey::Trailing(p)).or_default()
                    }
                };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::fixtures::{RouteFixture, route};

    fn routes(hosts: usize) -> Vec<Shared<Route>> {
        (0..hosts)
            .map(|h| {
                Shared::new(
                    route(&format!("r{h}"))
                        .host(&format!("h{h}.test"))
                        .prefix("/"),
                )
            })
            .collect()
    }

    #[test]
    fn an_edit_rebuilds_only_the_shards_of_the_hosts_it_touches() {
        let before = routes(400);
        let last = Index::build(&before);
        let count = last.exact.count();
        assert!(count >= 8, "{count}");
        // Route 7 moves from h7.test to h7-new.test.
        let mut after = before.clone();
        after[7] = Shared::new(route("r7").host("h7-new.test").prefix("/"));
        let next = Index::next(&after, &before, &last).expect("an in-place edit");
        let touched = [
            Shards::shard("h7.test", count),
            Shards::shard("h7-new.test", count),
        ];
        for i in 0..count {
            assert_eq!(
                next.exact.shares(&last.exact, i),
                !touched.contains(&i),
                "shard {i}"
            );
        }
        assert!(
            Arc::ptr_eq(&next.rest, &last.rest),
            "no wildcard or host-less route changed"
        );
        assert_eq!(next.exact.len(), 400);
        assert!(next.exact.get("h7.test").is_none());
        assert!(next.exact.get("h7-new.test").is_some());
        // A route added or removed shifts positions: a whole build.
        assert!(Index::next(&after[1..], &before, &last).is_none());
        // A host-less route changed: the rest is built again.
        let mut hostless = before.clone();
        hostless[3] = Shared::new(route("r3").prefix("/"));
        let next = Index::next(&hostless, &before, &last).expect("an in-place edit");
        assert!(!Arc::ptr_eq(&next.rest, &last.rest));
    }
}
