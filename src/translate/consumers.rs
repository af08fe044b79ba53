//! KongConsumers (and the KongConsumerGroups they join) to consumers.
//! Unlike KIC, duplicates are caught here: a username or custom_id already
//! taken by an older KongConsumer makes the newer one a problem, instead of
//! Kong refusing the whole configuration.

use super::credentials::{self, Owner};
use super::holders::{self, Holdings};
use super::{Cx, consumer_groups, ids, object_ref};
use crate::model::{
    Consumer, ConsumerGroup, Credentials, ObjectRef, Problem, Shared, Table, same_or_new,
};
use crate::objects::KongConsumer;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The consumers and consumer groups of our class and the consumers'
/// credentials, with the problems found on the way: pure in KongConsumers,
/// KongConsumerGroups, Secrets and the class, so translate's memo keeps it
/// while those stay the same. Cloning shares the
/// consumers and credentials (the memo's and the table's are one copy).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Consumers {
    consumers: Shared<BTreeMap<String, Arc<Consumer>>>,
    groups: Shared<BTreeMap<String, ConsumerGroup>>,
    credentials: Credentials,
    /// The consumers and groups among them that plugins are attached to.
    holdings: Holdings,
    problems: Vec<Problem>,
}

impl Consumers {
    /// Adds these consumers, credentials and problems to a table that has
    /// none yet; gives back the consumers and groups holding plugins.
    pub(super) fn place(self, cx: &mut Cx<'_>, table: &mut Table) -> Holdings {
        table.consumers = self.consumers;
        table.consumer_groups = self.groups;
        table.credentials = self.credentials;
        cx.problems.extend(self.problems);
        self.holdings
    }
}

/// Translates the consumers of our class and their credentials. Each
/// consumer and credential equal to one `before` holds is that very one,
/// so a full re-translate builds little beside what the table serving
/// already holds.
pub(super) fn translate(cx: &mut Cx<'_>, before: Option<&Consumers>) -> Consumers {
    let start = cx.problems.len();
    let mut table = Table::default();
    add(cx, &mut table, before);
    let holdings = holders::holdings(cx, &table);
    Consumers {
        consumers: table.consumers,
        groups: table.consumer_groups,
        credentials: table.credentials,
        holdings,
        problems: cx.problems.split_off(start),
    }
}

/// Adds the consumers of our class and their credentials to `table`.
fn add(cx: &mut Cx<'_>, table: &mut Table, before: Option<&Consumers>) {
    let objects = cx.objects;
    let groups = consumer_groups::translate(cx, &mut table.consumer_groups);
    let mut candidates: Vec<&Arc<KongConsumer>> = objects
        .kong_consumers
        .values()
        .filter(|c| cx.class.annotated(&***c))
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
        let memberships = groups.memberships(cx, consumer, &object);
        let id = ids::object_id("KongConsumer", &**consumer);
        let fresh = Consumer {
            id: id.clone(),
            username: username.map(str::to_string),
            custom_id: custom_id.map(str::to_string),
            groups: memberships,
            source: object.clone(),
            header_values: Default::default(),
        };
        let held = before.and_then(|b| b.consumers.get(&id));
        table.consumers.insert(id.clone(), same_or_new(held, fresh));
        owners.push(Owner {
            consumer,
            id,
            object,
        });
    }
    credentials::translate(cx, table, &owners, before.map(|b| &b.credentials));
}
