//! Plugins attached to KongConsumers and KongConsumerGroups
//! (`konghq.com/plugins` on the consumer or group), with KIC's combination
//! rule: a KongPlugin referenced by a consumer and by an Ingress or Service
//! applies to that consumer on those routes only (one consumer+route or
//! consumer+service instance each); one referenced by consumers alone
//! applies to them on every route. Consumer groups behave the same for a
//! plugin that no consumer references.
//!
//! Runs after the routes and consumers are in the table: it reads which
//! consumers were kept, and edits only the routes that carry such a plugin
//! (a route shared with translate's memo is copied first). What it reads of
//! the consumers and groups ([`Holdings`]) is taken when they are
//! translated, so translate's memo keeps it with them: at 10,000 consumers
//! looking each one up again took some 15 ms of every edit.

use super::annotations::{self, PLUGINS};
use super::plugins::{Built, Resolver};
use super::{Cx, annotation};
use crate::model::plugin::{Holder, PluginFacts, Scope};
use crate::model::{ObjectRef, Table};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The kept consumers and consumer groups that name plugins in their
/// `konghq.com/plugins` annotation, consumers by id and groups by name
/// (the table's order). Pure in what the consumers read, so it is kept
/// with them; cloning shares it.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Holdings {
    consumers: Arc<[Holding]>,
    groups: Arc<[Holding]>,
}

/// One consumer or consumer group and the annotation naming its plugins.
#[derive(Debug, PartialEq)]
struct Holding {
    source: ObjectRef,
    plugins: String,
    holder: Holder,
}

/// Reads the holders among the consumers and groups of `table` (reporting
/// the annotations of theirs that kingress does not serve).
pub(super) fn holdings(cx: &mut Cx<'_>, table: &Table) -> Holdings {
    let objects = cx.objects;
    for c in table.consumers.values() {
        let key = (
            c.source.namespace.clone().unwrap_or_default(),
            c.source.name.clone(),
        );
        if let Some(object) = objects.kong_consumers.get(&key) {
            annotations::holder(cx, &c.source, object.metadata.annotations.keys());
        }
    }
    for g in table.consumer_groups.values() {
        let key = (
            g.source.namespace.clone().unwrap_or_default(),
            g.source.name.clone(),
        );
        if let Some(object) = objects.kong_consumer_groups.get(&key) {
            let keys = object.metadata.annotations.iter().flatten();
            annotations::holder(cx, &g.source, keys.map(|(k, _)| k.as_str()));
        }
    }
    let consumers = table.consumers.values().filter_map(|c| {
        let key = (c.source.namespace.clone()?, c.source.name.clone());
        let object = objects.kong_consumers.get(&key)?;
        Some(Holding {
            source: c.source.clone(),
            plugins: annotation(object.as_ref(), PLUGINS)?.to_string(),
            holder: Holder::Consumer(c.id.clone()),
        })
    });
    let groups = table.consumer_groups.values().filter_map(|g| {
        let key = (g.source.namespace.clone()?, g.source.name.clone());
        let object = objects.kong_consumer_groups.get(&key)?;
        Some(Holding {
            source: g.source.clone(),
            plugins: annotation(object.as_ref(), PLUGINS)?.to_string(),
            holder: Holder::Group(g.name.clone()),
        })
    });
    Holdings {
        consumers: consumers.collect(),
        groups: groups.collect(),
    }
}

/// Applies every consumer- and group-attached plugin of `holdings` to
/// `table`.
pub(super) fn translate(
    cx: &mut Cx<'_>,
    plugins: &mut Resolver,
    holdings: &Holdings,
    table: &mut Table,
) {
    let held = held_plugins(cx, plugins, holdings);
    if held.is_empty() {
        return;
    }
    let mut on_routes: Vec<&ObjectRef> = Vec::new();
    for route in table.routes.iter_mut() {
        if !route.plugins.iter().any(|p| held.contains_key(&p.source)) {
            continue;
        }
        let route = &mut **route;
        let mut kept = Vec::with_capacity(route.plugins.len());
        for instance in std::mem::take(&mut route.plugins) {
            let Some((built, holders)) = held.get(&instance.source) else {
                kept.push(instance);
                continue;
            };
            // A global plugin stays global; the consumer's own instance
            // (consumer-wide, below) outranks it for that consumer.
            if instance.scope == Scope::GLOBAL {
                kept.push(instance);
                continue;
            }
            on_routes.push(&built.source);
            for holder in holders {
                let scope = Scope {
                    holder: Some(holder.clone()),
                    ..instance.scope.clone()
                };
                let attachment = format!("{}|{}", holder_key(holder), instance.id);
                route.scoped.push(built.instance(&attachment, scope));
            }
        }
        route.plugins = kept;
    }
    for route in table.routes.iter() {
        for instance in &route.scoped {
            table
                .plugins
                .entry(instance.id.clone())
                .or_insert_with(|| instance.clone());
        }
    }
    for (source, (built, holders)) in &held {
        if on_routes.contains(&source) {
            continue;
        }
        for holder in holders {
            let scope = Scope {
                route: false,
                service: false,
                holder: Some(holder.clone()),
            };
            let instance = built.instance(&holder_key(holder), scope);
            table.plugins.insert(instance.id.clone(), instance.clone());
            table
                .holder_plugins
                .entry(holder.clone())
                .or_default()
                .push(instance);
        }
    }
}

/// Plugin objects attached to kept consumers or, for a plugin no consumer
/// references, to kept consumer groups (KIC's `GetCombinations`), with the
/// holders of each. References that cannot be honoured are reported and
/// skipped: the consumer is then served by the route's own plugins.
fn held_plugins(
    cx: &mut Cx<'_>,
    plugins: &mut Resolver,
    holdings: &Holdings,
) -> BTreeMap<ObjectRef, (Arc<Built>, Vec<Holder>)> {
    let mut held: BTreeMap<ObjectRef, (Arc<Built>, Vec<Holder>)> = BTreeMap::new();
    for h in holdings.consumers.iter() {
        for built in references(cx, plugins, &h.source, &h.plugins) {
            let entry = held
                .entry(built.source.clone())
                .or_insert_with(|| (Arc::clone(&built), Vec::new()));
            entry.1.push(h.holder.clone());
        }
    }
    let by_consumers: Vec<ObjectRef> = held.keys().cloned().collect();
    for h in holdings.groups.iter() {
        for built in references(cx, plugins, &h.source, &h.plugins) {
            if by_consumers.contains(&built.source) {
                cx.problem(
                    &h.source,
                    "ConsumerGroupPluginIgnored",
                    format!(
                        "plugin {} is also attached to KongConsumers, so it applies to those \
                         consumers only (KIC's rule); this group's reference is ignored",
                        built.source
                    ),
                );
                continue;
            }
            let entry = held
                .entry(built.source.clone())
                .or_insert_with(|| (Arc::clone(&built), Vec::new()));
            entry.1.push(h.holder.clone());
        }
    }
    held
}

/// The usable plugins that the `konghq.com/plugins` annotation `value` of
/// the consumer or consumer group `source` names.
fn references(
    cx: &mut Cx<'_>,
    plugins: &mut Resolver,
    source: &ObjectRef,
    value: &str,
) -> Vec<Arc<Built>> {
    let namespace = source.namespace.as_deref().unwrap_or_default();
    let mut found = Vec::new();
    for entry in annotations::plugin_refs(value) {
        let r = match entry {
            Ok(r) => r,
            Err(entry) => {
                cx.problem(
                    source,
                    "InvalidAnnotation",
                    format!(
                        "{PLUGINS} entry '{entry}' is not a name or namespace:name; it is ignored"
                    ),
                );
                continue;
            }
        };
        let built = match plugins.reference(cx, source, namespace, &r) {
            Ok(Some(built)) => built,
            // Disabled, or broken (the plugin object has its Event).
            Ok(None) | Err(_) => continue,
        };
        if PluginFacts::of(&built.name).is_some_and(|f| !f.consumer_scoped) {
            cx.problem(
                source,
                "ConsumerPluginNotAllowed",
                format!(
                    "plugin '{}' ({}) cannot be scoped to a consumer or consumer group (Kong \
                     refuses it: it is what identifies the consumer); the reference is ignored",
                    built.name, built.source
                ),
            );
            continue;
        }
        found.push(built);
    }
    found
}

/// The attachment key of a holder, for instance ids.
fn holder_key(holder: &Holder) -> String {
    match holder {
        Holder::Consumer(id) => format!("consumer:{id}"),
        Holder::Group(name) => format!("consumer-group:{name}"),
    }
}
