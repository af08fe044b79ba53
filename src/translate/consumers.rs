//! KongConsumers to consumers. Unlike KIC, duplicates are caught here: a
//! username or custom_id already taken by an older KongConsumer makes the
//! newer one a problem, instead of Kong refusing the whole configuration.

use super::credentials::{self, Owner};
use super::{Cx, ids, object_ref};
use crate::crd::KongConsumer;
use crate::model::{Consumer, Credentials, ObjectRef, Problem, Shared, Table};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The consumers of our class and their credentials, with the problems
/// found on the way: pure in KongConsumers, Secrets and the class, so
/// translate's memo keeps it while those stay the same. Cloning shares the
/// consumers and credentials (the memo's and the table's are one copy).
#[derive(Clone, Debug)]
pub(super) struct Consumers {
    consumers: Shared<BTreeMap<String, Consumer>>,
    credentials: Credentials,
    problems: Vec<Problem>,
}

impl Consumers {
    /// Adds these consumers, credentials and problems to a table that has
    /// none yet.
    pub(super) fn place(self, cx: &mut Cx<'_>, table: &mut Table) {
        table.consumers = self.consumers;
        table.credentials = self.credentials;
        cx.problems.extend(self.problems);
    }
}

/// Translates the consumers of our class and their credentials.
pub(super) fn translate(cx: &mut Cx<'_>) -> Consumers {
    let start = cx.problems.len();
    let mut table = Table::default();
    add(cx, &mut table);
    Consumers {
        consumers: table.consumers,
        credentials: table.credentials,
        problems: cx.problems.split_off(start),
    }
}

/// Adds the consumers of our class and their credentials to `table`.
fn add(cx: &mut Cx<'_>, table: &mut Table) {
    let objects = cx.objects;
    let mut candidates: Vec<&Arc<KongConsumer>> = objects
        .kong_consumers
        .values()
        .filter(|c| cx.class.annotated(&c.metadata))
        .collect();
    // Oldest first; the store's order (namespace/name) breaks ties.
    candidates.sort_by(|a, b| {
        a.metadata
            .creation_timestamp
            .cmp(&b.metadata.creation_timestamp)
    });

    let mut usernames: BTreeMap<&str, ObjectRef> = BTreeMap::new();
    let mut custom_ids: BTreeMap<&str, ObjectRef> = BTreeMap::new();
    let mut owners = Vec::new();
    for consumer in candidates {
        let object = object_ref(consumer.as_ref());
        unsupported_fields(cx, consumer, &object);
        let username = consumer.username.as_deref().filter(|u| !u.is_empty());
        let custom_id = consumer.custom_id.as_deref().filter(|c| !c.is_empty());
        if username.is_none() && custom_id.is_none() {
            cx.problem(
                &object,
                "InvalidConsumer",
                "no username or custom_id specified; the consumer is ignored",
            );
            continue;
        }
        if let Some(owner) = username.and_then(|u| usernames.get(u)) {
            let message = format!(
                "username '{}' is already used by the older {owner}; this consumer is ignored",
                username.unwrap_or_default()
            );
            cx.problem(&object, "DuplicateUsername", message);
            continue;
        }
        if let Some(owner) = custom_id.and_then(|c| custom_ids.get(c)) {
            let message = format!(
                "custom_id '{}' is already used by the older {owner}; this consumer is ignored",
                custom_id.unwrap_or_default()
            );
            cx.problem(&object, "DuplicateCustomId", message);
            continue;
        }
        if let Some(u) = username {
            usernames.insert(u, object.clone());
        }
        if let Some(c) = custom_id {
            custom_ids.insert(c, object.clone());
        }
        let id = ids::object_id("KongConsumer", &consumer.metadata);
        table.consumers.insert(
            id.clone(),
            Consumer {
                id: id.clone(),
                username: username.map(str::to_string),
                custom_id: custom_id.map(str::to_string),
                groups: Vec::new(),
                source: object.clone(),
            },
        );
        owners.push(Owner {
            consumer,
            id,
            object,
        });
    }
    credentials::translate(cx, table, &owners);
}

/// Consumer groups are reported, and the consumer itself is kept.
fn unsupported_fields(cx: &mut Cx<'_>, consumer: &KongConsumer, object: &ObjectRef) {
    if !consumer.consumer_groups.is_empty() {
        cx.problem(
            object,
            "UnsupportedConsumerGroup",
            "consumerGroups are not supported by kingress and are ignored",
        );
    }
}
