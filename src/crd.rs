//! Kong's custom resources (group `configuration.konghq.com`, version `v1`;
//! KongConsumerGroup and KongUpstreamPolicy are `v1beta1`, as in Kong's CRDs).
//!
//! Kong's CRDs keep their fields at the top level of the object (there is no
//! `spec`), so these types implement `kube::Resource` by hand instead of
//! using `#[derive(CustomResource)]`, which always nests a `spec`. The YAML in
//! `crds/` is generated from these types by `generate`.

mod consumer;
mod consumer_group;
pub mod generate;
mod kong_ingress;
mod plugin;
mod upstream_policy;

pub use consumer::KongConsumer;
pub use consumer_group::{KongConsumerGroup, KongConsumerGroupSpec};
pub use kong_ingress::{KongIngress, KongIngressRoute, KongIngressService, KongIngressUpstream};
pub use plugin::{
    ConfigPatch, ConfigSource, KongClusterPlugin, KongPlugin, NamespacedConfigPatch,
    NamespacedConfigSource, NamespacedSecretKeyRef, PluginOrderingSpec, SecretKeyRef,
};
pub use upstream_policy::{
    KongUpstreamActiveHealthcheck, KongUpstreamHash, KongUpstreamHealthcheck, KongUpstreamHealthy,
    KongUpstreamPassiveHealthcheck, KongUpstreamPolicy, KongUpstreamPolicySpec,
    KongUpstreamUnhealthy,
};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// API group of Kong's resources.
pub const GROUP: &str = "configuration.konghq.com";
/// API version served and stored of the v1 kinds (all but KongConsumerGroup).
pub const VERSION: &str = "v1";
/// API version served and stored of KongConsumerGroup.
pub const VERSION_V1BETA1: &str = "v1beta1";

/// `status` of every Kong resource: a list of conditions (`Programmed`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KongStatus {
    /// Conditions, keyed by `type`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// Implements `kube::Resource` for a Kong resource (version `v1` unless
/// given).
macro_rules! kong_resource {
    ($ty:ty, $kind:literal, $plural:literal, $scope:ty) => {
        $crate::crd::kong_resource!($ty, $kind, $plural, $scope, $crate::crd::VERSION);
    };
    ($ty:ty, $kind:literal, $plural:literal, $scope:ty, $version:expr) => {
        impl kube::Resource for $ty {
            type DynamicType = ();
            type Scope = $scope;

            fn kind(_: &()) -> std::borrow::Cow<'_, str> {
                $kind.into()
            }
            fn group(_: &()) -> std::borrow::Cow<'_, str> {
                $crate::crd::GROUP.into()
            }
            fn version(_: &()) -> std::borrow::Cow<'_, str> {
                $version.into()
            }
            fn plural(_: &()) -> std::borrow::Cow<'_, str> {
                $plural.into()
            }
            fn meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &self.metadata
            }
            fn meta_mut(
                &mut self,
            ) -> &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &mut self.metadata
            }
        }
    };
}
pub(crate) use kong_resource;
