//! Plugin attachment: `konghq.com/plugins` references and global
//! KongClusterPlugins to parsed plugins (KIC's `buildPlugins`), and the
//! per-route merge with Kong's precedence.
//!
//! Where KIC drops a plugin it cannot honour and serves the route without
//! it, kingress keeps the route but gives it a fault: for an authentication
//! plugin, serving without it would be a hole.

use super::annotations::{self, PluginRef};
use super::plugin_config::PluginSpec;
use super::{Cx, ids, object_ref};
use crate::model::plugin::{ConfigError, PluginOrdering, Scope, order_plugins};
use crate::model::{ObjectRef, PluginConfig, PluginInstance, Problem, Table};
use crate::objects::Service;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Label that makes a KongClusterPlugin apply to every route.
const GLOBAL_LABEL: &str = "global";

/// A plugin object whose configuration parsed.
#[derive(Clone, Debug)]
pub(super) struct Built {
    pub source: ObjectRef,
    pub name: String,
    instance_name: Option<String>,
    protocols: Vec<String>,
    ordering: PluginOrdering,
    pub config: PluginConfig,
}

/// A plugin object built: `Ok(None)` when disabled, `Err` the route fault.
type Outcome = Result<Option<Arc<Built>>, String>;

/// The plugins attached at one level (an Ingress, a Service, or globally),
/// and the faults of references there that cannot be honoured.
#[derive(Clone, Debug, Default)]
pub(super) struct Attached {
    plugins: Vec<Arc<Built>>,
    faults: Vec<String>,
}

/// Builds each plugin object once and remembers each Service's plugins,
/// with the problems found on the way: a later user gets them again, so
/// each Ingress's share of the problems is whole on its own (translate's
/// memo reuses it per Ingress).
#[derive(Default)]
pub(super) struct Resolver {
    built: BTreeMap<ObjectRef, (Outcome, Vec<Problem>)>,
    /// Services that name plugins (`konghq.com/plugins`).
    services: BTreeMap<ObjectRef, (Arc<Attached>, Vec<Problem>)>,
    /// What every Service without that annotation gets: one shared empty
    /// value.
    no_plugins: Arc<Attached>,
}

/// Where a route's plugins come from, most specific first.
pub(super) struct Levels<'l> {
    pub route: &'l Attached,
    pub service: Option<&'l Attached>,
    pub global: &'l Attached,
}

// === impl Resolver ===

impl Resolver {
    /// An empty resolver.
    pub(super) fn new() -> Self {
        Self::default()
    }

    /// Global KongClusterPlugins of our class. Two of them configuring the
    /// same plugin: KIC drops both; kingress fails every route closed, since
    /// dropping a global auth plugin opens every route.
    pub(super) fn globals(&mut self, cx: &mut Cx<'_>) -> Attached {
        let mut by_name: BTreeMap<&str, Vec<ObjectRef>> = BTreeMap::new();
        for plugin in cx.objects.kong_cluster_plugins.values() {
            let global = plugin
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(GLOBAL_LABEL));
            if global.is_some_and(|g| g == "true")
                && !plugin.disabled
                && cx.class.annotated(&**plugin)
            {
                by_name
                    .entry(plugin.plugin.as_str())
                    .or_default()
                    .push(object_ref(plugin.as_ref()));
            }
        }
        let mut attached = Attached::default();
        for (name, sources) in by_name {
            if let [source] = sources.as_slice() {
                attached.push(self.build(cx, source));
                continue;
            }
            let list = sources
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            for source in &sources {
                cx.problem(
                    source,
                    "DuplicateGlobalPlugin",
                    format!(
                        "several global KongClusterPlugins configure plugin '{name}' ({list}); \
                         none is applied and every route fails closed until one remains"
                    ),
                );
            }
            attached.faults.push(format!(
                "global plugins conflict: KongClusterPlugins {list} all configure '{name}'"
            ));
        }
        attached
    }

    /// The plugins named by `value` (a `konghq.com/plugins` annotation) on
    /// `referrer` in namespace `namespace`.
    pub(super) fn attached(
        &mut self,
        cx: &mut Cx<'_>,
        referrer: &ObjectRef,
        namespace: &str,
        value: Option<&str>,
    ) -> Attached {
        let mut attached = Attached::default();
        let Some(value) = value else {
            return attached;
        };
        for entry in annotations::plugin_refs(value) {
            match entry {
                Ok(r) => attached.push(self.reference(cx, referrer, namespace, &r)),
                Err(entry) => {
                    cx.problem(
                        referrer,
                        "InvalidAnnotation",
                        format!(
                            "{} entry '{entry}' is not a name or namespace:name",
                            annotations::PLUGINS
                        ),
                    );
                    attached.faults.push(format!(
                        "plugin reference '{entry}' on {referrer} is malformed"
                    ));
                }
            }
        }
        let mut seen: BTreeMap<&str, &ObjectRef> = BTreeMap::new();
        for p in &attached.plugins {
            match seen.get(p.name.as_str()) {
                Some(first) if **first != p.source => {
                    let message = format!(
                        "plugin '{}' is attached twice to {referrer} ({first} and {})",
                        p.name, p.source
                    );
                    cx.problem(referrer, "DuplicatePlugin", message.clone());
                    attached.faults.push(message);
                }
                _ => {
                    seen.insert(&p.name, &p.source);
                }
            }
        }
        attached
    }

    /// The plugins of a Kubernetes Service, resolved once per Service.
    pub(super) fn service(&mut self, cx: &mut Cx<'_>, service: &Service) -> Arc<Attached> {
        let value = super::annotation(service, annotations::PLUGINS);
        if value.is_none() {
            // Most Services name no plugins: nothing to resolve or remember
            // (a lookup and an insert in `services`, keyed by three strings,
            // were a large share of translating a plain Ingress).
            return Arc::clone(&self.no_plugins);
        }
        let source = object_ref(service);
        if let Some((done, problems)) = self.services.get(&source) {
            cx.problems.extend(problems.iter().cloned());
            return Arc::clone(done);
        }
        let ns = service.metadata.namespace.as_deref().unwrap_or_default();
        let start = cx.problems.len();
        let attached = Arc::new(self.attached(cx, &source, ns, value));
        let problems = cx.problems[start..].to_vec();
        self.services
            .insert(source, (Arc::clone(&attached), problems));
        attached
    }

    pub(super) fn reference(
        &mut self,
        cx: &mut Cx<'_>,
        referrer: &ObjectRef,
        namespace: &str,
        r: &PluginRef,
    ) -> Result<Option<Arc<Built>>, String> {
        if let Some(remote) = r.namespace.as_deref().filter(|ns| *ns != namespace) {
            cx.problem(
                referrer,
                "RemotePluginNotSupported",
                format!(
                    "plugin reference '{remote}:{}' crosses namespaces, which needs a \
                     ReferenceGrant; kingress does not support that: use a KongPlugin in \
                     namespace {namespace} or a KongClusterPlugin",
                    r.name
                ),
            );
            return Err(format!(
                "plugin reference '{remote}:{}' on {referrer} crosses namespaces, which kingress does not support",
                r.name
            ));
        }
        let objects = cx.objects;
        let local = (namespace.to_string(), r.name.clone());
        if let Some(p) = objects.kong_plugins.get(&local) {
            return self.build(cx, &object_ref(p.as_ref()));
        }
        let cluster = objects
            .kong_cluster_plugins
            .get(&(String::new(), r.name.clone()));
        if let Some(p) = cluster.filter(|p| cx.class.annotated(&***p)) {
            return self.build(cx, &object_ref(p.as_ref()));
        }
        let hint = match cluster {
            Some(_) => format!(
                " (KongClusterPlugin {} exists but is not annotated {}: {})",
                r.name,
                crate::objects::class::CLASS_ANNOTATION,
                cx.class.class()
            ),
            None => String::new(),
        };
        cx.problem(
            referrer,
            "PluginNotFound",
            format!(
                "referenced KongPlugin or KongClusterPlugin \"{}\" does not exist{hint}",
                r.name
            ),
        );
        Err(format!(
            "plugin '{}' referenced by {referrer} does not exist",
            r.name
        ))
    }

    /// Builds a plugin object once; problems go on the object itself.
    /// `Ok(None)` is a disabled plugin; `Err` is the route fault.
    fn build(&mut self, cx: &mut Cx<'_>, source: &ObjectRef) -> Result<Option<Arc<Built>>, String> {
        if let Some((done, problems)) = self.built.get(source) {
            cx.problems.extend(problems.iter().cloned());
            return done.clone();
        }
        let start = cx.problems.len();
        let objects = cx.objects;
        let key = (
            source.namespace.clone().unwrap_or_default(),
            source.name.clone(),
        );
        let spec = match source.namespace {
            Some(_) => objects
                .kong_plugins
                .get(&key)
                .map(|p| PluginSpec::from_kong_plugin(p, source.clone())),
            None => objects
                .kong_cluster_plugins
                .get(&key)
                .map(|p| PluginSpec::from_cluster_plugin(p, source.clone())),
        };
        let result = match spec {
            None => Err(format!("{source} does not exist")),
            Some(spec) if spec.disabled => Ok(None),
            Some(spec) => build(cx, &spec).map(|b| Some(Arc::new(b))),
        };
        let problems = cx.problems[start..].to_vec();
        self.built
            .insert(source.clone(), (result.clone(), problems));
        result
    }
}

fn build(cx: &mut Cx<'_>, spec: &PluginSpec<'_>) -> Result<Built, String> {
    let fault = |detail: &str| {
        format!(
            "plugin '{}' ({}) is misconfigured: {detail}",
            spec.plugin, spec.source
        )
    };
    let config = spec.config(cx).map_err(|f| {
        cx.problem(&spec.source, f.reason, f.message.clone());
        fault(&f.message)
    })?;
    let config = PluginConfig::parse(spec.plugin, &config).map_err(|e| {
        let reason = match e {
            ConfigError::UnknownPlugin(_) => "UnsupportedPlugin",
            ConfigError::Field { .. } => "InvalidPluginConfig",
        };
        cx.problem(&spec.source, reason, e.to_string());
        fault(&e.to_string())
    })?;
    let phase = |m: Option<&BTreeMap<String, Vec<String>>>| {
        m.and_then(|m| m.get("access")).cloned().unwrap_or_default()
    };
    Ok(Built {
        source: spec.source.clone(),
        name: spec.plugin.to_string(),
        instance_name: spec.instance_name.map(str::to_string),
        protocols: spec.protocols.to_vec(),
        ordering: PluginOrdering {
            before: phase(spec.ordering.map(|o| &o.before)),
            after: phase(spec.ordering.map(|o| &o.after)),
        },
        config,
    })
}

// === impl Built ===

impl Built {
    /// An instance of this plugin with `scope`; its id is derived from the
    /// object and `attachment`.
    pub(super) fn instance(&self, attachment: &str, scope: Scope) -> PluginInstance {
        PluginInstance {
            id: ids::plugin_instance_id(&self.source, attachment),
            name: self.name.clone(),
            instance_name: self.instance_name.clone(),
            source: self.source.clone(),
            protocols: self.protocols.clone(),
            ordering: self.ordering.clone(),
            config: self.config.clone(),
            scope,
        }
    }
}

// === impl Attached ===

impl Attached {
    fn push(&mut self, result: Result<Option<Arc<Built>>, String>) {
        match result {
            Ok(Some(b)) if !self.plugins.iter().any(|p| p.source == b.source) => {
                self.plugins.push(b)
            }
            Ok(_) => {}
            Err(fault) => self.faults.push(fault),
        }
    }
}

// === impl Levels ===

impl Levels<'_> {
    /// The route's plugin instances, one per plugin name with Kong's
    /// precedence (route over service over global), ordered for the access
    /// phase, and every fault on the way. Instances are also recorded in
    /// `table.plugins`.
    pub(super) fn instances(
        &self,
        route_name: &str,
        service_name: Option<&str>,
        table: &mut Table,
    ) -> (Vec<PluginInstance>, Vec<String>) {
        let mut instances: Vec<PluginInstance> = Vec::new();
        let mut faults = Vec::new();
        let route_attachment = format!("route:{route_name}");
        let service_attachment = format!("service:{}", service_name.unwrap_or_default());
        let levels = [
            (Some(self.route), route_attachment.as_str(), (true, false)),
            (self.service, service_attachment.as_str(), (false, true)),
            (Some(self.global), "global", (false, false)),
        ];
        for (level, attachment, (route, service)) in levels {
            let Some(level) = level else { continue };
            faults.extend(level.faults.iter().cloned());
            for built in &level.plugins {
                if instances.iter().any(|i| i.name == built.name) {
                    continue;
                }
                let scope = Scope {
                    route,
                    service,
                    holder: None,
                };
                let instance = built.instance(attachment, scope);
                table
                    .plugins
                    .entry(instance.id.clone())
                    .or_insert_with(|| instance.clone());
                instances.push(instance);
            }
        }
        order_plugins(&mut instances);
        (instances, faults)
    }
}
