//! Results of earlier translations, reused where their inputs are the very
//! same objects. Translating ten thousand Ingresses and as many consumers
//! takes a few hundred milliseconds, while an edit usually touches one
//! object; with a [`Memo`], [`translate_cached`] translates again only the
//! Ingresses that changed, and the consumers only when a KongConsumer, a
//! KongConsumerGroup or a Secret did, and gives exactly what [`translate`] gives.
//!
//! "The same object" is the same `Arc`: sources keep an unchanged object's
//! `Arc` across loads (the file loader per file, the cluster reflectors per
//! object). The memo holds those `Arc`s, so an address it compares cannot
//! have been freed and reused for another object. Of the kinds kingress
//! writes the status of, an object changed only in its status counts as
//! the same too ([`same_input`]).
//!
//! Each part is pure in what it reads: an Ingress's share reads the
//! Ingress plus IngressClasses, Services, EndpointSlices, Secrets,
//! KongPlugins, KongClusterPlugins, KongUpstreamPolicies, KongIngresses and ConfigMaps; the consumers read KongConsumers,
//! KongConsumerGroups, Secrets and IngressClasses. When anything a part reads changed (or the
//! options did), that part is translated whole again. Secrets are told
//! apart one by one: each part records the Secrets it looked up (found or
//! not), and a changed Secret that no Ingress's share (nor a global
//! plugin) read keeps every Ingress's share, one no consumer read keeps
//! the consumers. So a rotated TLS Secret, which only the certificates
//! read, translates neither again; the certificates check again only the
//! Secrets that changed (`tls::Checks`).
//!
//! [`translate`]: super::translate
//! [`translate_cached`]: super::translate_cached

use super::Options;
use super::consumers::Consumers;
use super::ingress::Units;
use super::tls::Checks;
use crate::crd::{KongClusterPlugin, KongConsumerGroup, KongPlugin};
use crate::objects::KongConsumer;
use crate::objects::Secret;
use crate::objects::spec::{Spec, same_input};
use crate::objects::{ObjectKey, ObjectSet, Store};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Pure results of earlier translations; see the module docs.
#[derive(Default)]
pub struct Memo {
    /// What the last translation read.
    seen: Option<Seen>,
    /// Each Ingress's share of the last translation.
    pub(super) ingresses: Units,
    /// The consumers and credentials of the last translation.
    pub(super) consumers: Option<Consumers>,
    /// Those of the last translation when something they read changed:
    /// not reused, but kept instead of the new ones when these come out
    /// equal, so the new table shares them with the one serving.
    pub(super) stale_consumers: Option<Consumers>,
    /// The Secrets the kept Ingress shares (and the global plugins) read:
    /// at least those, as units kept across translations add theirs.
    pub(super) ingress_secrets: BTreeSet<ObjectKey>,
    /// The Secrets the kept consumers read.
    pub(super) consumer_secrets: BTreeSet<ObjectKey>,
    /// The TLS Secrets' checks of the last translation.
    pub(super) tls: Checks,
    /// What the last translation took from the memo.
    pub(super) reused: Reused,
}

/// What one translation took from the memo.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reused {
    /// Ingresses whose share was not translated again.
    pub ingresses: usize,
    /// Whether the consumers and credentials were not translated again.
    pub consumers: bool,
    /// TLS Secrets whose check was not made again.
    pub tls_checks: usize,
}

/// An object of some kind, held so its address stays its own.
type Held = Arc<dyn Send + Sync>;

/// The objects of the last translation, store by store, in store order.
struct Seen {
    options: Options,
    ingress_classes: Vec<Held>,
    services: Vec<Held>,
    endpoint_slices: Vec<Held>,
    /// With their keys, to tell which Secrets changed.
    secrets: Vec<(ObjectKey, Arc<Secret>)>,
    kong_plugins: Vec<Arc<KongPlugin>>,
    kong_cluster_plugins: Vec<Arc<KongClusterPlugin>>,
    kong_consumers: Vec<Arc<KongConsumer>>,
    kong_consumer_groups: Vec<Arc<KongConsumerGroup>>,
    kong_upstream_policies: Vec<Held>,
    kong_ingresses: Vec<Held>,
    config_maps: Vec<Held>,
}

// === impl Memo ===

impl Memo {
    /// An empty memo: the first translation with it does everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// What the last translation took from the memo.
    pub fn reused(&self) -> Reused {
        self.reused
    }

    /// Compares `objects` with what the last translation read, drops the
    /// parts that cannot be reused, and remembers `objects` for next time.
    pub(super) fn begin(&mut self, objects: &ObjectSet, options: &Options) {
        let (ingresses, consumers) = match &self.seen {
            Some(seen) if seen.options == *options => {
                let changed = changed_secrets(&seen.secrets, &objects.secrets);
                let unread = |read: &BTreeSet<ObjectKey>| changed.iter().all(|k| !read.contains(k));
                let classes = same(&seen.ingress_classes, &objects.ingress_classes);
                let ingresses = classes
                    && unread(&self.ingress_secrets)
                    && same(&seen.services, &objects.services)
                    && same(&seen.endpoint_slices, &objects.endpoint_slices)
                    && same_spec(&seen.kong_plugins, &objects.kong_plugins)
                    && same_spec(&seen.kong_cluster_plugins, &objects.kong_cluster_plugins)
                    && same(
                        &seen.kong_upstream_policies,
                        &objects.kong_upstream_policies,
                    )
                    && same(&seen.kong_ingresses, &objects.kong_ingresses)
                    && same(&seen.config_maps, &objects.config_maps);
                (
                    ingresses,
                    classes
                        && unread(&self.consumer_secrets)
                        && same_spec(&seen.kong_consumers, &objects.kong_consumers)
                        && same_spec(&seen.kong_consumer_groups, &objects.kong_consumer_groups),
                )
            }
            _ => (false, false),
        };
        if !ingresses {
            self.ingresses.invalidate();
            self.ingress_secrets.clear();
        }
        if !consumers {
            self.stale_consumers = self.consumers.take();
            self.consumer_secrets.clear();
        }
        // Keep what is the same (most stores, most of the time) rather than
        // holding every object again.
        let mut before = self.seen.take();
        macro_rules! snapshot {
            ($field:ident) => {
                match before.as_mut().filter(|b| same(&b.$field, &objects.$field)) {
                    Some(b) => std::mem::take(&mut b.$field),
                    None => held(&objects.$field),
                }
            };
        }
        self.seen = Some(Seen {
            options: options.clone(),
            ingress_classes: snapshot!(ingress_classes),
            services: snapshot!(services),
            endpoint_slices: snapshot!(endpoint_slices),
            secrets: match before
                .as_mut()
                .filter(|b| same_secrets(&b.secrets, &objects.secrets))
            {
                Some(b) => std::mem::take(&mut b.secrets),
                None => objects
                    .secrets
                    .iter()
                    .map(|(k, s)| (k.clone(), Arc::clone(s)))
                    .collect(),
            },
            kong_plugins: typed(&objects.kong_plugins),
            kong_cluster_plugins: typed(&objects.kong_cluster_plugins),
            kong_consumers: typed(&objects.kong_consumers),
            kong_consumer_groups: typed(&objects.kong_consumer_groups),
            kong_upstream_policies: snapshot!(kong_upstream_policies),
            kong_ingresses: snapshot!(kong_ingresses),
            config_maps: snapshot!(config_maps),
        });
    }
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo")
            .field("ingresses", &self.ingresses.len())
            .field("consumers", &self.consumers.is_some())
            .field("reused", &self.reused)
            .finish()
    }
}

/// The objects of a store, held so their addresses stay theirs.
fn held<K: Send + Sync + 'static>(store: &Store<K>) -> Vec<Held> {
    store.values().map(|o| Arc::clone(o) as Held).collect()
}

/// Whether `store` holds exactly the objects of `seen`, in the same order.
/// A store's key is its object's namespace and name, so the same objects
/// in the same order are the same store.
fn same<K: Send + Sync + 'static>(seen: &[Arc<dyn Send + Sync>], store: &Store<K>) -> bool {
    seen.len() == store.len()
        && seen
            .iter()
            .zip(store.values())
            .all(|(a, b)| std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b)))
}

/// The objects of a store, held as themselves: compared by [`same_spec`],
/// and always the current ones, so an object replaced by a status write
/// is not held twice.
fn typed<K>(store: &Store<K>) -> Vec<Arc<K>> {
    store.values().cloned().collect()
}

/// Whether `store` holds the objects of `seen` in the same order, each the
/// same or changed only in its status.
fn same_spec<K: Spec>(seen: &[Arc<K>], store: &Store<K>) -> bool {
    seen.len() == store.len()
        && seen
            .iter()
            .zip(store.values())
            .all(|(a, b)| same_input(a, b))
}

/// Whether `store` holds exactly the Secrets of `seen`.
fn same_secrets(seen: &[(ObjectKey, Arc<Secret>)], store: &Store<Secret>) -> bool {
    seen.len() == store.len()
        && seen
            .iter()
            .zip(store.values())
            .all(|((_, a), b)| Arc::ptr_eq(a, b))
}

/// The keys of the Secrets added, removed or replaced since `seen`. Both
/// are in key order, so one walk of each finds them.
fn changed_secrets(seen: &[(ObjectKey, Arc<Secret>)], store: &Store<Secret>) -> Vec<ObjectKey> {
    use std::cmp::Ordering;
    let mut changed = Vec::new();
    let mut before = seen.iter().peekable();
    let mut now = store.iter().peekable();
    loop {
        match (before.peek(), now.peek()) {
            (None, None) => return changed,
            (Some((key, _)), None) => {
                changed.push(key.clone());
                before.next();
            }
            (None, Some((key, _))) => {
                changed.push((*key).clone());
                now.next();
            }
            (Some((old_key, old)), Some((key, secret))) => match old_key.cmp(key) {
                Ordering::Less => {
                    changed.push(old_key.clone());
                    before.next();
                }
                Ordering::Greater => {
                    changed.push((*key).clone());
                    now.next();
                }
                Ordering::Equal => {
                    if !Arc::ptr_eq(old, secret) {
                        changed.push(old_key.clone());
                    }
                    before.next();
                    now.next();
                }
            },
        }
    }
}

#[cfg(test)]
mod tests;
