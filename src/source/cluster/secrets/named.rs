//! Watches of single Secrets, for the few referenced Secrets outside every
//! watched namespace (a KongClusterPlugin's `configFrom` may name any
//! namespace): a watch with field selector `metadata.name=…`, so the Secret
//! is read when it appears, followed when it rotates, and forgotten when no
//! object names it any more. Inside the watched namespaces the metadata
//! watch and GETs do this with a constant number of connections. The few
//! ConfigMaps that Services name as CA bundles are read the same way.

use super::super::feed::{self, Lane, Signal};
use super::super::watched::Watched;
use crate::metrics::Metrics;
use crate::objects::ObjectKey;
use crate::objects::Secret;
use kube::runtime::watcher;
use kube::{Api, Client, Resource};
use parking_lot::Mutex;
use std::collections::{BTreeMap, BTreeSet};
use tokio::task::JoinHandle;

/// The per-name watches of one kind (Secrets unless said) currently
/// running.
pub(crate) struct NamedWatches<K: Watched = Secret> {
    client: Client,
    metrics: Metrics,
    changes: Signal,
    kind: &'static str,
    watches: Mutex<BTreeMap<ObjectKey, RefWatch<K>>>,
}

struct RefWatch<K: Watched> {
    lane: Lane<K>,
    task: JoinHandle<()>,
}

// === impl NamedWatches ===

impl NamedWatches {
    /// No Secret watches yet; changes of future watches bump `changes`.
    pub(crate) fn new(client: Client, metrics: Metrics, changes: Signal) -> Self {
        Self::of_kind("Secret", client, metrics, changes)
    }
}

impl<K> NamedWatches<K>
where
    K: Watched,
    K::Wire: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    /// No watches of `kind` yet; changes of future watches bump `changes`.
    pub(crate) fn of_kind(
        kind: &'static str,
        client: Client,
        metrics: Metrics,
        changes: Signal,
    ) -> Self {
        Self {
            client,
            metrics,
            changes,
            kind,
            watches: Mutex::new(BTreeMap::new()),
        }
    }

    /// Starts watches for newly wanted Secrets and stops the others. A
    /// stopped watch's Secret leaves the snapshot, which is a change.
    pub(crate) fn sync(&self, wanted: &BTreeSet<ObjectKey>) {
        let mut watches = self.watches.lock();
        let before = watches.len();
        watches.retain(|key, w| {
            let keep = wanted.contains(key);
            if !keep {
                w.task.abort();
            }
            keep
        });
        let dropped = before != watches.len();
        for (ns, name) in wanted {
            if watches.contains_key(&(ns.clone(), name.clone())) {
                continue;
            }
            let api: Api<K::Wire> = Api::namespaced(self.client.clone(), ns);
            let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
            let (lane, task) = feed::spawn(
                api,
                config,
                self.kind,
                self.metrics.clone(),
                vec![self.changes.clone()],
                None,
            );
            tracing::debug!(namespace = %ns, name = %name, "watching referenced secret");
            watches.insert((ns.clone(), name.clone()), RefWatch { lane, task });
        }
        drop(watches);
        if dropped {
            self.changes.bump();
        }
    }

    /// Watched Secrets whose watch has not listed yet (a Secret that does
    /// not exist lists as empty and counts as read).
    pub(crate) fn unread(&self) -> Vec<ObjectKey> {
        let watches = self.watches.lock();
        watches
            .iter()
            .filter(|(_, w)| !w.lane.is_ready())
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The stores of every running watch.
    pub(crate) fn lanes(&self) -> Vec<Lane<K>> {
        self.watches
            .lock()
            .values()
            .map(|w| w.lane.clone())
            .collect()
    }

    /// Number of running watches.
    pub(crate) fn len(&self) -> usize {
        self.watches.lock().len()
    }
}

impl<K: Watched> Drop for NamedWatches<K> {
    fn drop(&mut self) {
        for w in self.watches.get_mut().values() {
            w.task.abort();
        }
    }
}
