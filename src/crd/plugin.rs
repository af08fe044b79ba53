use super::{KongStatus, kong_resource};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `KongPlugin`: a plugin configuration, attached to Ingresses, Services and
/// KongConsumers with the `konghq.com/plugins` annotation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KongPlugin {
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
    /// Plugin name, e.g. `oauth2`.
    pub plugin: String,
    /// The plugin's `config`, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    /// Whole config read from a Secret key in the plugin's namespace.
    #[serde(
        rename = "configFrom",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub config_from: Option<ConfigSource>,
    /// JSON-patch `add` operations whose values come from Secrets.
    #[serde(
        rename = "configPatches",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub config_patches: Vec<ConfigPatch>,
    /// Disable the plugin (Kong `enabled: false`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// Protocols the plugin runs on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protocols: Vec<String>,
    /// Legacy mesh field, passed through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_on: Option<String>,
    /// Dynamic ordering (`before`/`after` by phase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordering: Option<PluginOrderingSpec>,
    /// Instance name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_name: Option<String>,
    /// Present in Kong's CRD; not read (binding is by annotation).
    #[serde(
        rename = "consumerRef",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub consumer_ref: Option<String>,
    /// Status written by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<KongStatus>,
}

/// `KongClusterPlugin`: a cluster-scoped KongPlugin; with label
/// `global: "true"` it applies to every route.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KongClusterPlugin {
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
    /// Plugin name.
    pub plugin: String,
    /// The plugin's `config`, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    /// Whole config from a Secret key (namespace required).
    #[serde(
        rename = "configFrom",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub config_from: Option<NamespacedConfigSource>,
    /// Patches whose values come from Secrets (namespace required).
    #[serde(
        rename = "configPatches",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub config_patches: Vec<NamespacedConfigPatch>,
    /// Disable the plugin.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// Protocols the plugin runs on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protocols: Vec<String>,
    /// Legacy mesh field, passed through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_on: Option<String>,
    /// Dynamic ordering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordering: Option<PluginOrderingSpec>,
    /// Instance name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_name: Option<String>,
    /// Present in Kong's CRD; not read.
    #[serde(
        rename = "consumerRef",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub consumer_ref: Option<String>,
    /// Status written by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<KongStatus>,
}

/// `configFrom` of a KongPlugin.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConfigSource {
    /// The Secret key holding the whole config (JSON or YAML).
    #[serde(rename = "secretKeyRef")]
    pub secret_key_ref: SecretKeyRef,
}

/// `configFrom` of a KongClusterPlugin.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NamespacedConfigSource {
    /// The Secret key holding the whole config.
    #[serde(rename = "secretKeyRef")]
    pub secret_key_ref: NamespacedSecretKeyRef,
}

/// A key of a Secret in the referrer's namespace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SecretKeyRef {
    /// Secret name.
    pub name: String,
    /// Key in `data`.
    pub key: String,
}

/// A key of a Secret in a named namespace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NamespacedSecretKeyRef {
    /// Secret name.
    pub name: String,
    /// Secret namespace.
    pub namespace: String,
    /// Key in `data`.
    pub key: String,
}

/// One `configPatches` entry of a KongPlugin.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConfigPatch {
    /// RFC 6901 JSON pointer where the value is added.
    pub path: String,
    /// Where the value comes from.
    #[serde(rename = "valueFrom")]
    pub value_from: ConfigSource,
}

/// One `configPatches` entry of a KongClusterPlugin.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NamespacedConfigPatch {
    /// RFC 6901 JSON pointer where the value is added.
    pub path: String,
    /// Where the value comes from.
    #[serde(rename = "valueFrom")]
    pub value_from: NamespacedConfigSource,
}

/// `ordering`: phase name (`access`) to plugin names.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PluginOrderingSpec {
    /// Run before these plugins, by phase.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub before: BTreeMap<String, Vec<String>>,
    /// Run after these plugins, by phase.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub after: BTreeMap<String, Vec<String>>,
}

kong_resource!(
    KongPlugin,
    "KongPlugin",
    "kongplugins",
    NamespaceResourceScope
);
kong_resource!(
    KongClusterPlugin,
    "KongClusterPlugin",
    "kongclusterplugins",
    ClusterResourceScope
);
