//! Ingresses to routes (KIC's `ingressTranslationIndex`): one route per
//! (Ingress, rule host, backend Service, port) holding all its paths, named
//! `<ns>.<ingress>.<svc>.<host>.<port>`; then the default backend of the
//! oldest Ingress that has one, as route `<ns>.<ingress>` after all others.

use super::annotations::{self, RouteSettings};
use super::backend::{Backends, PortDef};
use super::plugins::{Attached, Levels, Resolver};
use super::{Cx, annotation, object_ref, paths};
use crate::model::{HostMatch, ObjectRef, PathMatch, Route, Table};
use k8s_openapi::api::networking::v1::{Ingress, IngressBackend};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// What every route of one Ingress shares.
struct Source<'i> {
    ingress: &'i Ingress,
    object: ObjectRef,
    namespace: &'i str,
    settings: RouteSettings,
    plugins: Attached,
}

/// The paths of one (host, Service, port) combination.
struct Group {
    host: String,
    service: String,
    port: PortDef,
    paths: Vec<PathMatch>,
    dropped: Vec<String>,
}

/// Adds a route per rule group of every Ingress of our class, then the
/// default backend route.
pub(super) fn translate(
    cx: &mut Cx<'_>,
    resolver: &mut Resolver,
    globals: &Attached,
    table: &mut Table,
) {
    let objects = cx.objects;
    let mut backends = Backends::new(cx);
    let mut regexes = paths::RegexCache::new();
    let mut defaults: Vec<(Option<&Time>, Source<'_>)> = Vec::new();
    for ((namespace, _), ingress) in &objects.ingresses {
        if !cx.class.ingress(ingress) {
            continue;
        }
        let object = object_ref(ingress.as_ref());
        let settings =
            annotations::route_settings(cx, &object, ingress.metadata.annotations.as_ref());
        let value = annotation(ingress.as_ref(), annotations::PLUGINS);
        let plugins = resolver.attached(cx, &object, namespace, value);
        let source = Source {
            ingress,
            object,
            namespace,
            settings,
            plugins,
        };
        for group in groups(cx, &source, &mut regexes) {
            let host = group.host.replace('*', "_");
            let name = format!(
                "{}.{}.{}.{host}.{}",
                source.namespace,
                source.object.name,
                group.service,
                group.port.canonical()
            );
            let hosts = match group.host.as_str() {
                "" => Vec::new(),
                h => vec![HostMatch::parse(h)],
            };
            let mut build = RouteBuild {
                cx: &mut *cx,
                backends: &mut backends,
                resolver: &mut *resolver,
                globals,
                table: &mut *table,
            };
            let route = build.route(&source, name, hosts, group);
            table.routes.push(route);
        }
        if ingress
            .spec
            .as_ref()
            .and_then(|s| s.default_backend.as_ref())
            .is_some()
        {
            defaults.push((ingress.metadata.creation_timestamp.as_ref(), source));
        }
    }

    // Oldest first; keys already break ties by namespace/name (stable sort).
    defaults.sort_by(|a, b| a.0.cmp(&b.0));
    let mut defaults = defaults.into_iter().map(|(_, s)| s);
    let Some(winner) = defaults.next() else {
        return;
    };
    for loser in defaults {
        cx.problem(
            &loser.object,
            "DefaultBackendConflict",
            format!(
                "spec.defaultBackend is ignored: the older {} provides the default backend",
                winner.object
            ),
        );
    }
    let backend = winner
        .ingress
        .spec
        .as_ref()
        .and_then(|s| s.default_backend.as_ref());
    let Some(group) = backend.and_then(|b| service_backend(cx, &winner, b, "the default backend"))
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
        backends: &mut backends,
        resolver,
        globals,
        table: &mut *table,
    };
    let route = build.route(&winner, name, Vec::new(), group);
    table.routes.push(route);
}

/// Groups the Ingress's paths by (host, Service, port), in order of first
/// appearance; bad paths are reported and dropped.
fn groups(cx: &mut Cx<'_>, source: &Source<'_>, regexes: &mut paths::RegexCache) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let rules = source.ingress.spec.as_ref().and_then(|s| s.rules.as_ref());
    for rule in rules.into_iter().flatten() {
        let host = rule.host.clone().unwrap_or_default();
        let paths = rule
            .http
            .as_ref()
            .map(|h| h.paths.as_slice())
            .unwrap_or_default();
        for path in paths {
            let what = format!("path '{}'", path.path.as_deref().unwrap_or_default());
            let Some(target) = service_backend(cx, source, &path.backend, &what) else {
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

/// The Service and port of a backend; a resource backend is reported.
fn service_backend(
    cx: &mut Cx<'_>,
    source: &Source<'_>,
    backend: &IngressBackend,
    what: &str,
) -> Option<Group> {
    match (&backend.service, &backend.resource) {
        (Some(service), _) => Some(Group {
            host: String::new(),
            service: service.name.clone(),
            port: PortDef::from_backend(service.port.as_ref()),
            paths: Vec::new(),
            dropped: Vec::new(),
        }),
        (None, resource) => {
            let kind = resource
                .as_ref()
                .map(|r| r.kind.as_str())
                .unwrap_or("nothing");
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

impl RouteBuild<'_, '_> {
    /// One route; anything that cannot be honoured becomes its fault.
    fn route(
        &mut self,
        source: &Source<'_>,
        name: String,
        hosts: Vec<HostMatch>,
        mut group: Group,
    ) -> Route {
        let mut faults = Vec::new();
        let backend = self.backends.resolve(
            self.cx,
            self.table,
            source.namespace,
            &group.service,
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
        let (plugins, plugin_faults) = levels.instances(&name, service_name.as_deref(), self.table);
        for fault in plugin_faults {
            if !faults.contains(&fault) {
                faults.push(fault);
            }
        }
        let s = &source.settings;
        Route {
            name,
            source: source.object.clone(),
            hosts,
            paths: group.paths,
            methods: s.methods.clone(),
            protocols: s.protocols.clone(),
            https_redirect_status_code: s.https_redirect_status_code,
            strip_path: s.strip_path,
            preserve_host: s.preserve_host,
            regex_priority: s.regex_priority,
            service: service_name,
            plugins,
            fault: (!faults.is_empty()).then(|| faults.join("; ")),
        }
    }
}
