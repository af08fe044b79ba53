use super::{KongStatus, kong_resource};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `KongConsumer`: a consumer with credentials held in Secrets.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KongConsumer {
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
    /// Kong username, unique across the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Kong custom_id, unique across the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_id: Option<String>,
    /// Names of credential Secrets in the same namespace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<String>,
    /// Names of KongConsumerGroups (Enterprise).
    #[serde(
        rename = "consumerGroups",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub consumer_groups: Vec<String>,
    /// Kong Gateway Operator fields, passed through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<serde_json::Value>,
    /// Status written by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<KongStatus>,
}

kong_resource!(
    KongConsumer,
    "KongConsumer",
    "kongconsumers",
    k8s_openapi::NamespaceResourceScope
);
