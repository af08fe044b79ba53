//! Objects of the Kong kinds kingress does not serve (TCPIngress,
//! UDPIngress, KongVault, …), watched by metadata only where their CRD is
//! installed, so each becomes a problem (a WARN line and an Event) instead
//! of going unnoticed. A kind whose CRD is missing is not watched at all:
//! nothing to report, and no watch failing forever.

use super::feed::{self, Signal};
use crate::metrics::{KindLabels, Metrics};
use crate::objects::class::CLASS_ANNOTATION;
pub use crate::objects::unserved::{UNSERVED_KINDS, UnservedKind};
use crate::objects::{ObjectKey, Unserved};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind, PartialObjectMeta};
use kube::runtime::{metadata_watcher, watcher};
use kube::{Api, Client};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::task::JoinHandle;

#[cfg(test)]
mod tests;

/// Which [`UNSERVED_KINDS`] the API server serves. A group version that
/// cannot be asked about counts as not installed: its kinds would only be
/// reported, and a watch of a kind that is not served fails forever.
pub async fn unserved_installed(client: &Client) -> Vec<UnservedKind> {
    let mut out = Vec::new();
    let mut versions: Vec<&str> = UNSERVED_KINDS.iter().map(|k| k.api_version).collect();
    versions.dedup();
    // Only the group versions the server lists are asked about: the API
    // server answers an unknown one with a plain-text 404, which kube's
    // client logs as a WARN at every start of an install without those
    // CRDs (kingress's own CRDs have no `v1alpha1`). A server that does
    // not list its groups is asked about each version.
    if let Ok(groups) = client.list_api_groups().await {
        let served: Vec<&str> = groups
            .groups
            .iter()
            .flat_map(|g| g.versions.iter().map(|v| v.group_version.as_str()))
            .collect();
        versions.retain(|v| served.contains(v));
    }
    for version in versions {
        let Ok(list) = client.list_api_group_resources(version).await else {
            continue;
        };
        out.extend(UNSERVED_KINDS.iter().filter(|k| {
            k.api_version == version && list.resources.iter().any(|r| r.name == k.plural)
        }));
    }
    out
}

/// The running metadata watches of the installed unserved kinds.
pub(super) struct UnservedWatches {
    lanes: Vec<Arc<Lane>>,
    tasks: Vec<JoinHandle<()>>,
}

/// One watch's objects, swapped in whole on each (re)list.
#[derive(Default)]
struct Lane {
    objects: Mutex<BTreeMap<ObjectKey, Unserved>>,
    listing: Mutex<BTreeMap<ObjectKey, Unserved>>,
    ready: AtomicBool,
}

// === impl UnservedWatches ===

impl UnservedWatches {
    /// Starts a watch per kind in `kinds` (per namespace of `namespaces`
    /// for namespaced kinds, when given); changes bump `changes`.
    pub(super) fn start(
        client: &Client,
        kinds: &[UnservedKind],
        namespaces: &[String],
        metrics: &Metrics,
        changes: &Signal,
    ) -> Self {
        let mut watches = Self {
            lanes: Vec::new(),
            tasks: Vec::new(),
        };
        for k in kinds {
            let (group, version) = k.api_version.split_once('/').unwrap_or_default();
            let gvk = GroupVersionKind::gvk(group, version, k.kind);
            let resource = ApiResource::from_gvk_with_plural(&gvk, k.plural);
            let apis: Vec<Api<DynamicObject>> = if k.cluster || namespaces.is_empty() {
                vec![Api::all_with(client.clone(), &resource)]
            } else {
                namespaces
                    .iter()
                    .map(|ns| Api::namespaced_with(client.clone(), ns, &resource))
                    .collect()
            };
            for api in apis {
                let lane = Arc::new(Lane::default());
                let events = metrics.watch_events.get_or_create(&KindLabels {
                    kind: k.kind.to_string(),
                });
                let (events, changes, into) = (events.clone(), changes.clone(), lane.clone());
                let kind = *k;
                let watch = metadata_watcher(api, watcher::Config::default());
                watches
                    .tasks
                    .push(tokio::spawn(feed::drive(watch, k.kind, move |event| {
                        if !matches!(event, watcher::Event::Init | watcher::Event::InitDone) {
                            events.inc();
                        }
                        if into.apply(&kind, event) {
                            changes.bump();
                        }
                    })));
                watches.lanes.push(lane);
            }
        }
        watches
    }

    /// Every object seen, in kind and key order.
    pub(super) fn collect(&self) -> Vec<Unserved> {
        self.lanes
            .iter()
            .flat_map(|l| l.objects.lock().values().cloned().collect::<Vec<_>>())
            .collect()
    }
}

impl Drop for UnservedWatches {
    fn drop(&mut self) {
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

// === impl Lane ===

impl Lane {
    /// Applies one event; whether the objects changed.
    fn apply(
        &self,
        kind: &UnservedKind,
        event: watcher::Event<PartialObjectMeta<DynamicObject>>,
    ) -> bool {
        let entry = |meta: &PartialObjectMeta<DynamicObject>| {
            let namespace = meta.metadata.namespace.clone();
            let name = meta.metadata.name.clone().unwrap_or_default();
            let key = (namespace.clone().unwrap_or_default(), name.clone());
            let m = &meta.metadata;
            let unserved = Unserved {
                api_version: kind.api_version.to_string(),
                kind: kind.kind.to_string(),
                namespace,
                name,
                class: m
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(CLASS_ANNOTATION))
                    .cloned(),
                uid: m.uid.clone(),
                generation: m.generation,
            };
            (key, unserved)
        };
        match event {
            watcher::Event::Apply(meta) => {
                let (key, u) = entry(&meta);
                let before = self.objects.lock().insert(key, u.clone());
                before.as_ref() != Some(&u)
            }
            watcher::Event::Delete(meta) => self.objects.lock().remove(&entry(&meta).0).is_some(),
            watcher::Event::Init => {
                self.listing.lock().clear();
                false
            }
            watcher::Event::InitApply(meta) => {
                let (key, u) = entry(&meta);
                self.listing.lock().insert(key, u);
                false
            }
            watcher::Event::InitDone => {
                let listed = std::mem::take(&mut *self.listing.lock());
                let mut objects = self.objects.lock();
                let changed = *objects != listed;
                *objects = listed;
                let first = !self.ready.swap(true, Ordering::AcqRel);
                // The first list is a change even when empty: readiness
                // is looked at again.
                changed || first
            }
        }
    }
}
