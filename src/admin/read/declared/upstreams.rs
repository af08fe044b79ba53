//! Reads of the upstreams and targets the Admin API wrote: the stored
//! entities (ids and timestamps as their writes answered), with the table's
//! other upstreams (KIC's, other kong.yml files') after them in lists.

use super::{Answer, found, json};
use crate::admin::page::Page;
use crate::admin::read::entities;
use crate::kong::{Document, Kind, Target, Upstream};
use crate::model::Table;
use serde_json::Value;

/// Answers a GET of an upstream path from `doc`, or `None` when the
/// document does not hold what the path names.
pub(super) fn get(doc: &Document, table: &Table, segments: &[&str], page: &Page) -> Answer {
    match segments {
        ["upstreams"] => Some(
            page.list(
                doc.upstreams
                    .iter()
                    .map(json)
                    .chain(
                        super::super::upstreams(table)
                            .filter(|s| !doc.upstreams.iter().any(|u| u.name == s.upstream_name()))
                            .map(entities::upstream),
                    )
                    .collect(),
            ),
        ),
        ["upstreams", key] => found(upstream(doc, key).map(json)),
        // Kong lists every target either way (weight 0 included).
        ["upstreams", key, "targets"] | ["upstreams", key, "targets", "all"] => {
            upstream(doc, key).map(|u| page.list(targets(doc, u).map(json).collect::<Vec<Value>>()))
        }
        ["upstreams", key, "targets", target] => upstream(doc, key).map(|u| {
            let one = targets(doc, u).find(|t| t.id == *target || t.target == *target);
            match one {
                Some(t) => crate::admin::reply::ok(&json(t)),
                None => crate::admin::reply::not_found(),
            }
        }),
        _ => None,
    }
}

fn upstream<'d>(doc: &'d Document, key: &str) -> Option<&'d Upstream> {
    let id = doc.resolve(Kind::Upstream, key)?;
    doc.upstreams.iter().find(|u| u.id == id)
}

fn targets<'d>(doc: &'d Document, upstream: &'d Upstream) -> impl Iterator<Item = &'d Target> {
    doc.targets.iter().filter(|t| t.upstream.id == upstream.id)
}
