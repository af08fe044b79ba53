//! The object set: every object translate reads, one typed store per kind.
//! It sits below both `source` (which fills it) and `translate` (which reads
//! it), so the pure translation never depends on the module that does I/O.

pub mod class;
pub mod consumer;
pub mod endpoint_slice;
pub mod ingress;
pub mod meta;
pub mod secret;
pub mod service;
pub mod spec;
#[cfg(test)]
mod tests;
pub mod unserved;

use crate::crd::{
    KongClusterPlugin, KongConsumerGroup, KongIngress, KongPlugin, KongUpstreamPolicy,
};
use crate::kong::{Document, DocumentError};
pub use consumer::KongConsumer;
pub use endpoint_slice::EndpointSlice;
pub use ingress::Ingress;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::networking::v1::IngressClass;
pub use meta::{Meta, Named};
pub use secret::Secret;
pub use service::Service;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Label that marks credential Secrets: the cluster source watches only
/// Secrets carrying it, and translate reads a credential's type from it.
pub const CREDENTIAL_LABEL: &str = "konghq.com/credential";

/// Service annotations naming Secrets in the Service's namespace, as comma
/// lists (upstream CA bundles, documented and code spellings; the upstream
/// client certificate). The cluster source reads the Secrets they name;
/// translate reads them.
pub const SERVICE_SECRET_ANNOTATIONS: [&str; 3] = [
    "konghq.com/ca-certificates-secrets",
    "konghq.com/ca-certificates-secret",
    "konghq.com/client-cert",
];

/// Service annotations naming ConfigMaps in the Service's namespace that
/// hold upstream CA bundles (documented and code spellings). The cluster
/// source reads the ConfigMaps they name; translate reads them.
pub const SERVICE_CONFIG_MAP_ANNOTATIONS: [&str; 2] = [
    "konghq.com/ca-certificates-configmaps",
    "konghq.com/ca-certificates-configmap",
];

/// `(namespace, name)`; the namespace is empty for cluster-scoped objects.
pub type ObjectKey = (String, String);

/// One kind's objects, ordered by key so iteration is deterministic.
pub type Store<K> = BTreeMap<ObjectKey, Arc<K>>;

/// A [`Store`] as the object set holds it: shared with the source that
/// keeps it, so a snapshot of a kind that did not change since the last one
/// costs neither time nor memory (with 60,000 objects, each snapshot alive
/// was a copy of 60,000 keys). The source copies the map when it changes
/// while a snapshot still holds it (`Arc::make_mut`).
pub type SharedStore<K> = Arc<Store<K>>;

/// Every object `translate` reads, one typed store per kind.
#[derive(Clone, Debug, Default)]
pub struct ObjectSet {
    /// IngressClasses.
    pub ingress_classes: SharedStore<IngressClass>,
    /// Ingresses.
    pub ingresses: SharedStore<Ingress>,
    /// Services.
    pub services: SharedStore<Service>,
    /// EndpointSlices.
    pub endpoint_slices: SharedStore<EndpointSlice>,
    /// Secrets (only credential, TLS and plugin-config Secrets are kept).
    pub secrets: SharedStore<Secret>,
    /// KongPlugins.
    pub kong_plugins: SharedStore<KongPlugin>,
    /// KongClusterPlugins.
    pub kong_cluster_plugins: SharedStore<KongClusterPlugin>,
    /// KongConsumers.
    pub kong_consumers: SharedStore<KongConsumer>,
    /// KongConsumerGroups.
    pub kong_consumer_groups: SharedStore<KongConsumerGroup>,
    /// KongUpstreamPolicies.
    pub kong_upstream_policies: SharedStore<KongUpstreamPolicy>,
    /// KongIngresses (deprecated by Kong; read where `konghq.com/override`
    /// names them).
    pub kong_ingresses: SharedStore<KongIngress>,
    /// ConfigMaps (only those Services name as CA bundles are kept).
    pub config_maps: SharedStore<ConfigMap>,
    /// Kong declarative documents (`kong.yml`), in load order.
    pub declarative: Vec<Declarative>,
    /// Manifest files and documents that could not be read (each is a
    /// problem; the rest is served).
    pub refused: Vec<Refused>,
    /// Objects of Kong kinds kingress reads but does not serve (each is
    /// reported, naming what happens instead).
    pub unserved: Vec<Unserved>,
}

/// A manifest file, or one document of it, that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The file, and the 1-based document number when one document (not
    /// the whole file) was refused.
    pub file: std::path::PathBuf,
    /// 1-based; `None` for the whole file.
    pub document: Option<usize>,
    /// Why, without the file and document (those are in the fields).
    pub message: String,
}

/// An object of a Kong kind that kingress does not serve (TCPIngress,
/// KongIngress, KongVault, …): known by kind, namespace and name only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unserved {
    /// `group/version`.
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Namespace; `None` for cluster-scoped kinds.
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// The `kubernetes.io/ingress.class` annotation, which decides whether
    /// the object is ours to write status on.
    pub class: Option<String>,
    /// `metadata.uid` (cluster mode).
    pub uid: Option<String>,
    /// `metadata.generation` (cluster mode), for `observedGeneration`.
    pub generation: Option<i64>,
}

/// One Kong declarative document and where it was read.
#[derive(Clone, Debug)]
pub struct Declarative {
    /// `path` (or `path#n` for the n-th document of a multi-document file).
    pub origin: String,
    /// The document, or why it was refused (reported by translate as a
    /// problem; a refused document contributes nothing).
    pub document: Result<Arc<Document>, DocumentError>,
}

/// An object of one of the kinds kingress reads.
#[derive(Clone, Debug)]
pub enum Object {
    /// networking.k8s.io/v1 IngressClass.
    IngressClass(IngressClass),
    /// networking.k8s.io/v1 Ingress.
    Ingress(Ingress),
    /// v1 Service.
    Service(Service),
    /// discovery.k8s.io/v1 EndpointSlice.
    EndpointSlice(EndpointSlice),
    /// v1 Secret.
    Secret(Secret),
    /// configuration.konghq.com/v1 KongPlugin.
    KongPlugin(KongPlugin),
    /// configuration.konghq.com/v1 KongClusterPlugin.
    KongClusterPlugin(KongClusterPlugin),
    /// configuration.konghq.com/v1 KongConsumer.
    KongConsumer(KongConsumer),
    /// configuration.konghq.com/v1beta1 KongConsumerGroup.
    KongConsumerGroup(KongConsumerGroup),
    /// configuration.konghq.com/v1beta1 KongUpstreamPolicy.
    KongUpstreamPolicy(KongUpstreamPolicy),
    /// configuration.konghq.com/v1 KongIngress.
    KongIngress(KongIngress),
    /// v1 ConfigMap.
    ConfigMap(ConfigMap),
}

/// `(apiVersion, kind)` of every kind kingress reads: what
/// [`Object::from_value`] accepts and what status writes Events about.
pub const KINDS: [(&str, &str); 12] = [
    ("networking.k8s.io/v1", "IngressClass"),
    ("networking.k8s.io/v1", "Ingress"),
    ("v1", "Service"),
    ("discovery.k8s.io/v1", "EndpointSlice"),
    ("v1", "Secret"),
    ("configuration.konghq.com/v1", "KongPlugin"),
    ("configuration.konghq.com/v1", "KongClusterPlugin"),
    ("configuration.konghq.com/v1", "KongConsumer"),
    ("configuration.konghq.com/v1beta1", "KongConsumerGroup"),
    ("configuration.konghq.com/v1beta1", "KongUpstreamPolicy"),
    ("configuration.konghq.com/v1", "KongIngress"),
    ("v1", "ConfigMap"),
];

/// The `apiVersion` kingress reads `kind` at, if it reads that kind.
pub fn api_version(kind: &str) -> Option<&'static str> {
    KINDS.iter().find(|(_, k)| *k == kind).map(|(v, _)| *v)
}

/// Why a manifest document could not become an [`Object`].
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// `apiVersion`/`kind` missing.
    #[error("document has no apiVersion/kind")]
    NoKind,
    /// A kind kingress does not read (Deployments and the like are skipped).
    #[error("kind {0} is not read by kingress")]
    Unsupported(String),
    /// The document does not fit the kind's schema.
    #[error("invalid {kind} {name}: {source}")]
    Invalid {
        /// Kind of the document.
        kind: String,
        /// `metadata.name`, if any.
        name: String,
        /// The schema error.
        source: serde_json::Error,
    },
}

// === impl ObjectSet ===

impl ObjectSet {
    /// Records a refused file (`document` `None`) or document.
    pub fn refuse(
        &mut self,
        file: &std::path::Path,
        document: Option<usize>,
        message: impl Into<String>,
    ) {
        self.refused.push(Refused {
            file: file.to_path_buf(),
            document,
            message: message.into(),
        });
    }

    /// Inserts or replaces an object. Objects without a namespace in a
    /// namespaced kind land in `default`, as `kubectl apply` would put them.
    pub fn apply(&mut self, object: Object) {
        match object {
            Object::IngressClass(o) => insert(&mut self.ingress_classes, o, false),
            Object::Ingress(o) => insert(&mut self.ingresses, o, true),
            Object::Service(o) => insert(&mut self.services, o, true),
            Object::EndpointSlice(o) => insert(&mut self.endpoint_slices, o, true),
            Object::Secret(o) => insert(&mut self.secrets, o, true),
            Object::KongPlugin(o) => insert(&mut self.kong_plugins, o, true),
            Object::KongClusterPlugin(o) => insert(&mut self.kong_cluster_plugins, o, false),
            Object::KongConsumer(o) => insert(&mut self.kong_consumers, o, true),
            Object::KongConsumerGroup(o) => insert(&mut self.kong_consumer_groups, o, true),
            Object::KongUpstreamPolicy(o) => insert(&mut self.kong_upstream_policies, o, true),
            Object::KongIngress(o) => insert(&mut self.kong_ingresses, o, true),
            Object::ConfigMap(o) => insert(&mut self.config_maps, o, true),
        }
    }

    /// Total number of objects.
    pub fn len(&self) -> usize {
        self.ingress_classes.len()
            + self.ingresses.len()
            + self.services.len()
            + self.endpoint_slices.len()
            + self.secrets.len()
            + self.kong_plugins.len()
            + self.kong_cluster_plugins.len()
            + self.kong_consumers.len()
            + self.kong_consumer_groups.len()
            + self.kong_upstream_policies.len()
            + self.kong_ingresses.len()
            + self.config_maps.len()
            + self.declarative.len()
    }

    /// Adds the `index`-th (1-based) document of `file`, a Kong declarative
    /// document, stamping entities without `created_at` with the current
    /// time.
    pub fn add_declarative(
        &mut self,
        file: &std::path::Path,
        index: usize,
        value: Result<serde_json::Value, serde_json::Error>,
    ) {
        let origin = if index > 1 {
            format!("{}#{index}", file.display())
        } else {
            file.display().to_string()
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let document = match value {
            Ok(v) => Document::from_value(&v, now).map(Arc::new),
            Err(e) => Err(DocumentError {
                errors: vec![format!("not representable as JSON: {e}")],
            }),
        };
        self.declarative.push(Declarative { origin, document });
    }

    /// Whether there are no objects at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

meta::named_from_resource!(
    IngressClass,
    ConfigMap,
    KongPlugin,
    KongClusterPlugin,
    KongConsumerGroup,
    KongUpstreamPolicy,
    KongIngress,
);

/// The store key of `object`: its namespace (empty when it has none) and
/// name.
pub fn key<K: Named>(object: &K) -> ObjectKey {
    (
        object.namespace().unwrap_or_default().to_string(),
        object.name().to_string(),
    )
}

fn insert<K: Named>(store: &mut SharedStore<K>, mut object: K, namespaced: bool) {
    if namespaced && object.namespace().is_none() {
        object.set_namespace("default");
    }
    Arc::make_mut(store).insert(key(&object), Arc::new(object));
}

// === impl Refused ===

impl Refused {
    /// `file` or `file: document N`.
    pub fn location(&self) -> String {
        match self.document {
            Some(n) => format!("{}: document {n}", self.file.display()),
            None => self.file.display().to_string(),
        }
    }
}

// === impl Unserved ===

impl Unserved {
    /// The object `value` (a decoded manifest) when it is of a Kong API
    /// group (`*konghq.com`); `None` for anything else (a Deployment is no
    /// business of an ingress controller). Objects of namespaced kinds
    /// without a namespace land in `default`, as with [`ObjectSet::apply`];
    /// a kind's scope is known only for the cluster-scoped Kong kinds.
    pub fn of(value: &serde_json::Value) -> Option<Self> {
        let api_version = value.get("apiVersion")?.as_str()?;
        let kind = value.get("kind")?.as_str()?;
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        if !(group == "konghq.com" || group.ends_with(".konghq.com")) {
            return None;
        }
        let meta = value.get("metadata");
        let field = |f: &str| {
            meta.and_then(|m| m.get(f))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let cluster_scoped = matches!(kind, "KongLicense" | "KongVault" | "KongClusterPlugin");
        let namespace = match field("namespace") {
            _ if cluster_scoped => None,
            Some(ns) => Some(ns),
            None => Some("default".to_string()),
        };
        let class = meta
            .and_then(|m| {
                m.pointer(&format!(
                    "/annotations/{}",
                    class::CLASS_ANNOTATION.replace('/', "~1")
                ))
            })
            .and_then(|v| v.as_str())
            .map(str::to_string);
        Some(Self {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            namespace,
            name: field("name").unwrap_or_default(),
            class,
            uid: None,
            generation: None,
        })
    }
}

// === impl Object ===

impl Object {
    /// Reads one decoded manifest document (`apiVersion` + `kind`).
    pub fn from_value(value: serde_json::Value) -> Result<Self, ParseError> {
        let api_version = value.get("apiVersion").and_then(|v| v.as_str());
        let kind = value.get("kind").and_then(|v| v.as_str());
        let (Some(api_version), Some(kind)) = (api_version, kind) else {
            return Err(ParseError::NoKind);
        };
        let group = |v: &str| v.rsplit_once('/').map_or("", |(g, _)| g).to_string();
        // Another version of the group goes to the schema, whose error
        // names the version it reads.
        let known = self::api_version(kind).is_some_and(|v| group(v) == group(api_version));
        if !known {
            return Err(ParseError::Unsupported(format!("{api_version}/{kind}")));
        }
        let kind = kind.to_string();
        let name = value
            .pointer("/metadata/name")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let invalid = |source| ParseError::Invalid {
            kind: kind.clone(),
            name: name.clone(),
            source,
        };
        Ok(match kind.as_str() {
            "IngressClass" => Object::IngressClass(serde_json::from_value(value).map_err(invalid)?),
            "Ingress" => Object::Ingress(serde_json::from_value(value).map_err(invalid)?),
            "Service" => Object::Service(serde_json::from_value(value).map_err(invalid)?),
            "EndpointSlice" => {
                Object::EndpointSlice(serde_json::from_value(value).map_err(invalid)?)
            }
            "Secret" => Object::Secret(serde_json::from_value(value).map_err(invalid)?),
            "KongPlugin" => Object::KongPlugin(serde_json::from_value(value).map_err(invalid)?),
            "KongClusterPlugin" => {
                Object::KongClusterPlugin(serde_json::from_value(value).map_err(invalid)?)
            }
            "KongConsumer" => Object::KongConsumer(serde_json::from_value(value).map_err(invalid)?),
            "KongConsumerGroup" => {
                Object::KongConsumerGroup(serde_json::from_value(value).map_err(invalid)?)
            }
            "KongUpstreamPolicy" => {
                Object::KongUpstreamPolicy(serde_json::from_value(value).map_err(invalid)?)
            }
            "KongIngress" => Object::KongIngress(serde_json::from_value(value).map_err(invalid)?),
            "ConfigMap" => Object::ConfigMap(serde_json::from_value(value).map_err(invalid)?),
            _ => return Err(ParseError::Unsupported(format!("{api_version}/{kind}"))),
        })
    }
}
