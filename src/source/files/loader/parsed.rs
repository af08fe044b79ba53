//! One file's objects as the loader keeps them between loads: each kind's
//! objects in key order, without their keys. The merged set holds every
//! object under its key already; keeping each file's objects in maps of
//! their own held every key twice, with a map entry besides (at 171,000
//! objects some 20 MiB). A file's objects are found by binary search,
//! which only the keys of changed files need.

use crate::crd::{
    KongClusterPlugin, KongConsumerGroup, KongIngress, KongPlugin, KongUpstreamPolicy,
};
use crate::objects::Ingress;
use crate::objects::KongConsumer;
use crate::objects::Named;
use crate::objects::{
    Declarative, EndpointSlice, ObjectKey, ObjectSet, Refused, Secret, Service, Store, Unserved,
};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::networking::v1::IngressClass;
use std::sync::Arc;

/// One kind's objects of one file, in key order, each key once.
pub(super) type Sorted<K> = Box<[Arc<K>]>;

/// The objects of one file; see the module docs.
#[derive(Debug, Default)]
pub(super) struct Parsed {
    pub(super) ingress_classes: Sorted<IngressClass>,
    pub(super) ingresses: Sorted<Ingress>,
    pub(super) services: Sorted<Service>,
    pub(super) endpoint_slices: Sorted<EndpointSlice>,
    pub(super) secrets: Sorted<Secret>,
    pub(super) kong_plugins: Sorted<KongPlugin>,
    pub(super) kong_cluster_plugins: Sorted<KongClusterPlugin>,
    pub(super) kong_consumers: Sorted<KongConsumer>,
    pub(super) kong_consumer_groups: Sorted<KongConsumerGroup>,
    pub(super) kong_upstream_policies: Sorted<KongUpstreamPolicy>,
    pub(super) kong_ingresses: Sorted<KongIngress>,
    pub(super) config_maps: Sorted<ConfigMap>,
    pub(super) declarative: Vec<Declarative>,
    pub(super) refused: Vec<Refused>,
    pub(super) unserved: Vec<Unserved>,
    /// Number of objects (as [`ObjectSet::len`] counts them).
    pub(super) len: usize,
}

impl From<ObjectSet> for Parsed {
    fn from(set: ObjectSet) -> Self {
        fn sorted<K>(store: Arc<Store<K>>) -> Sorted<K> {
            store.values().cloned().collect()
        }
        Parsed {
            len: set.len(),
            ingress_classes: sorted(set.ingress_classes),
            ingresses: sorted(set.ingresses),
            services: sorted(set.services),
            endpoint_slices: sorted(set.endpoint_slices),
            secrets: sorted(set.secrets),
            kong_plugins: sorted(set.kong_plugins),
            kong_cluster_plugins: sorted(set.kong_cluster_plugins),
            kong_consumers: sorted(set.kong_consumers),
            kong_consumer_groups: sorted(set.kong_consumer_groups),
            kong_upstream_policies: sorted(set.kong_upstream_policies),
            kong_ingresses: sorted(set.kong_ingresses),
            config_maps: sorted(set.config_maps),
            declarative: set.declarative,
            refused: set.refused,
            unserved: set.unserved,
        }
    }
}

/// The store key of an object the object set holds: `ObjectSet::apply`
/// put `default` in the metadata of namespaced objects without a namespace.
pub(super) fn key<K: Named>(object: &K) -> ObjectKey {
    crate::objects::key(object)
}

/// The object of `objects` (in key order) under `key`.
pub(super) fn find<'a, K: Named>(objects: &'a [Arc<K>], key: &ObjectKey) -> Option<&'a Arc<K>> {
    let wanted = (key.0.as_str(), key.1.as_str());
    objects
        .binary_search_by(|o| borrowed(&**o).cmp(&wanted))
        .ok()
        .map(|i| &objects[i])
}

fn borrowed<K: Named>(object: &K) -> (&str, &str) {
    (object.namespace().unwrap_or_default(), object.name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::Object;

    fn service(namespace: Option<&str>, name: &str) -> Object {
        let mut meta = serde_json::json!({"name": name});
        if let Some(ns) = namespace {
            meta["namespace"] = ns.into();
        }
        Object::from_value(
            serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": meta}),
        )
        .unwrap()
    }

    #[test]
    fn objects_are_found_under_the_keys_the_set_gives_them() {
        let mut set = ObjectSet::default();
        for (ns, name) in [
            (Some("b"), "x"),
            (None, "y"),
            (Some("a"), "z"),
            (Some("b"), "a"),
        ] {
            set.apply(service(ns, name));
        }
        let keys: Vec<ObjectKey> = set.services.keys().cloned().collect();
        let parsed = Parsed::from(set);
        assert_eq!(parsed.len, 4);
        for k in &keys {
            let found = find(&parsed.services, k).expect("found");
            assert_eq!(&key(&**found), k);
        }
        let missing = ("b".to_string(), "b".to_string());
        assert!(find(&parsed.services, &missing).is_none());
        assert_eq!(keys[1], ("b".to_string(), "a".to_string()), "key order");
    }
}
