//! Watches of single Secrets named by Ingress TLS and plugin config. Each
//! referenced Secret gets a watch with field selector `metadata.name=…` in
//! its namespace, so it is read when it appears (cert-manager often creates
//! it after the Ingress), followed when it rotates, and forgotten when no
//! object names it any more.

use super::feed::{self, Lane, Signal};
use crate::metrics::Metrics;
use crate::objects::ObjectKey;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::watcher;
use kube::{Api, Client};
use parking_lot::Mutex;
use std::collections::{BTreeMap, BTreeSet};
use tokio::task::JoinHandle;

/// The per-name Secret watches currently running.
pub(crate) struct RefSecrets {
    client: Client,
    metrics: Metrics,
    changes: Signal,
    watches: Mutex<BTreeMap<ObjectKey, RefWatch>>,
}

struct RefWatch {
    lane: Lane<Secret>,
    task: JoinHandle<()>,
}

// === impl RefSecrets ===

impl RefSecrets {
    /// No watches yet; changes of future watches bump `changes`.
    pub(crate) fn new(client: Client, metrics: Metrics, changes: Signal) -> Self {
        Self {
            client,
            metrics,
            changes,
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
            let api: Api<Secret> = Api::namespaced(self.client.clone(), ns);
            let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
            let (lane, task) = feed::spawn(
                api,
                config,
                "Secret",
                self.metrics.clone(),
                vec![self.changes.clone()],
            );
            tracing::debug!(namespace = %ns, name = %name, "watching referenced secret");
            watches.insert((ns.clone(), name.clone()), RefWatch { lane, task });
        }
        drop(watches);
        if dropped {
            self.changes.bump();
        }
    }

    /// Whether every Secret in `wanted` has a watch that has listed once
    /// (a Secret that does not exist lists as empty and counts as read).
    pub(crate) fn ready_for(&self, wanted: &BTreeSet<ObjectKey>) -> bool {
        let watches = self.watches.lock();
        wanted
            .iter()
            .all(|key| watches.get(key).is_some_and(|w| w.lane.is_ready()))
    }

    /// Wanted Secrets whose watch has not listed yet.
    pub(crate) fn unread(&self, wanted: &BTreeSet<ObjectKey>) -> Vec<ObjectKey> {
        let watches = self.watches.lock();
        wanted
            .iter()
            .filter(|key| !watches.get(*key).is_some_and(|w| w.lane.is_ready()))
            .cloned()
            .collect()
    }

    /// The stores of every running watch.
    pub(crate) fn lanes(&self) -> Vec<Lane<Secret>> {
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

impl Drop for RefSecrets {
    fn drop(&mut self) {
        for w in self.watches.get_mut().values() {
            w.task.abort();
        }
    }
}
