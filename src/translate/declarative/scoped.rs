//! The enabled plugins of one declarative document with their attachments,
//! and per route the instances Kong's precedence picks.

use crate::kong;
use crate::model::PluginInstance;
use crate::model::plugin::Scope;

/// An enabled plugin, where it is attached, and its instance or the fault
/// of the routes it applies to.
pub(super) struct Entry {
    name: String,
    route: Option<String>,
    service: Option<String>,
    /// Scoped to a consumer or consumer group.
    held: bool,
    instance: Result<PluginInstance, String>,
}

/// Enabled plugins with their attachments.
#[derive(Default)]
pub(super) struct Scoped {
    entries: Vec<Entry>,
}

impl Scoped {
    pub(super) fn push(&mut self, p: &kong::Plugin, instance: Result<PluginInstance, String>) {
        self.entries.push(Entry {
            name: p.name.clone(),
            route: p.route.as_ref().map(|f| f.id.clone()),
            service: p.service.as_ref().map(|f| f.id.clone()),
            held: p.consumer.is_some() || p.consumer_group.is_some(),
            instance,
        });
    }

    /// The instances of route `route` (with service `service`): per plugin
    /// the one Kong's precedence picks among route+service, route, service
    /// and global ones, and the consumer- or group-scoped ones that involve
    /// the route or its service. Broken plugins add their fault to `faults`.
    pub(super) fn for_route(
        &self,
        route: &str,
        service: Option<&str>,
        faults: &mut Vec<String>,
    ) -> (Vec<PluginInstance>, Vec<PluginInstance>) {
        let applies = |e: &Entry| {
            e.route.as_deref().is_none_or(|r| r == route)
                && e.service.as_deref().is_none_or(|s| Some(s) == service)
        };
        let rank = |e: &Entry| {
            Scope {
                route: e.route.is_some(),
                service: e.service.is_some(),
                holder: None,
            }
            .rank()
        };
        let mut best: Vec<&Entry> = Vec::new();
        let mut scoped = Vec::new();
        for e in self.entries.iter().filter(|e| applies(e)) {
            if e.held {
                // Consumer-wide ones live in the table, not on each route.
                if e.route.is_some() || e.service.is_some() {
                    match &e.instance {
                        Ok(i) => scoped.push(i.clone()),
                        Err(fault) => faults.push(fault.clone()),
                    }
                }
                continue;
            }
            match best.iter_mut().find(|b| b.name == e.name) {
                Some(b) if rank(e) < rank(b) => *b = e,
                Some(_) => {}
                None => best.push(e),
            }
        }
        let mut instances = Vec::with_capacity(best.len());
        for e in best {
            match &e.instance {
                Ok(i) => instances.push(i.clone()),
                Err(fault) => faults.push(fault.clone()),
            }
        }
        (instances, scoped)
    }

    /// Instances scoped to a consumer or consumer group alone.
    pub(super) fn consumer_wide(&self) -> impl Iterator<Item = &PluginInstance> {
        self.entries
            .iter()
            .filter(|e| e.held && e.route.is_none() && e.service.is_none())
            .filter_map(|e| e.instance.as_ref().ok())
    }
}
