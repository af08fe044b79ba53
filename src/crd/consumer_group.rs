use super::{KongStatus, kong_resource};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `KongConsumerGroup` (`configuration.konghq.com/v1beta1`): a Kong consumer
/// group that KongConsumers join through `consumerGroups`, and that plugins
/// can be scoped to with `konghq.com/plugins`. Unlike the v1 kinds, its
/// fields sit under `spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KongConsumerGroup {
    /// `apiVersion`, kept so objects round-trip.
    #[serde(
        rename = "apiVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub api_version: Option<String>,
    /// `kind`, kept so objects round-trip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Standard object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The group itself.
    #[serde(default)]
    pub spec: KongConsumerGroupSpec,
    /// Status written by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<KongStatus>,
}

/// `spec` of a KongConsumerGroup.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KongConsumerGroupSpec {
    /// Name of the consumer group in Kong; the object's name when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Optional set of tags applied to the consumer group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Kong Gateway Operator / Konnect field, passed through.
    #[serde(
        rename = "controlPlaneRef",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub control_plane_ref: Option<serde_json::Value>,
}

// === impl KongConsumerGroup ===

impl KongConsumerGroup {
    /// The group's name in Kong: the object's name, as KIC names it
    /// (`spec.name` is Kong Gateway Operator's, for Konnect; KIC ignores it,
    /// and so do consumers' `consumerGroups`, which name objects).
    pub fn kong_name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }
}

kong_resource!(
    KongConsumerGroup,
    "KongConsumerGroup",
    "kongconsumergroups",
    k8s_openapi::NamespaceResourceScope,
    super::VERSION_V1BETA1
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kong_name_is_the_object_name_as_in_kic() {
        let mut group: KongConsumerGroup =
            serde_yaml::from_str("metadata: {name: gold, namespace: shop}\nspec: {}").unwrap();
        assert_eq!(group.kong_name(), "gold");
        group.spec.name = Some("gold-tier".into());
        assert_eq!(group.kong_name(), "gold");
        assert_eq!(
            <KongConsumerGroup as kube::Resource>::api_version(&()),
            "configuration.konghq.com/v1beta1"
        );
    }
}
