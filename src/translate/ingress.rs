//! Ingresses to routes (KIC's `ingressTranslationIndex`): one route per
//! (Ingress, rule host, backend Service, port) holding all its paths, named
//! `<ns>.<ingress>.<svc>.<host>.<port>`; then the default backend of the
//! oldest Ingress that has one, as route `<ns>.<ingress>` after all others.

use super::annotations::{self, RouteSettings};
use super::backend::{Backends, PortDef};
use super::plugins::{Attached, Levels, Resolver};
use super::{Cx, annotation, kong_ingress, object_ref, paths, rewrite};
use crate::model::{
    HostMatch, ObjectRef, PathMatch, PluginInstance, Problem, Route, Service, Shared, Table,
};
use crate::objects::ingress::{Backend, Ingress};
use crate::objects::spec::same_input;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::collections::BTreeMap;
use std::sync::Arc;
pub(in crate::translate) use units::Units;
use units::{forget, services};

mod units;

/// What every route of one Ingress shares.
struct Source<'a> {
    ingress: &'a Ingress,
    object: ObjectRef,
    namespace: &'a str,
    settings: RouteSettings,
    plugins: Attached,
}

/// The paths of one (host, Service, port) combination.
struct Group<'a> {
    host: String,
    service: &'a str,
    port: PortDef,
    paths: Vec<PathMatch>,
    dropped: Vec<String>,
}

/// One Ingress's share of the translation, whole on its own: its routes,
/// the upstream services and plugin instances they use, and every problem
/// found on the way (also those of the Services and plugins it uses).
/// Given the same objects it is always the same, which is what lets
/// translate's memo reuse it for an unchanged Ingress.
/// The upstream services are kept by name only: their values are in the
/// table's services (and, for a memo, in [`Units::services`]).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Unit {
    routes: Vec<Shared<Route>>,
    services: Vec<String>,
    plugins: Vec<(String, PluginInstance)>,
    problems: Vec<Problem>,
    has_default: bool,
}

/// Adds a route per rule group of every Ingress of our class, then the
/// default backend route. With `memo`, an Ingress found there (the same
/// object) is not translated again; the caller empties `memo` when any
/// other object an Ingress may read changed. `memo` then holds this
/// translation's units. Returns how many units came from `memo`.
pub(super) fn translate<'a>(
    cx: &mut Cx<'a>,
    resolver: &mut Resolver,
    globals: &Attached,
    table: &mut Table,
    mut memo: Option<&mut Units>,
) -> usize {
    let objects = cx.objects;
    let mut backends = Backends::new(cx);
    let mut regexes = paths::RegexCache::new();
    let mut earlier = memo.as_deref_mut().map(std::mem::take).unwrap_or_default();
    // Room for every Ingress: grown by doubling, a list of 10,000 units
    // would hold room for 16,384.
    let room = if memo.is_some() {
        objects.ingresses.len()
    } else {
        0
    };
    let mut kept = Vec::with_capacity(room);
    // Services of the units translated now (the first user's wins; all
    // users of a name build the same service).
    let mut fresh: BTreeMap<String, Service> = BTreeMap::new();
    let mut defaults: Vec<(Option<&Time>, &'a Ingress, &'a str)> = Vec::new();
    let mut reused = 0;
    let stale = earlier.stale;
    let mut uses = std::mem::take(&mut earlier.uses);
    // Both in key order: one walk pairs each Ingress with its unit.
    let mut held = std::mem::take(&mut earlier.by_ingress)
        .into_iter()
        .peekable();
    for (key, ingress) in objects.ingresses.iter() {
        let namespace = &key.0;
        // Units of Ingresses that went away.
        while let Some((_, _, gone)) = held.next_if(|(k, _, _)| k < key) {
            if !stale {
                forget(&mut uses, &gone);
            }
        }
        // The memo holds units of our class only, and a class change
        // empties it.
        let (key, earlier_unit, candidate) = match held.next_if(|(k, _, _)| k == key) {
            Some((key, held, unit)) if !stale && same_input(&held, ingress) => {
                (key, Some(unit), None)
            }
            Some((key, _, unit)) => {
                if !stale {
                    forget(&mut uses, &unit);
                }
                (key, None, Some(unit))
            }
            None => (key.clone(), None, None),
        };
        let unit = match earlier_unit {
            Some(unit) => {
                reused += 1;
                unit
            }
            None if !cx.class.ingress(ingress) => continue,
            None => {
                let mut build = UnitBuild {
                    cx: &mut *cx,
                    resolver: &mut *resolver,
                    backends: &mut backends,
                    globals,
                    regexes: &mut regexes,
                };
                let (unit, services) = build.unit(ingress, namespace);
                let unit = match candidate {
                    Some(held) if held == unit => held,
                    _ => unit,
                };
                if memo.is_some() {
                    for name in &unit.services {
                        *uses.entry(name.clone()).or_default() += 1;
                    }
                }
                for (name, service) in services {
                    // One equal to the last translation's is taken from
                    // there (`services` keeps those in use), so a full
                    // re-translate does not hold every service twice.
                    if earlier.services.get(&name) != Some(&service) {
                        fresh.entry(name).or_insert(service);
                    }
                }
                unit
            }
        };
        if unit.has_default {
            defaults.push((
                ingress.metadata.creation_timestamp.as_ref(),
                ingress,
                namespace,
            ));
        }
        place(cx, table, &unit);
        if memo.is_some() {
            kept.push((key, Arc::clone(ingress), unit));
        }
    }
    table.services = match memo {
        Some(_) => {
            // Units left over are of Ingresses that went away.
            if !stale {
                for (_, _, unit) in held {
                    forget(&mut uses, &unit);
                }
            }
            services(earlier.services, &uses, fresh)
        }
        None => Shared::new(fresh),
    };

    default_route(cx, resolver, globals, table, &mut backends, defaults);
    if let Some(memo) = memo {
        *memo = Units {
            by_ingress: kept,
            services: table.services.clone(),
            uses,
            stale: false,
        };
    }
    reused
}

/// Adds the route of the default backend of the oldest Ingress that has
/// one (`defaults`, in store order).
fn default_route<'a>(
    cx: &mut Cx<'a>,
    resolver: &mut Resolver,
    globals: &Attached,
    table: &mut Table,
    backends: &mut Backends<'a>,
    mut defaults: Vec<(Option<&Time>, &'a Ingress, &'a str)>,
) {
    // Oldest first; keys already break ties by namespace/name (stable sort).
    defaults.sort_by(|a, b| a.0.cmp(&b.0));
    let mut defaults = defaults
        .into_iter()
        .map(|(_, ingress, namespace)| source(cx, resolver, ingress, namespace));
    let Some(winner) = defaults.next() else {
        return;
    };
    let losers: Vec<Source<'_>> = defaults.collect();
    for loser in losers {
        cx.problem(
            &loser.object,
            "DefaultBackendConflict",
            format!(
                "spec.defaultBackend is ignored: the older {} provides the default backend",
                winner.object
            ),
        );
    }
    let backend = winner.ingress.default_backend.as_ref();
    let Some(group) =
        backend.and_then(|b| service_backend(cx, &winner, b, format_args!("the default backend")))
    else {
        return;
    };
    let group = Group {
        paths: vec![PathMatch::Plain("/".into())],
        ..group
    };
    let name = format!("{}.{}", winner.namespace, winner.object.name);
    let mut build = RouteBuild {
        cx,
        backends,
        resolver,
        globals,
        table: &mut *table,
    };
    let route = build.route(&winner, name, Vec::new(), group);
    table.routes.push(Shared::new(route));
}

/// Adds a unit to `table` (its services aside): plugin instances already
/// there stay (they are the same), as when each was added the first time.
fn place(cx: &mut Cx<'_>, table: &mut Table, unit: &Unit) {
    for (id, instance) in &unit.plugins {
        if !table.plugins.contains_key(id) {
            table.plugins.insert(id.clone(), instance.clone());
        }
    }
    table.routes.extend(unit.routes.iter().cloned());
    cx.problems.extend(unit.problems.iter().cloned());
}

/// What every route of `ingress` shares; problems on the way go to `cx`.
fn source<'a>(
    cx: &mut Cx<'a>,
    resolver: &mut Resolver,
    ingress: &'a Ingress,
    namespace: &'a str,
) -> Source<'a> {
    let object = object_ref(ingress);
    let settings = kong_ingress::route_settings(cx, &object, ingress);
    let value = annotation(ingress, annotations::PLUGINS);
    let plugins = resolver.attached(cx, &object, namespace, value);
    Source {
        ingress,
        object,
        namespace,
        settings,
        plugins,
    }
}

/// What translating one Ingress into a [`Unit`] uses.
struct UnitBuild<'b, 'a> {
    cx: &'b mut Cx<'a>,
    resolver: &'b mut Resolver,
    backends: &'b mut Backends<'a>,
    globals: &'b Attached,
    regexes: &'b mut paths::RegexCache,
}

impl<'a> UnitBuild<'_, 'a> {
    /// The routes of one Ingress of our class (its default backend aside),
    /// and the upstream services they use.
    fn unit(&mut self, ingress: &'a Ingress, namespace: &'a str) -> (Unit, Vec<(String, Service)>) {
        let start = self.cx.problems.len();
        let source = source(self.cx, self.resolver, ingress, namespace);
        let mut share = Table::default();
        for group in groups(self.cx, &source, self.regexes) {
            let host = group.host.replace('*', "_");
            let name = format!(
                "{}.{}.{}.{host}.{}",
                source.namespace,
                source.object.name,
                group.service,
                group.port.canonical()
            );
            let hosts = source.settings.conditions.hosts(&group.host);
            let mut build = RouteBuild {
                cx: &mut *self.cx,
                backends: &mut *self.backends,
                resolver: &mut *self.resolver,
                globals: self.globals,
                table: &mut share,
            };
            let route = build.route(&source, name, hosts, group);
            share.routes.push(Shared::new(route));
        }
        let mut routes = share.routes;
        // Most Ingresses give one route; pushing it reserved room for four.
        routes.shrink_to_fit();
        let services: Vec<(String, Service)> = share.services.into_inner().into_iter().collect();
        let unit = Unit {
            routes,
            services: services.iter().map(|(name, _)| name.clone()).collect(),
            plugins: share.plugins.into_iter().collect(),
            problems: self.cx.problems.split_off(start),
            has_default: ingress.default_backend.is_some(),
        };
        (unit, services)
    }
}

/// Groups the Ingress's paths by (host, Service, port), in order of first
/// appearance; bad paths are reported and dropped.
fn groups<'a>(
    cx: &mut Cx<'_>,
    source: &Source<'a>,
    regexes: &mut paths::RegexCache,
) -> Vec<Group<'a>> {
    let mut groups: Vec<Group<'a>> = Vec::new();
    for rule in &source.ingress.rules {
        let host = rule.host.as_deref().unwrap_or_default().to_string();
        for path in &rule.paths {
            let path_value = path.path.as_deref().unwrap_or_default();
            let what = format_args!("path '{path_value}'");
            let Some(target) = service_backend(cx, source, &path.backend, what) else {
                continue;
            };
            let index = match groups.iter().position(|g| {
                g.host == host && g.service == target.service && g.port == target.port
            }) {
                Some(i) => i,
                None => {
                    groups.push(Group {
                        host: host.clone(),
                        ..target
                    });
                    groups.len() - 1
                }
            };
            let group = &mut groups[index];
            let converted = paths::convert(
                path.path.as_deref(),
                &path.path_type,
                &source.settings.regex_prefix,
                regexes,
            );
            match converted {
                Ok(p) if !group.paths.contains(&p) => group.paths.push(p),
                Ok(_) => {}
                Err(message) => {
                    cx.problem(
                        &source.object,
                        "InvalidPath",
                        format!("{message}; the path is dropped"),
                    );
                    group.dropped.push(message);
                }
            }
        }
    }
    groups
}

/// The Service and port of a backend; a resource backend is reported,
/// naming it `what` (written out only then, not for every path).
fn service_backend<'a>(
    cx: &mut Cx<'_>,
    source: &Source<'a>,
    backend: &'a Backend,
    what: std::fmt::Arguments<'_>,
) -> Option<Group<'a>> {
    match backend {
        Backend::Service(service) => Some(Group {
            host: String::new(),
            service: &service.name,
            port: PortDef::from_backend(service),
            paths: Vec::new(),
            dropped: Vec::new(),
        }),
        Backend::Resource(_) | Backend::Nothing => {
            let kind = match backend {
                Backend::Resource(kind) => kind,
                _ => "nothing",
            };
            cx.problem(
                &source.object,
                "UnsupportedBackend",
                format!("{what} has a {kind} backend; kingress only routes to Services"),
            );
            None
        }
    }
}

/// Everything a route needs beyond its own Ingress.
struct RouteBuild<'b, 'a> {
    cx: &'b mut Cx<'a>,
    backends: &'b mut Backends<'a>,
    resolver: &'b mut Resolver,
    globals: &'b Attached,
    table: &'b mut Table,
}

impl<'a> RouteBuild<'_, 'a> {
    /// One route; anything that cannot be honoured becomes its fault.
    fn route(
        &mut self,
        source: &Source<'a>,
        name: String,
        hosts: Vec<HostMatch>,
        mut group: Group<'a>,
    ) -> Route {
        let mut faults = Vec::new();
        let backend = self.backends.resolve(
            self.cx,
            self.table,
            source.namespace,
            group.service,
            &group.port,
        );
        let (service_name, service_plugins) = match backend {
            Ok(b) => {
                let plugins = self.resolver.service(self.cx, &b.service);
                (Some(b.service_name), Some(plugins))
            }
            Err(e) => {
                self.cx.problem(&source.object, e.reason, e.message.clone());
                faults.push(e.message);
                (None, None)
            }
        };
        if group.paths.is_empty() {
            // Every path was dropped: rather than vanish (and let another
            // route or a 404 answer), the route answers 503 on `/`.
            faults.push(format!(
                "route has no valid path: {}",
                group.dropped.join("; ")
            ));
            group.paths.push(PathMatch::Plain("/".into()));
        }
        let levels = Levels {
            route: &source.plugins,
            service: service_plugins.as_deref(),
            global: self.globals,
        };
        let (mut plugins, plugin_faults) =
            levels.instances(&name, service_name.as_deref(), self.table);
        let s = &source.settings;
        let rewrite = s
            .rewrite
            .as_ref()
            .map(|r| rewrite::attach(&source.object, &name, r, &mut plugins, self.table));
        let extra = s.conditions.faults.iter().cloned();
        for fault in plugin_faults
            .into_iter()
            .chain(extra)
            .chain(rewrite.flatten())
        {
            if !faults.contains(&fault) {
                faults.push(fault);
            }
        }
        Route {
            name,
            source: source.object.clone(),
            hosts,
            paths: group.paths,
            methods: s.methods.clone(),
            headers: s.conditions.headers.clone(),
            snis: s.conditions.snis.clone(),
            protocols: s.protocols.clone(),
            https_redirect_status_code: s.https_redirect_status_code,
            strip_path: s.strip_path,
            path_handling: s.path_handling,
            preserve_host: s.preserve_host,
            regex_priority: s.regex_priority,
            service: service_name,
            plugins,
            scoped: Vec::new(),
            fault: (!faults.is_empty()).then(|| faults.join("; ")),
        }
    }
}
