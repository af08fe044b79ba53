//! The access phase of one request: the route's plugins in priority order,
//! with the consumer's own instances chosen once a plugin has identified
//! the consumer (Kong 3's plugins iterator: each plugin's configuration is
//! looked up when its turn comes, with whatever consumer is known by then).

use super::{Access, Exchange, LocalResponse, PluginError, Runtime};
use crate::model::{PluginInstance, Route, Table};

/// Why the access phase stopped early.
#[derive(Debug)]
pub enum Exit {
    /// A plugin answered the request itself.
    Respond(Box<LocalResponse>),
    /// A plugin refused it.
    Refuse(PluginError),
}

/// Runs the access phase of `route`'s plugins that run on this protocol.
/// Returns the instances whose access phase ran, in order (the response
/// phase runs those, as Kong's collected plugins), and how it ended.
pub async fn access<'t>(
    route: &'t Route,
    exchange: &mut Exchange<'t>,
    runtime: &Runtime,
    https: bool,
) -> (Vec<&'t PluginInstance>, Result<(), Exit>) {
    let table = exchange.table;
    // The route's own instances, unless the consumer's joined them: only
    // then is the rest of the queue collected (most requests allocate none).
    let mut own = route.plugins.iter().filter(|p| runs_on(p, https));
    let mut merged: Option<std::vec::IntoIter<&'t PluginInstance>> = None;
    let mut ran = Vec::with_capacity(route.plugins.len());
    let mut scoped = false;
    // The consumer is looked for before every turn and once after the last
    // (an authentication plugin is often the route's last one, and the
    // consumer's own instances still follow it).
    loop {
        if !scoped && let Some(auth) = &exchange.authenticated {
            scoped = true;
            let consumer = &auth.consumer;
            let chosen = holder_instances(table, route, &consumer.id, &consumer.groups, https);
            if !chosen.is_empty() {
                let rest = own.by_ref().collect();
                merged = Some(merge(rest, chosen, &ran).into_iter());
            }
        }
        let next = match &mut merged {
            Some(merged) => merged.next(),
            None => own.next(),
        };
        let Some(plugin) = next else {
            break;
        };
        ran.push(plugin);
        // Small: `access` boxes each plugin's own future.
        match super::access(plugin, exchange, runtime).await {
            Ok(Access::Continue) => {}
            Ok(Access::Respond(local)) => return (ran, Err(Exit::Respond(Box::new(local)))),
            Err(e) => return (ran, Err(Exit::Refuse(e))),
        }
    }
    (ran, Ok(()))
}

/// A plugin with no protocols runs on all of them.
pub fn runs_on(plugin: &PluginInstance, https: bool) -> bool {
    let protocol = if https { "https" } else { "http" };
    plugin.protocols.is_empty() || plugin.protocols.iter().any(|p| p == protocol)
}

/// The instances held by `consumer` or one of its `groups` that apply on
/// `route`: per plugin, the one Kong's precedence picks.
fn holder_instances<'t>(
    table: &'t Table,
    route: &'t Route,
    consumer: &str,
    groups: &[String],
    https: bool,
) -> Vec<&'t PluginInstance> {
    if route.scoped.is_empty() && table.holder_plugins.is_empty() {
        return Vec::new();
    }
    let held = |p: &&PluginInstance| p.scope.holds(consumer, groups) && runs_on(p, https);
    let mut holders = vec![crate::model::plugin::Holder::Consumer(consumer.to_string())];
    holders.extend(
        groups
            .iter()
            .map(|g| crate::model::plugin::Holder::Group(g.clone())),
    );
    let wide = holders
        .iter()
        .filter_map(|h| table.holder_plugins.get(h))
        .flatten();
    let mut best: Vec<&'t PluginInstance> = Vec::new();
    for p in route.scoped.iter().chain(wide).filter(held) {
        match best.iter_mut().find(|b| b.name == p.name) {
            Some(b) if p.scope.rank() < b.scope.rank() => *b = p,
            Some(_) => {}
            None => best.push(p),
        }
    }
    best
}

/// `rest` (the instances not yet run, in order) with the consumer's
/// instances merged in: one replaces an instance of the same plugin when
/// its scope ranks higher; others join at their priority, unless their
/// turn has passed: Kong looks each plugin up once, when its turn comes, so
/// a plugin of higher priority than the one that found the consumer (or one
/// that already ran) does not run.
fn merge<'t>(
    mut rest: Vec<&'t PluginInstance>,
    chosen: Vec<&'t PluginInstance>,
    ran: &[&'t PluginInstance],
) -> Vec<&'t PluginInstance> {
    let floor = ran.last().map_or(u32::MAX, |p| p.config.priority());
    for p in chosen {
        match rest.iter_mut().find(|r| r.name == p.name) {
            Some(r) if p.scope.rank() < r.scope.rank() => *r = p,
            Some(_) => {}
            None if p.config.priority() <= floor && !ran.iter().any(|r| r.name == p.name) => {
                rest.push(p)
            }
            None => {}
        }
    }
    // Stable: equal priorities keep their order (and `ordering`'s moves).
    rest.sort_by_key(|p| std::cmp::Reverse(p.config.priority()));
    rest
}

#[cfg(test)]
mod tests;
