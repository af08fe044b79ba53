//! Object metadata as kingress keeps it for its compact kinds (Ingress,
//! Service, EndpointSlice, Secret, KongConsumer): the identity, the
//! annotations and the creation time, which is all translate, status and
//! Events read. k8s-openapi's `ObjectMeta` is 336 bytes before its heap
//! parts (every field an `Option`, owner references, finalizers, …) and its
//! annotations a B-tree node of 544 bytes however few they are; [`Meta`] is
//! a third of it and its annotations one sorted slice. At 50,000 Ingresses
//! (160,000 such objects) the control plane's peak RSS fell by some 55 MiB.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The annotation `kubectl apply` writes: a full copy of the object as last
/// applied. Never kept (memory should track the objects, not their history).
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Annotations (or labels): key/value pairs sorted by key, in one
/// allocation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pairs(Box<[(Box<str>, Box<str>)]>);

/// The metadata of a compact kind: what `ObjectMeta` holds that kingress
/// reads. Labels, managed fields, owner references and the like are left
/// out (a kind that reads a label keeps it beside its metadata).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    /// `name`.
    pub name: Option<Box<str>>,
    /// `namespace`.
    pub namespace: Option<Box<str>>,
    /// `uid` (cluster mode).
    pub uid: Option<Box<str>>,
    /// `resourceVersion` (cluster mode).
    pub resource_version: Option<Box<str>>,
    /// `generation` (cluster mode).
    pub generation: Option<i64>,
    /// `creationTimestamp`: the older of two conflicting objects wins.
    pub creation_timestamp: Option<Time>,
    /// `annotations` but the last-applied copy.
    pub annotations: Pairs,
}

/// What every kind the object set holds tells about itself: kind, name,
/// namespace, uid and annotations. The compact kinds answer from their
/// [`Meta`], the others (CRDs, IngressClass, ConfigMap) from their
/// `ObjectMeta`; generic code (store keys, object references, Events)
/// reads through this.
pub trait Named {
    /// The kind (`Ingress`, `KongPlugin`, …).
    fn kind() -> Cow<'static, str>;
    /// `metadata.name`, empty when unset.
    fn name(&self) -> &str;
    /// `metadata.namespace`.
    fn namespace(&self) -> Option<&str>;
    /// Sets `metadata.namespace` (a manifest's object without one lands in
    /// `default`).
    fn set_namespace(&mut self, namespace: &str);
    /// `metadata.uid`.
    fn uid(&self) -> Option<&str>;
    /// `metadata.generation`.
    fn generation(&self) -> Option<i64>;
    /// `metadata.resourceVersion`.
    fn resource_version(&self) -> Option<&str>;
    /// The annotation `key`, if set.
    fn annotation(&self, key: &str) -> Option<&str>;
}

/// Implements [`Named`] from `kube::Resource` for kinds kept as their
/// upstream (or CRD) type, with a full `ObjectMeta`.
macro_rules! named_from_resource {
    ($($ty:ty),* $(,)?) => {$(
        impl $crate::objects::meta::Named for $ty {
            fn kind() -> std::borrow::Cow<'static, str> {
                <$ty as kube::Resource>::kind(&())
            }
            fn name(&self) -> &str {
                kube::Resource::meta(self).name.as_deref().unwrap_or_default()
            }
            fn namespace(&self) -> Option<&str> {
                kube::Resource::meta(self).namespace.as_deref()
            }
            fn set_namespace(&mut self, namespace: &str) {
                kube::Resource::meta_mut(self).namespace = Some(namespace.to_string());
            }
            fn uid(&self) -> Option<&str> {
                kube::Resource::meta(self).uid.as_deref()
            }
            fn generation(&self) -> Option<i64> {
                kube::Resource::meta(self).generation
            }
            fn resource_version(&self) -> Option<&str> {
                kube::Resource::meta(self).resource_version.as_deref()
            }
            fn annotation(&self, key: &str) -> Option<&str> {
                kube::Resource::meta(self)
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(key))
                    .map(String::as_str)
            }
        }
    )*};
}
pub(crate) use named_from_resource;

/// Implements [`Named`] for a compact kind with a [`Meta`] in `metadata`,
/// of the kind of `$from` (its upstream type).
macro_rules! named_from_meta {
    ($compact:ty, $from:ty) => {
        impl $crate::objects::meta::Named for $compact {
            fn kind() -> std::borrow::Cow<'static, str> {
                <$from as kube::Resource>::kind(&())
            }
            fn name(&self) -> &str {
                self.metadata.name.as_deref().unwrap_or_default()
            }
            fn namespace(&self) -> Option<&str> {
                self.metadata.namespace.as_deref()
            }
            fn set_namespace(&mut self, namespace: &str) {
                self.metadata.namespace = Some(namespace.into());
            }
            fn uid(&self) -> Option<&str> {
                self.metadata.uid.as_deref()
            }
            fn generation(&self) -> Option<i64> {
                self.metadata.generation
            }
            fn resource_version(&self) -> Option<&str> {
                self.metadata.resource_version.as_deref()
            }
            fn annotation(&self, key: &str) -> Option<&str> {
                self.metadata.annotations.get(key)
            }
        }
    };
}
pub(crate) use named_from_meta;

// === impl Pairs ===

impl Pairs {
    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        let at = self.0.binary_search_by(|(k, _)| (**k).cmp(key)).ok()?;
        Some(&self.0[at].1)
    }

    /// Whether `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Every pair, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    /// Every key, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| &**k)
    }

    /// The pairs from the first key not less than `key` on, in key order.
    pub fn from_key(&self, key: &str) -> impl Iterator<Item = (&str, &str)> {
        let at = self.0.partition_point(|(k, _)| &**k < key);
        self.0[at..].iter().map(|(k, v)| (&**k, &**v))
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<BTreeMap<String, String>> for Pairs {
    fn from(map: BTreeMap<String, String>) -> Self {
        // A B-tree map iterates in key order: already sorted.
        Self(map.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

impl<K: Into<Box<str>>, V: Into<Box<str>>> FromIterator<(K, V)> for Pairs {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let map: BTreeMap<Box<str>, Box<str>> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Self(map.into_iter().collect())
    }
}

// === impl Meta ===

impl From<ObjectMeta> for Meta {
    /// Keeps what kingress reads; drops labels, managed fields and the
    /// last-applied copy among the annotations.
    fn from(meta: ObjectMeta) -> Self {
        let mut annotations = meta.annotations.unwrap_or_default();
        annotations.remove(LAST_APPLIED);
        Meta {
            name: meta.name.map(Into::into),
            namespace: meta.namespace.map(Into::into),
            uid: meta.uid.map(Into::into),
            resource_version: meta.resource_version.map(Into::into),
            generation: meta.generation,
            creation_timestamp: meta.creation_timestamp,
            annotations: annotations.into(),
        }
    }
}

impl Meta {
    /// Metadata naming `namespace`/`name` and nothing else (tests and
    /// fixtures).
    pub fn named(namespace: Option<&str>, name: &str) -> Self {
        Meta {
            name: Some(name.into()),
            namespace: namespace.map(Into::into),
            ..Meta::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_what_is_read_and_drops_the_rest() {
        let meta: ObjectMeta = serde_json::from_value(serde_json::json!({
            "name": "web", "namespace": "shop", "uid": "u-1", "resourceVersion": "42",
            "generation": 3, "creationTimestamp": "2024-01-02T03:04:05Z",
            "labels": {"app": "web"},
            "annotations": {"b": "2", "a": "1", LAST_APPLIED: "{\"big\": true}"},
            "managedFields": [{"manager": "kubectl"}],
            "finalizers": ["x"]
        }))
        .unwrap();
        let created = meta.creation_timestamp.clone();
        let meta = Meta::from(meta);
        assert_eq!(meta.name.as_deref(), Some("web"));
        assert_eq!(meta.namespace.as_deref(), Some("shop"));
        assert_eq!(meta.uid.as_deref(), Some("u-1"));
        assert_eq!(meta.resource_version.as_deref(), Some("42"));
        assert_eq!(meta.generation, Some(3));
        assert_eq!(meta.creation_timestamp, created);
        assert!(meta.creation_timestamp.is_some());
        assert_eq!(
            meta.annotations.iter().collect::<Vec<_>>(),
            [("a", "1"), ("b", "2")]
        );
        assert_eq!(meta.annotations.get(LAST_APPLIED), None);
    }

    #[test]
    fn pairs_are_sorted_and_found_by_key() {
        let pairs: Pairs = [("z", "26"), ("a", "1"), ("m", "13")].into_iter().collect();
        assert_eq!(pairs.get("a"), Some("1"));
        assert_eq!(pairs.get("m"), Some("13"));
        assert_eq!(pairs.get("z"), Some("26"));
        assert_eq!(pairs.get("b"), None);
        assert_eq!(pairs.keys().collect::<Vec<_>>(), ["a", "m", "z"]);
        assert!(pairs.contains_key("m") && !pairs.contains_key("n"));
        assert_eq!(
            pairs.from_key("b").collect::<Vec<_>>(),
            [("m", "13"), ("z", "26")]
        );
        assert_eq!(pairs.from_key("m").count(), 2);
        assert!(Pairs::default().is_empty() && !pairs.is_empty());
    }

    #[test]
    fn smaller_than_object_meta() {
        assert!(std::mem::size_of::<Meta>() * 2 < std::mem::size_of::<ObjectMeta>());
    }
}
