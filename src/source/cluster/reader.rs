//! Reading the stores of every watch into one [`ObjectSet`], on any thread.

use super::feed::Lane;
use super::secrets::RefSecrets;
use super::secrets::named::NamedWatches;
use super::unserved::UnservedWatches;
use super::{Lanes, collect};
use crate::objects::Secret;
use crate::objects::{ObjectSet, SharedStore, Store};
use k8s_openapi::api::core::v1::ConfigMap;
use parking_lot::Mutex;
use std::sync::Arc;

/// Reads the stores: a snapshot can be taken on any thread, so a big one
/// is taken off the async workers.
#[derive(Clone)]
pub struct Reader {
    pub(super) lanes: Arc<Lanes>,
    pub(super) refs: Arc<RefSecrets>,
    /// ConfigMaps Services name as CA bundles, one watch each (they are few).
    pub(super) config_maps: Arc<NamedWatches<ConfigMap>>,
    /// Objects of Kong kinds reported, not served. Readiness does not
    /// wait for them: a watch RBAC forbids would hold the proxy back for
    /// objects that only make problems.
    pub(super) unserved: Arc<UnservedWatches>,
    /// The last snapshot's Secrets, reused while nothing they are made of
    /// changed.
    pub(super) secrets: Arc<Mutex<Option<MergedSecrets>>>,
}

/// Credential and referenced Secrets in one store, and what it was made of.
pub(super) struct MergedSecrets {
    credentials: Vec<SharedStore<Secret>>,
    referenced: (u64, Vec<SharedStore<Secret>>),
    merged: SharedStore<Secret>,
}

// === impl Reader ===

impl Reader {
    /// The current objects: each kind's store shared with its watch (a
    /// merged copy where several watches feed one kind).
    pub fn snapshot(&self) -> ObjectSet {
        let l = &self.lanes;
        ObjectSet {
            ingress_classes: collect(&l.ingress_classes),
            ingresses: collect(&l.ingresses),
            services: collect(&l.services),
            endpoint_slices: collect(&l.endpoint_slices),
            secrets: self.secrets(),
            kong_plugins: collect(&l.kong_plugins),
            kong_cluster_plugins: collect(&l.kong_cluster_plugins),
            kong_consumers: collect(&l.kong_consumers),
            kong_consumer_groups: collect(&l.kong_consumer_groups),
            kong_upstream_policies: collect(&l.kong_upstream_policies),
            kong_ingresses: collect(&l.kong_ingresses),
            config_maps: collect(&self.config_maps.lanes()),
            // Cluster mode reads no Kong declarative files.
            declarative: Vec::new(),
            refused: Vec::new(),
            unserved: self.unserved.collect(),
        }
    }
}

impl Reader {
    /// Credential and referenced Secrets in one store: the last snapshot's
    /// while the stores and reads it was made of are the same (20,000
    /// Secrets are 20,000 keys per copy), else merged afresh. A change
    /// between taking the inputs and merging makes the next snapshot merge
    /// again, never reuse a stale store.
    fn secrets(&self) -> SharedStore<Secret> {
        let credentials: Vec<SharedStore<Secret>> =
            self.lanes.credentials.iter().map(Lane::shared).collect();
        let referenced = self.refs.version();
        let same = |a: &[SharedStore<Secret>], b: &[SharedStore<Secret>]| {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| Arc::ptr_eq(a, b))
        };
        let mut cache = self.secrets.lock();
        if let Some(c) = cache.as_ref().filter(|c| {
            same(&c.credentials, &credentials)
                && c.referenced.0 == referenced.0
                && same(&c.referenced.1, &referenced.1)
        }) {
            return Arc::clone(&c.merged);
        }
        let mut merged = Store::new();
        for store in &credentials {
            merged.extend(store.iter().map(|(k, s)| (k.clone(), Arc::clone(s))));
        }
        self.refs.extend(&mut merged);
        let merged = Arc::new(merged);
        *cache = Some(MergedSecrets {
            credentials,
            referenced,
            merged: Arc::clone(&merged),
        });
        merged
    }
}
