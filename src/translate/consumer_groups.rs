//! KongConsumerGroups to consumer groups, and KongConsumer `consumerGroups`
//! to each consumer's memberships (KIC's `FillConsumerGroups` and the
//! group lookup of `FillConsumersAndCredentials`). Kong keeps group names
//! unique; like consumer usernames, a name already taken by an older
//! KongConsumerGroup makes the newer one a problem instead of Kong refusing
//! the whole configuration.

use super::{Cx, ids, object_ref};
use crate::crd::KongConsumerGroup;
use crate::model::{ConsumerGroup, ObjectRef};
use crate::objects::ObjectKey;
use crate::objects::{KongConsumer, Named};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The groups of our class: each KongConsumerGroup kept, by its
/// `(namespace, name)`, to its Kong name.
#[derive(Debug, Default)]
pub(super) struct Groups {
    by_object: BTreeMap<ObjectKey, String>,
}

/// Adds the KongConsumerGroups of our class to `groups` (keyed by Kong
/// name) and returns where each one is.
pub(super) fn translate(cx: &mut Cx<'_>, groups: &mut BTreeMap<String, ConsumerGroup>) -> Groups {
    let objects = cx.objects;
    let mut candidates: Vec<(&ObjectKey, &Arc<KongConsumerGroup>)> = objects
        .kong_consumer_groups
        .iter()
        .filter(|(_, g)| cx.class.annotated(&***g))
        .collect();
    // Oldest first; the store's order (namespace/name) breaks ties.
    candidates.sort_by(|a, b| {
        a.1.metadata
            .creation_timestamp
            .cmp(&b.1.metadata.creation_timestamp)
    });
    let mut kept = Groups::default();
    for (key, group) in candidates {
        let object = object_ref(group.as_ref());
        let name = group.kong_name();
        if let Some(owner) = groups.get(name) {
            let message = format!(
                "consumer group name '{name}' is already used by the older {}; this group is \
                 ignored",
                owner.source
            );
            cx.problem(&object, "DuplicateConsumerGroupName", message);
            continue;
        }
        groups.insert(
            name.to_string(),
            ConsumerGroup {
                id: ids::object_id("KongConsumerGroup", &**group),
                name: name.to_string(),
                tags: group.spec.tags.clone(),
                source: object,
            },
        );
        kept.by_object.insert(key.clone(), name.to_string());
    }
    kept
}

// === impl Groups ===

impl Groups {
    /// The Kong names of the groups `consumer` joins, sorted. A name that
    /// is not a kept KongConsumerGroup of the consumer's namespace is
    /// reported with KIC's message; the consumer keeps its other groups.
    pub(super) fn memberships(
        &self,
        cx: &mut Cx<'_>,
        consumer: &KongConsumer,
        object: &ObjectRef,
    ) -> Vec<String> {
        let namespace = consumer.namespace().unwrap_or_default().to_string();
        let mut names = Vec::with_capacity(consumer.consumer_groups.len());
        for group in &consumer.consumer_groups {
            match self.by_object.get(&(namespace.clone(), group.to_string())) {
                Some(name) => names.push(name.clone()),
                None => cx.problem(
                    object,
                    "NonexistentConsumerGroup",
                    format!(
                        "nonexistent consumer group: \"KongConsumerGroup {namespace}/{group} not \
                         found\"; the consumer is kept without this group"
                    ),
                ),
            }
        }
        names.sort();
        names.dedup();
        names
    }
}
