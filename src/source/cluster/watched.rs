//! Each kind as a watch reads it and as its store keeps it. The compact
//! kinds (Ingress, Service, EndpointSlice, Secret, KongConsumer) are read as k8s-openapi's
//! types, whose full `ObjectMeta` kube-runtime's watcher needs (it reads each
//! event's resourceVersion), and kept as kingress's own, whose metadata is a
//! third of the size. The others are kept as read, less what kingress never
//! reads and what can be large.

use crate::crd::{
    KongClusterPlugin, KongConsumerGroup, KongIngress, KongPlugin, KongUpstreamPolicy,
};
use crate::objects::meta::LAST_APPLIED;
use crate::objects::{EndpointSlice, Ingress, KongConsumer, Named, Secret, Service};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::networking::v1::IngressClass;
use kube::Resource;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// A kind kingress watches: what the API server sends ([`Watched::Wire`])
/// and how the store keeps it.
pub(crate) trait Watched: Named + Clone + Send + Sync + 'static {
    /// The type a watch or GET deserializes.
    type Wire: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static;

    /// The object as the store keeps it.
    fn keep(wire: Self::Wire) -> Self;
}

/// Kinds kept as their own wire type.
macro_rules! kept_as_read {
    ($($ty:ty),* $(,)?) => {$(
        impl Watched for $ty {
            type Wire = $ty;

            fn keep(mut wire: $ty) -> $ty {
                slim(&mut wire);
                wire
            }
        }
    )*};
}

kept_as_read!(
    IngressClass,
    ConfigMap,
    KongPlugin,
    KongClusterPlugin,
    KongConsumerGroup,
    KongUpstreamPolicy,
    KongIngress,
);

/// Compact kinds, kept as converted from their k8s-openapi or CRD type (which
/// drops managed fields, the last-applied copy and spare capacity).
macro_rules! kept_compact {
    ($($ty:ty => $wire:ty),* $(,)?) => {$(
        impl Watched for $ty {
            type Wire = $wire;

            fn keep(wire: $wire) -> $ty {
                wire.into()
            }
        }
    )*};
}

kept_compact!(
    Ingress => crate::objects::ingress::K8sIngress,
    Service => crate::objects::service::K8sService,
    EndpointSlice => crate::objects::endpoint_slice::K8sEndpointSlice,
    Secret => crate::objects::secret::K8sSecret,
    KongConsumer => crate::crd::KongConsumer,
);

/// Drops what kingress never reads and what can be large: managed fields and
/// the last-applied copy. The object kept is a copy: a deserialized
/// object's vectors keep the spare room they grew with (room for four
/// entries where there is one), a copy has none. At 60,000 objects that
/// was some 60 MiB (kube's reflector copied each object too).
fn slim<K: Resource + Clone>(object: &mut K) {
    object.meta_mut().managed_fields = None;
    if let Some(annotations) = object.meta_mut().annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
    *object = object.clone();
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta};

    fn wire_meta() -> ObjectMeta {
        ObjectMeta {
            name: Some("web".into()),
            namespace: Some("shop".into()),
            uid: Some("u-1".into()),
            resource_version: Some("7".into()),
            generation: Some(2),
            annotations: Some(
                [
                    (LAST_APPLIED.to_string(), "{\"big\":1}".to_string()),
                    ("konghq.com/plugins".to_string(), "auth".to_string()),
                ]
                .into(),
            ),
            managed_fields: Some(vec![ManagedFieldsEntry::default()]),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn compact_kinds_keep_identity_and_annotations() {
        let ingress = Ingress::keep(crate::objects::ingress::K8sIngress {
            metadata: wire_meta(),
            ..Default::default()
        });
        assert_eq!(crate::objects::key(&ingress), ("shop".into(), "web".into()));
        assert_eq!(ingress.uid(), Some("u-1"));
        assert_eq!(ingress.resource_version(), Some("7"));
        assert_eq!(ingress.generation(), Some(2));
        assert_eq!(ingress.annotation("konghq.com/plugins"), Some("auth"));
        assert_eq!(ingress.annotation(LAST_APPLIED), None);
        assert_eq!(<Ingress as Named>::kind(), "Ingress");
    }

    #[test]
    fn kinds_kept_as_read_lose_managed_fields_and_the_last_applied_copy() {
        let plugin = KongPlugin::keep(KongPlugin {
            metadata: wire_meta(),
            ..Default::default()
        });
        assert_eq!(plugin.metadata.managed_fields, None);
        assert_eq!(plugin.annotation(LAST_APPLIED), None);
        assert_eq!(plugin.annotation("konghq.com/plugins"), Some("auth"));
        assert_eq!(plugin.uid(), Some("u-1"));
        assert_eq!(<KongPlugin as Named>::kind(), "KongPlugin");
    }

    #[test]
    fn a_consumer_is_kept_compact() {
        let consumer = KongConsumer::keep(crate::crd::KongConsumer {
            metadata: wire_meta(),
            username: Some("jane".into()),
            ..Default::default()
        });
        assert_eq!(consumer.annotation(LAST_APPLIED), None);
        assert_eq!(consumer.annotation("konghq.com/plugins"), Some("auth"));
        assert_eq!(consumer.resource_version(), Some("7"));
        assert_eq!(consumer.username.as_deref(), Some("jane"));
        assert_eq!(<KongConsumer as Named>::kind(), "KongConsumer");
    }
}
