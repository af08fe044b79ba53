//! Kong declarative documents (`kong.yml`, read by `source::files` into
//! `kong::Document`s) to routes, services, consumers, consumer groups,
//! oauth2 credentials and plugin instances in the same table as the
//! Kubernetes objects.
//!
//! Kong semantics: a route's plugins are its own, then its service's, then
//! the document's global plugins, one instance per plugin name (the most
//! specific wins); a disabled plugin does not run; the routes of a disabled
//! service are not routed; a route without a service answers 503 ("no
//! Service found with those values") unless a plugin answers first.
//!
//! Global plugins of a document apply to the routes of that document only,
//! and global KongClusterPlugins to Ingress routes only: the two sources
//! are configured apart, so neither silently changes the other's routes.
//!
//! A refused document (its problems come from `kong::Document`) adds
//! nothing; a name both sources use is a problem and the declarative entity
//! is the one left out, so declarative input never removes a Kubernetes
//! route. Pure: ids were made when the document was read.

mod scoped;
mod upstreams;

use super::Cx;
use crate::kong::{self, Document};
use crate::model::plugin::{Holder, PluginOrdering, Scope, order_plugins};
use crate::model::{
    ClientSecret, ClientType, Consumer, ConsumerGroup, Credential, HeaderMatch, HostMatch,
    Oauth2Credential, ObjectRef, PathHandling, PathMatch, PathRegex, PluginInstance, Route, Scheme,
    Sensitive, Service, Shared, Table, Target, UpstreamTls,
};
use scoped::Scoped;
use std::collections::BTreeMap;

/// Adds every declarative document of the object set to `table`.
pub(super) fn translate(cx: &mut Cx<'_>, table: &mut Table) {
    let objects = cx.objects;
    for file in &objects.declarative {
        match &file.document {
            Ok(doc) => Doc::new(cx, table, &file.origin, doc).translate(),
            Err(e) => cx.problem(
                &ObjectRef::cluster("KongDeclarativeConfig", &file.origin),
                "InvalidDeclarativeConfig",
                format!("{e}; nothing from this document is used"),
            ),
        }
    }
}

/// One document being added.
struct Doc<'c, 'a, 't> {
    cx: &'c mut Cx<'a>,
    table: &'t mut Table,
    origin: &'c str,
    doc: &'c Document,
    /// Kong service id → table key; `None` when the service is not usable.
    services: BTreeMap<&'c str, Option<String>>,
    /// Kong consumer group id → name, for the groups kept in the table.
    groups: BTreeMap<&'c str, &'c str>,
}

impl<'c, 'a, 't> Doc<'c, 'a, 't> {
    fn new(cx: &'c mut Cx<'a>, table: &'t mut Table, origin: &'c str, doc: &'c Document) -> Self {
        Self {
            cx,
            table,
            origin,
            doc,
            services: BTreeMap::new(),
            groups: BTreeMap::new(),
        }
    }

    fn object(&self, kind: &str, name: Option<&str>, id: &str) -> ObjectRef {
        ObjectRef::cluster(kind, &format!("{}: {}", self.origin, name.unwrap_or(id)))
    }

    fn translate(mut self) {
        self.services();
        self.consumer_groups();
        let plugins = self.plugins();
        self.routes(&plugins);
        self.consumers();
        for instance in plugins.consumer_wide() {
            let Some(holder) = instance.scope.holder.clone() else {
                continue;
            };
            let kept = match &holder {
                Holder::Consumer(id) => self.table.consumers.contains_key(id),
                Holder::Group(name) => self.groups.values().any(|n| n == name),
            };
            if kept {
                self.table
                    .holder_plugins
                    .entry(holder)
                    .or_default()
                    .push(instance.clone());
            }
        }
    }

    fn services(&mut self) {
        for s in &self.doc.services {
            let object = self.object("KongService", s.name.as_deref(), &s.id);
            let key = s.name.clone().unwrap_or_else(|| s.id.clone());
            if let Some(other) = self.table.services.get(&key) {
                let message = format!(
                    "service name '{key}' is already used by {}; the service is ignored and \
                     its routes answer 503",
                    other.source
                );
                self.cx.problem(&object, "DuplicateServiceName", message);
                self.services.insert(&s.id, None);
                continue;
            }
            if !s.enabled {
                self.services.insert(&s.id, None);
                continue;
            }
            let mut service = Service::new(key.clone(), object);
            service.scheme = Scheme::parse(&s.protocol).unwrap_or(Scheme::Http);
            service.path = s.path.clone();
            service.targets = vec![Target::new(s.host.clone(), s.port as u16)];
            self.upstream(&mut service, &s.host);
            service.connect_timeout_ms = s.connect_timeout as u64;
            service.read_timeout_ms = s.read_timeout as u64;
            service.write_timeout_ms = s.write_timeout as u64;
            service.retries = s.retries as u32;
            if s.tls_verify.is_some() || s.tls_verify_depth.is_some() {
                service.tls = std::sync::Arc::new(UpstreamTls {
                    verify: s.tls_verify.unwrap_or(false),
                    verify_depth: s.tls_verify_depth.and_then(|d| u8::try_from(d).ok()),
                    ..UpstreamTls::default()
                });
            }
            self.table.services.insert(key.clone(), service);
            self.services.insert(&s.id, Some(key));
        }
    }

    /// Consumer groups; a name the table already has is a problem and the
    /// group (with its memberships and plugins) is left out.
    fn consumer_groups(&mut self) {
        for g in &self.doc.consumer_groups {
            let object = self.object("KongConsumerGroup", Some(&g.name), &g.id);
            if let Some(other) = self.table.consumer_groups.get(&g.name) {
                let message = format!(
                    "consumer group name '{}' is already used by {}; this group, its members' \
                     memberships and its plugins are ignored",
                    g.name, other.source
                );
                self.cx
                    .problem(&object, "DuplicateConsumerGroupName", message);
                continue;
            }
            self.table.consumer_groups.insert(
                g.name.clone(),
                ConsumerGroup {
                    id: g.id.clone(),
                    name: g.name.clone(),
                    tags: g.tags.clone().unwrap_or_default(),
                    source: object,
                },
            );
            self.groups.insert(&g.id, &g.name);
        }
    }

    /// Parsed, enabled plugins by scope; problems for unusable ones.
    fn plugins(&mut self) -> Scoped {
        let mut scoped = Scoped::default();
        for p in &self.doc.plugins {
            if !p.enabled {
                continue;
            }
            let object = self.object(
                "KongPlugin",
                p.instance_name.as_deref().or(Some(&p.name)),
                &p.id,
            );
            if let Some(name) = &p.instance_name
                && let Some(other) = self
                    .table
                    .plugins
                    .values()
                    .find(|o| o.instance_name.as_deref() == Some(name))
            {
                let message = format!(
                    "instance_name '{name}' is already used by {}; the plugin is ignored and \
                     the routes it applies to answer 503",
                    other.source
                );
                self.cx.problem(&object, "DuplicatePluginName", message);
                scoped.push(p, Err(message_for(&p.name)));
                continue;
            }
            let instance = match p.parsed_config() {
                Ok(config) => {
                    let (before, after) = p.access_ordering();
                    let instance = PluginInstance {
                        id: p.id.clone(),
                        name: p.name.clone(),
                        instance_name: p.instance_name.clone(),
                        source: object,
                        protocols: p.protocols.clone(),
                        ordering: PluginOrdering { before, after },
                        config,
                        scope: Scope {
                            route: p.route.is_some(),
                            service: p.service.is_some(),
                            holder: self.holder(p),
                        },
                    };
                    self.table.plugins.insert(p.id.clone(), instance.clone());
                    Ok(instance)
                }
                Err(e) => {
                    self.cx
                        .problem(&object, "InvalidPluginConfig", e.to_string());
                    Err(message_for(&p.name))
                }
            };
            scoped.push(p, instance);
        }
        scoped
    }

    fn routes(&mut self, plugins: &Scoped) {
        for r in &self.doc.routes {
            let object = self.object("KongRoute", r.name.as_deref(), &r.id);
            let name = r.name.clone().unwrap_or_else(|| r.id.clone());
            if let Some(other) = self.table.routes.iter().find(|o| o.name == name) {
                let message = format!(
                    "route name '{name}' is already used by {}; the route is ignored",
                    other.source
                );
                self.cx.problem(&object, "DuplicateRouteName", message);
                continue;
            }
            let headers = match header_matches(r.headers.as_ref()) {
                Ok(h) => h,
                Err(message) => {
                    self.cx.problem(
                        &object,
                        "InvalidRouteField",
                        format!("{message}; the route is ignored"),
                    );
                    continue;
                }
            };
            let path_handling = match r.path_handling.as_str() {
                "v1" => PathHandling::V1,
                _ => PathHandling::V0,
            };
            let mut faults = Vec::new();
            let service = match &r.service {
                None => None,
                Some(f) => match self.services.get(f.id.as_str()) {
                    Some(Some(key)) => Some(key.clone()),
                    Some(None) if self.disabled(&f.id) => continue,
                    _ => {
                        faults.push("the route's service is not available".to_string());
                        None
                    }
                },
            };
            let service_id = r.service.as_ref().map(|f| f.id.as_str());
            let (mut instances, scoped) = plugins.for_route(&r.id, service_id, &mut faults);
            order_plugins(&mut instances);
            let paths = paths(r);
            self.table.routes.push(Shared::new(Route {
                name,
                source: object,
                hosts: r
                    .hosts
                    .iter()
                    .flatten()
                    .map(|h| HostMatch::parse(h))
                    .collect(),
                paths,
                methods: r.methods.clone().unwrap_or_default(),
                headers,
                snis: Vec::new(),
                protocols: r.protocols.clone(),
                https_redirect_status_code: r.https_redirect_status_code as u16,
                strip_path: r.strip_path,
                path_handling,
                preserve_host: r.preserve_host,
                regex_priority: r.regex_priority,
                service,
                plugins: instances,
                scoped,
                fault: (!faults.is_empty()).then(|| faults.join("; ")),
            }));
        }
    }

    /// The consumer or consumer group a plugin is scoped to.
    fn holder(&self, p: &kong::Plugin) -> Option<Holder> {
        if let Some(c) = &p.consumer {
            return Some(Holder::Consumer(c.id.clone()));
        }
        let group = p.consumer_group.as_ref()?;
        let name = self
            .doc
            .consumer_groups
            .iter()
            .find(|g| g.id == group.id)
            .map_or(group.id.as_str(), |g| g.name.as_str());
        Some(Holder::Group(name.to_string()))
    }

    fn disabled(&self, service_id: &str) -> bool {
        self.doc
            .services
            .iter()
            .any(|s| s.id == service_id && !s.enabled)
    }

    fn consumers(&mut self) {
        let mut kept = BTreeMap::new();
        for c in &self.doc.consumers {
            let object = self.object(
                "KongConsumer",
                c.username.as_deref().or(c.custom_id.as_deref()),
                &c.id,
            );
            let clash = self.table.consumers.values().find(|o| {
                (c.username.is_some() && o.username == c.username)
                    || (c.custom_id.is_some() && o.custom_id == c.custom_id)
            });
            if let Some(other) = clash {
                let message = format!(
                    "username or custom_id is already used by {}; the consumer and its \
                     credentials are ignored",
                    other.source
                );
                self.cx.problem(&object, "DuplicateUsername", message);
                continue;
            }
            kept.insert(c.id.as_str(), object.clone());
            let groups = self.memberships(&c.id);
            self.table.consumers.insert(
                c.id.clone(),
                std::sync::Arc::new(Consumer {
                    id: c.id.clone(),
                    username: c.username.clone(),
                    custom_id: c.custom_id.clone(),
                    groups,
                    source: object,
                    header_values: Default::default(),
                }),
            );
        }
        for c in &self.doc.credentials {
            if !kept.contains_key(c.consumer.id.as_str()) {
                continue;
            }
            let object = self.object("KongCredential", None, &c.id);
            let credential = match c.to_model(object.clone()) {
                Ok(credential) => credential,
                // Checked when the document was read.
                Err(e) => {
                    self.cx.problem(&object, "InvalidCredential", e.to_string());
                    continue;
                }
            };
            let conflict = self
                .table
                .credentials
                .get(credential.credential_type(), &credential.key())
                .map(|other| other.source().clone());
            if let Some(other) = conflict {
                let message = format!(
                    "{} is already used by {other}; this credential is ignored",
                    super::credentials::describe_key(&credential)
                );
                self.cx.problem(&object, "DuplicateCredential", message);
                continue;
            }
            let _fresh = self.table.credentials.insert(credential);
        }
        for c in &self.doc.oauth2_credentials {
            if !kept.contains_key(c.consumer.id.as_str()) {
                continue;
            }
            let object = self.object("KongOauth2Credential", Some(&c.name), &c.id);
            let fresh = Credential::Oauth2(credential(c, object.clone()));
            if let Err(other) = self.table.credentials.insert(fresh) {
                let message = format!(
                    "client_id '{}' is already used by {}; this credential is ignored",
                    c.client_id,
                    other.source()
                );
                self.cx.problem(&object, "DuplicateClientId", message);
            }
        }
    }
}

impl Doc<'_, '_, '_> {
    /// The names of the kept groups consumer `id` joins, sorted.
    fn memberships(&self, id: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .doc
            .consumer_group_consumers
            .iter()
            .filter(|m| m.consumer.id == id)
            .filter_map(|m| self.groups.get(m.consumer_group.id.as_str()))
            .map(|n| n.to_string())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// The fault of a route whose plugin could not be built: fail closed.
fn message_for(plugin: &str) -> String {
    format!("plugin '{plugin}' of this route cannot be used")
}

/// Kong paths: `~` marks a regex; no path means every path.
fn paths(r: &kong::Route) -> Vec<PathMatch> {
    let paths: Vec<PathMatch> = r
        .paths
        .iter()
        .flatten()
        .filter_map(|p| match p.strip_prefix('~') {
            // Checked when the document was read; a failure here cannot
            // happen, and skipping keeps translate total.
            Some(pattern) => PathRegex::new(pattern).ok().map(PathMatch::Regex),
            // In the proxy's spelling of request paths (checked to
            // normalise when the document was read).
            None => crate::model::normalise::normalise(p)
                .ok()
                .map(|n| PathMatch::Plain(n.into_owned())),
        })
        .collect();
    if paths.is_empty() {
        vec![PathMatch::Plain("/".to_string())]
    } else {
        paths
    }
}

/// The model credential: a stored hash stays a hash, `hash_secret` asks
/// `secret::Sealer` to hash the plaintext before publishing.
fn credential(c: &kong::Oauth2Credential, source: ObjectRef) -> Oauth2Credential {
    let secret = c.client_secret.expose();
    let client_secret = if crate::model::is_hashed_secret(secret) {
        ClientSecret::Hashed(secret.to_string())
    } else if c.hash_secret {
        ClientSecret::ToHash(Sensitive::new(secret))
    } else {
        ClientSecret::Plain(Sensitive::new(secret))
    };
    Oauth2Credential {
        id: c.id.clone(),
        consumer_id: c.consumer.id.clone(),
        name: c.name.clone(),
        client_id: c.client_id.clone(),
        client_secret,
        redirect_uris: c.redirect_uris.clone().unwrap_or_default(),
        client_type: if c.client_type == "public" {
            ClientType::Public
        } else {
            ClientType::Confidential
        },
        hash_secret: c.hash_secret,
        source,
    }
}

/// A kong.yml route's `headers` as router conditions; `Err` names a `~*`
/// pattern that does not compile.
fn header_matches(
    headers: Option<&BTreeMap<String, Vec<String>>>,
) -> Result<Vec<HeaderMatch>, String> {
    headers
        .into_iter()
        .flatten()
        .map(|(name, values)| {
            HeaderMatch::new(name, values)
                .map_err(|e| format!("header '{name}' has an invalid regex: {e}"))
        })
        .collect()
}

#[cfg(test)]
mod tests;
