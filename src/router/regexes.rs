//! The regex paths of one tier, tried in precedence order. Each regex is
//! filed under the literal its matches must start with, so a lookup runs
//! only the regexes whose literal the path starts with (plus those without
//! one) instead of every regex in the tier.

use super::hash::FastMap;
use super::literal::required_prefix;
use super::paths::Entry;
use super::probe::Probes;
use super::summary::regex_source;
use crate::model::{PathMatch, Route, Shared};

/// Candidate lists a lookup merges at most; past that it scans the tier.
const MERGE_LISTS: usize = 8;

/// Regex entries of one tier.
#[derive(Default)]
pub(super) struct RegexList {
    /// Entries in precedence order; positions below index into this.
    entries: Vec<Entry>,
    /// The literal of each entry.
    literals: Vec<Box<str>>,
    /// Positions (ascending) of the entries with each non-empty literal.
    by_literal: FastMap<Box<str>, Vec<usize>>,
    /// Positions (ascending) of the entries without a literal.
    unfiltered: Vec<usize>,
    /// Lengths of the keys of `by_literal`.
    probes: Probes,
}

// === impl RegexList ===

impl RegexList {
    /// Files `entry`, whose path is `regex`. Entries must come in precedence
    /// order; call [`RegexList::finish`] after the last one.
    pub(super) fn push(&mut self, entry: Entry, regex: &PathMatch) {
        let literal = match regex {
            PathMatch::Regex(re) => required_prefix(regex_source(re)),
            _ => "",
        };
        let pos = self.entries.len();
        if literal.is_empty() {
            self.unfiltered.push(pos);
        } else {
            self.by_literal.entry(literal.into()).or_default().push(pos);
        }
        self.entries.push(entry);
        self.literals.push(literal.into());
    }

    /// Builds the probes once every entry is in.
    pub(super) fn finish(&mut self) {
        self.probes = Probes::new(self.by_literal.keys().map(|k| &**k));
    }

    /// Number of entries.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The first entry, in precedence order, that `allowed` accepts and whose
    /// regex matches at the start of `path`, with the match length.
    pub(super) fn first_match(
        &self,
        routes: &[Shared<Route>],
        path: &str,
        allowed: impl Fn(&Entry) -> bool,
    ) -> Option<(&Entry, usize)> {
        if self.entries.is_empty() {
            return None;
        }
        let try_at = |pos: usize| {
            let e = &self.entries[pos];
            if allowed(e) {
                regex_match(routes, e, path).map(|len| (e, len))
            } else {
                None
            }
        };
        let mut lists: [&[usize]; MERGE_LISTS] = [&[]; MERGE_LISTS];
        lists[0] = &self.unfiltered;
        let mut n = 1;
        for head in self.probes.heads(path) {
            if let Some(list) = self.by_literal.get(head) {
                if n == MERGE_LISTS {
                    return self.scan(path, try_at);
                }
                lists[n] = list;
                n += 1;
            }
        }
        // Each position sits in one list and each list ascends, so taking
        // the smallest head each time visits candidates in precedence order.
        loop {
            let (i, pos) = lists[..n]
                .iter()
                .enumerate()
                .filter_map(|(i, list)| list.first().map(|&pos| (i, pos)))
                .min_by_key(|&(_, pos)| pos)?;
            lists[i] = &lists[i][1..];
            if let Some(found) = try_at(pos) {
                return Some(found);
            }
        }
    }

    /// Every entry in order, each behind its literal check.
    fn scan<'s>(
        &'s self,
        path: &str,
        try_at: impl Fn(usize) -> Option<(&'s Entry, usize)>,
    ) -> Option<(&'s Entry, usize)> {
        let starts = |pos: &usize| path.starts_with(&*self.literals[*pos]);
        (0..self.entries.len()).filter(starts).find_map(try_at)
    }
}

/// Length of the regex match at the start of `path`, if any.
fn regex_match(routes: &[Shared<Route>], e: &Entry, path: &str) -> Option<usize> {
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
