//! `konghq.com/rewrite` as KIC carries it out: a request-transformer
//! instance on the route with `replace.uri` set to the rewrite template.

use super::annotations::Rewrite;
use super::ids;
use crate::model::plugin::{PluginOrdering, Scope, order_plugins};
use crate::model::{ObjectRef, PluginInstance, Table};

const PLUGIN: &str = "request-transformer";

/// Adds the rewrite's instance to `plugins` (and `table.plugins`). `Some`
/// is a fault for the route: the annotation is invalid, or a
/// request-transformer KongPlugin is attached to the route too (Kong
/// refuses two instances of one plugin on a route).
pub(super) fn attach(
    ingress: &ObjectRef,
    route: &str,
    rewrite: &Rewrite,
    plugins: &mut Vec<PluginInstance>,
    table: &mut Table,
) -> Option<String> {
    let config = match rewrite {
        Rewrite::Invalid(fault) => return Some(fault.clone()),
        Rewrite::Config(config) => config,
    };
    if let Some(other) = plugins.iter().find(|p| p.name == PLUGIN && p.scope.route) {
        return Some(format!(
            "konghq.com/rewrite and the {PLUGIN} plugin {} are both attached to the route",
            other.source
        ));
    }
    // A service-wide or global instance gives way to the route's, as
    // Kong's precedence has it.
    plugins.retain(|p| p.name != PLUGIN);
    let instance = PluginInstance {
        id: ids::plugin_instance_id(ingress, &format!("rewrite|route:{route}")),
        name: PLUGIN.to_string(),
        instance_name: None,
        source: ingress.clone(),
        protocols: Vec::new(),
        ordering: PluginOrdering::default(),
        config: config.clone(),
        scope: Scope {
            route: true,
            service: false,
            holder: None,
        },
    };
    table
        .plugins
        .entry(instance.id.clone())
        .or_insert_with(|| instance.clone());
    plugins.push(instance);
    order_plugins(plugins);
    None
}
