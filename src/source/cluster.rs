//! Objects from the API server: one kube-runtime watch per kind (per
//! namespace when `--watch-namespace` is given), each feeding its own
//! store. Secrets are never watched wholesale: a label-selected watch reads
//! `konghq.com/credential` Secrets, and the Secrets that Ingress TLS and
//! plugin `configFrom`/`configPatches` name are read by GET, driven by a
//! metadata-only watch of Secrets (see `secrets`). ConfigMaps are read only
//! where Services name them as CA bundles, one watch by name each.
//!
//! Watch failures are retried with backoff forever; the stores keep their
//! last content meanwhile, so the control loop keeps the last table and
//! catches up when the API server returns.

pub(crate) mod backoff;
mod connect;
mod feed;
mod optional;
mod reader;
pub mod refs;
mod secrets;
mod throttle;
mod unserved;
pub(crate) mod watched;

#[cfg(test)]
pub(crate) mod fake_api;
#[cfg(test)]
pub(crate) mod tests;

use crate::crd::{
    KongClusterPlugin, KongConsumerGroup, KongIngress, KongPlugin, KongUpstreamPolicy,
};
use crate::metrics::Metrics;
use crate::objects::Ingress;
use crate::objects::KongConsumer;
use crate::objects::class::ClassFilter;
use crate::objects::spec::same_input;
use crate::objects::{CREDENTIAL_LABEL, ObjectKey, ObjectSet, SharedStore, Store};
use crate::objects::{EndpointSlice, Named, Secret, Service};
pub use connect::{ConnectError, connect};
use feed::{Lane, Refs, Same, Signal};
use k8s_openapi::api::networking::v1::IngressClass;
use kube::runtime::watcher;
use kube::{Api, Client, Resource};
pub use optional::{
    consumer_groups_installed, kong_ingresses_installed, upstream_policies_installed,
};
pub use reader::Reader;
use secrets::RefSecrets;
use secrets::named::NamedWatches;
use std::collections::BTreeSet;
use std::sync::Arc;
pub use throttle::honour_retry_after;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use unserved::UnservedWatches;
pub use unserved::{UNSERVED_KINDS, UnservedKind, unserved_installed};
use watched::Watched;

/// Quiet time, and longest delay, before the referenced Secrets are
/// recomputed after a change of the referring kinds.
const REFS_QUIET: std::time::Duration = std::time::Duration::from_millis(10);
const REFS_MAX_DELAY: std::time::Duration = std::time::Duration::from_millis(200);

/// What to watch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterOptions {
    /// Namespaces to watch; empty means all. Cluster-scoped kinds
    /// (IngressClass, KongClusterPlugin) are always watched cluster-wide.
    pub namespaces: Vec<String>,
    /// Ingress class served; decides which objects' Secrets are read.
    pub ingress_class: String,
    /// `(namespace, name)` of the proxy Service whose addresses go into
    /// Ingress status; watched even outside `namespaces`.
    pub publish_service: Option<ObjectKey>,
    /// Leave KongConsumerGroups unwatched: their CRD is not installed (see
    /// [`consumer_groups_installed`]).
    pub skip_consumer_groups: bool,
    /// Leave KongUpstreamPolicies unwatched: their CRD is not installed (see
    /// [`upstream_policies_installed`]).
    pub skip_upstream_policies: bool,
    /// Leave KongIngresses unwatched: their CRD is not installed (see
    /// [`kong_ingresses_installed`]).
    pub skip_kong_ingresses: bool,
    /// Kong kinds kingress does not serve whose CRD is installed (see
    /// [`unserved_installed`]): watched by metadata, each object reported.
    pub unserved: Vec<UnservedKind>,
}

/// Running watches and their stores.
pub struct ClusterSource {
    reader: Reader,
    /// Change count of the kinds that name Secrets.
    refs_changes: Signal,
    class: String,
    changes: watch::Receiver<u64>,
    tasks: Vec<JoinHandle<()>>,
}

/// The reading side of every static watch.
struct Lanes {
    ingress_classes: Vec<Lane<IngressClass>>,
    ingresses: Vec<Lane<Ingress>>,
    services: Vec<Lane<Service>>,
    endpoint_slices: Vec<Lane<EndpointSlice>>,
    credentials: Vec<Lane<Secret>>,
    kong_plugins: Vec<Lane<KongPlugin>>,
    kong_cluster_plugins: Vec<Lane<KongClusterPlugin>>,
    kong_consumers: Vec<Lane<KongConsumer>>,
    kong_consumer_groups: Vec<Lane<KongConsumerGroup>>,
    kong_upstream_policies: Vec<Lane<KongUpstreamPolicy>>,
    kong_ingresses: Vec<Lane<KongIngress>>,
}

/// Starts watches of one kind; collects their lanes and tasks.
struct Starter<'a> {
    client: Client,
    namespaces: &'a [String],
    metrics: Metrics,
    changes: Signal,
    refs_changes: Signal,
    tasks: Vec<JoinHandle<()>>,
}

// === impl ClusterSource ===

impl ClusterSource {
    /// Starts every watch; must be called inside a Tokio runtime.
    pub fn start(client: Client, options: ClusterOptions, metrics: Metrics) -> ClusterSource {
        let (changes, rx) = Signal::new();
        let (refs_changes, refs_rx) = Signal::new();
        let mut s = Starter {
            client: client.clone(),
            namespaces: &options.namespaces,
            metrics: metrics.clone(),
            changes: changes.clone(),
            refs_changes: refs_changes.clone(),
            tasks: Vec::new(),
        };
        let credentials = watcher::Config::default().labels(CREDENTIAL_LABEL);
        // Services name Secrets and ConfigMaps (upstream TLS annotations).
        let mut services =
            s.namespaced::<Service>("Service", Default::default(), Some(feed::never_same));
        // The publish Service is read even outside the watched namespaces.
        if let Some((ns, name)) = &options.publish_service
            && !s.namespaces.is_empty()
            && !s.namespaces.contains(ns)
        {
            let api = Api::namespaced(client.clone(), ns);
            let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
            services.push(s.one(api, config, "Service", None));
        }
        let lanes = Arc::new(Lanes {
            ingress_classes: vec![s.one(
                Api::all(client.clone()),
                Default::default(),
                "IngressClass",
                Some(feed::never_same),
            )],
            ingresses: s.namespaced("Ingress", Default::default(), Some(same_input)),
            services,
            endpoint_slices: s.namespaced("EndpointSlice", Default::default(), None),
            credentials: s.namespaced("Secret", credentials, None),
            kong_plugins: s.namespaced("KongPlugin", Default::default(), Some(same_input)),
            kong_cluster_plugins: vec![s.one(
                Api::all(client.clone()),
                Default::default(),
                "KongClusterPlugin",
                Some(same_input),
            )],
            kong_consumers: s.namespaced("KongConsumer", Default::default(), None),
            kong_consumer_groups: if options.skip_consumer_groups {
                Vec::new()
            } else {
                s.namespaced("KongConsumerGroup", Default::default(), None)
            },
            kong_upstream_policies: if options.skip_upstream_policies {
                Vec::new()
            } else {
                s.namespaced("KongUpstreamPolicy", Default::default(), None)
            },
            kong_ingresses: if options.skip_kong_ingresses {
                Vec::new()
            } else {
                s.namespaced("KongIngress", Default::default(), None)
            },
        });
        let listed = changes.subscribe();
        let config_maps = Arc::new(NamedWatches::of_kind(
            "ConfigMap",
            client.clone(),
            metrics.clone(),
            changes.clone(),
        ));
        let unserved = Arc::new(UnservedWatches::start(
            &client,
            &options.unserved,
            &options.namespaces,
            &metrics,
            &changes,
        ));
        let refs = Arc::new(RefSecrets::new(
            client,
            metrics,
            changes,
            &options.namespaces,
        ));
        let mut tasks = s.tasks;
        let reader = Reader {
            lanes,
            refs,
            config_maps,
            unserved,
            secrets: Arc::default(),
        };
        tasks.push(tokio::spawn(track_refs(
            reader.clone(),
            options.ingress_class.clone(),
            refs_rx,
            listed,
        )));
        ClusterSource {
            reader,
            refs_changes,
            class: options.ingress_class,
            changes: rx,
            tasks,
        }
    }

    /// Resolves when any store changed since the last call returned.
    pub async fn changed(&mut self) {
        // The sender lives in every watch task and in `refs`; it is never
        // dropped while `self` exists, so an error cannot happen.
        let _ = self.changes.changed().await;
    }

    /// Whether every watch has listed once and every Secret that the
    /// listed objects name has been read. Cheap (no walk of the objects):
    /// it is asked on every change while waiting.
    pub fn is_ready(&self) -> bool {
        let r = &self.reader;
        r.lanes.ready()
            && r.refs.ready(self.refs_changes.current())
            && r.config_maps.unread().is_empty()
    }

    /// Resolves once [`is_ready`](Self::is_ready) holds.
    pub async fn wait_ready(&mut self) {
        while !self.is_ready() {
            self.changed().await;
        }
    }

    /// Referenced Secrets whose watch has not listed yet (for logging when
    /// one cannot be read, e.g. for lack of RBAC in its namespace).
    pub fn unread_secrets(&self) -> Vec<ObjectKey> {
        if !self.reader.lanes.ready() {
            return Vec::new();
        }
        self.reader.refs.unread()
    }

    /// Whether every static watch (all but the referenced Secrets) has
    /// listed once.
    pub fn is_listed(&self) -> bool {
        self.reader.lanes.ready()
    }

    /// The current objects: Arcs copied out of the stores.
    pub fn snapshot(&self) -> ObjectSet {
        self.reader.snapshot()
    }

    /// A reader of the stores, for snapshots taken on another thread.
    pub fn reader(&self) -> Reader {
        self.reader.clone()
    }

    /// Referenced Secrets: (held in memory, read through a per-name watch
    /// because no metadata watch covers their namespace, whose version
    /// the metadata watches know).
    pub fn referenced_secrets(&self) -> (usize, usize, usize) {
        let refs = &self.reader.refs;
        (refs.held(), refs.named_watches(), refs.known())
    }
}

impl Drop for ClusterSource {
    fn drop(&mut self) {
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

impl std::fmt::Debug for ClusterSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterSource")
            .field("class", &self.class)
            .field("ready", &self.is_ready())
            .finish_non_exhaustive()
    }
}

/// Keeps the referenced Secrets in line with what the listed objects name.
/// Runs on changes of the referring kinds only, not on every EndpointSlice
/// event, and walks the objects on the blocking pool: with 10,000 Ingresses
/// the walk takes milliseconds an async worker (and the proxy on it) must
/// not wait for.
async fn track_refs(
    reader: Reader,
    class: String,
    mut changes: watch::Receiver<u64>,
    mut listed: watch::Receiver<u64>,
) {
    // Until every kind has listed, any list completing may be the last,
    // whether or not its kind names Secrets.
    while !reader.lanes.ready() {
        if listed.changed().await.is_err() {
            return;
        }
    }
    drop(listed);
    loop {
        let generation = *changes.borrow_and_update();
        let (r, c) = (reader.clone(), class.clone());
        let synced = tokio::task::spawn_blocking(move || {
            // ConfigMaps first: readiness asks for them once the Secrets
            // are synced at this generation.
            let services = state(&r.lanes.services);
            r.config_maps
                .sync(&refs::service_config_maps(services.iter().map(|s| &**s)));
            r.refs.sync(&r.lanes.wanted_secrets(&c), generation)
        });
        if synced.await.is_err() {
            return;
        }
        if changes.changed().await.is_err() {
            return;
        }
        // Recomputing walks every Ingress and plugin; coalesce bursts (a
        // relist, or the echo of Ingress status writes) into one pass.
        let deadline = tokio::time::Instant::now() + REFS_MAX_DELAY;
        while let Ok(Ok(())) = tokio::time::timeout_at(
            (tokio::time::Instant::now() + REFS_QUIET).min(deadline),
            changes.changed(),
        )
        .await
        {}
    }
}

// === impl Lanes ===

impl Lanes {
    fn ready(&self) -> bool {
        fn all<K: Named + Clone>(lanes: &[Lane<K>]) -> bool {
            lanes.iter().all(Lane::is_ready)
        }
        all(&self.ingress_classes)
            && all(&self.ingresses)
            && all(&self.services)
            && all(&self.endpoint_slices)
            && all(&self.credentials)
            && all(&self.kong_plugins)
            && all(&self.kong_cluster_plugins)
            && all(&self.kong_consumers)
            && all(&self.kong_consumer_groups)
            && all(&self.kong_upstream_policies)
            && all(&self.kong_ingresses)
    }

    fn wanted_secrets(&self, class: &str) -> BTreeSet<ObjectKey> {
        let classes = state(&self.ingress_classes);
        let filter = ClassFilter::new(class, classes.iter().map(|c| &**c));
        let ingresses = state(&self.ingresses);
        let plugins = state(&self.kong_plugins);
        let cluster_plugins = state(&self.kong_cluster_plugins);
        let mut wanted = refs::wanted_secrets(
            &filter,
            ingresses.iter().map(|i| &**i),
            plugins.iter().map(|p| &**p),
            cluster_plugins.iter().map(|p| &**p),
        );
        let services = state(&self.services);
        wanted.extend(refs::service_secrets(services.iter().map(|s| &**s)));
        wanted
    }
}

fn state<K: Named + Clone>(lanes: &[Lane<K>]) -> Vec<Arc<K>> {
    lanes.iter().flat_map(Lane::state).collect()
}

/// The objects of `lanes`: the one lane's own map when there is one (no
/// copy), else a merged copy.
fn collect<K: Named + Clone>(lanes: &[Lane<K>]) -> SharedStore<K> {
    if let [lane] = lanes {
        return lane.shared();
    }
    let mut out = Store::new();
    for lane in lanes {
        lane.copy_into(&mut out);
    }
    Arc::new(out)
}

// === impl Starter ===

impl Starter<'_> {
    /// One watch per watched namespace, or one cluster-wide.
    fn namespaced<K>(
        &mut self,
        kind: &'static str,
        config: watcher::Config,
        refers: Option<Same<K>>,
    ) -> Vec<Lane<K>>
    where
        K: Watched,
        K::Wire: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    {
        if self.namespaces.is_empty() {
            return vec![self.one(Api::all(self.client.clone()), config, kind, refers)];
        }
        let namespaces = self.namespaces.to_vec();
        namespaces
            .iter()
            .map(|ns| {
                self.one(
                    Api::namespaced(self.client.clone(), ns),
                    config.clone(),
                    kind,
                    refers,
                )
            })
            .collect()
    }

    /// One watch; `refers` is given for kinds whose objects name Secrets,
    /// and tells which replacements name the same ones.
    fn one<K: Watched>(
        &mut self,
        api: Api<K::Wire>,
        config: watcher::Config,
        kind: &'static str,
        refers: Option<Same<K>>,
    ) -> Lane<K> {
        let refs = refers.map(|same| Refs {
            signal: self.refs_changes.clone(),
            same,
        });
        let signals = vec![self.changes.clone()];
        let (lane, task) = feed::spawn(api, config, kind, self.metrics.clone(), signals, refs);
        self.tasks.push(task);
        lane
    }
}
