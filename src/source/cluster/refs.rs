//! Which Secrets the objects of this controller's ingress class name. Only
//! those Secrets are read, one narrow watch each, instead of caching every
//! Secret in the cluster (KIC's memory problem).

use crate::crd::{KongClusterPlugin, KongPlugin};
use crate::objects::Ingress;
use crate::objects::Service;
use crate::objects::class::ClassFilter;
use crate::objects::{ObjectKey, SERVICE_CONFIG_MAP_ANNOTATIONS, SERVICE_SECRET_ANNOTATIONS};
use kube::ResourceExt;
use std::collections::BTreeSet;

/// Secrets named by the objects of our class: Ingress TLS, KongPlugin and
/// KongClusterPlugin `configFrom`/`configPatches`. KongConsumer credentials
/// are not here: they must carry the `konghq.com/credential` label and come
/// from the label-selected watch.
pub fn wanted_secrets<'a>(
    filter: &ClassFilter,
    ingresses: impl IntoIterator<Item = &'a Ingress>,
    plugins: impl IntoIterator<Item = &'a KongPlugin>,
    cluster_plugins: impl IntoIterator<Item = &'a KongClusterPlugin>,
) -> BTreeSet<ObjectKey> {
    let mut wanted = BTreeSet::new();
    for ing in ingresses.into_iter().filter(|i| filter.ingress(i)) {
        let ns = ing
            .metadata
            .namespace
            .as_deref()
            .unwrap_or_default()
            .to_string();
        for name in ing.tls.iter().filter_map(|t| t.secret_name.as_deref()) {
            wanted.insert((ns.clone(), name.to_string()));
        }
    }
    for p in plugins {
        let ns = p.namespace().unwrap_or_default();
        let from = p.config_from.iter().map(|c| &c.secret_key_ref.name);
        let patches = p
            .config_patches
            .iter()
            .map(|c| &c.value_from.secret_key_ref.name);
        for name in from.chain(patches) {
            wanted.insert((ns.clone(), name.clone()));
        }
    }
    for p in cluster_plugins
        .into_iter()
        .filter(|p| filter.annotated(&**p))
    {
        let from = p.config_from.iter().map(|c| &c.secret_key_ref);
        let patches = p
            .config_patches
            .iter()
            .map(|c| &c.value_from.secret_key_ref);
        for r in from.chain(patches) {
            wanted.insert((r.namespace.clone(), r.name.clone()));
        }
    }
    wanted.retain(|(ns, name)| !ns.is_empty() && !name.is_empty());
    wanted
}

/// Secrets named by Services' upstream TLS annotations (CA bundles, client
/// certificates), in each Service's namespace. Services are not filtered
/// by class: which Ingress uses one is translate's business, and the
/// Secrets are few.
pub fn service_secrets<'a>(services: impl IntoIterator<Item = &'a Service>) -> BTreeSet<ObjectKey> {
    named_by(services, &SERVICE_SECRET_ANNOTATIONS)
}

/// ConfigMaps named by Services' CA bundle annotations, in each Service's
/// namespace (unfiltered, as [`service_secrets`]).
pub fn service_config_maps<'a>(
    services: impl IntoIterator<Item = &'a Service>,
) -> BTreeSet<ObjectKey> {
    named_by(services, &SERVICE_CONFIG_MAP_ANNOTATIONS)
}

/// The objects `keys` (annotations holding comma lists of names) name, in
/// each Service's namespace.
fn named_by<'a>(
    services: impl IntoIterator<Item = &'a Service>,
    keys: &[&str],
) -> BTreeSet<ObjectKey> {
    let mut wanted = BTreeSet::new();
    for service in services {
        let ns = service.metadata.namespace.as_deref().unwrap_or_default();
        for key in keys {
            let names = service.metadata.annotations.get(key).unwrap_or_default();
            for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                wanted.insert((ns.to_string(), name.to_string()));
            }
        }
    }
    wanted.retain(|(ns, _)| !ns.is_empty());
    wanted
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::networking::v1::IngressClass;

    fn from_yaml<T: serde::de::DeserializeOwned>(s: &str) -> T {
        serde_yaml::from_str(s).unwrap()
    }

    fn class(default: bool) -> IngressClass {
        from_yaml(&format!(
            "metadata: {{name: kong, annotations: {{ingressclass.kubernetes.io/is-default-class: '{default}'}}}}\n\
             spec: {{controller: ingress-controllers.konghq.com/kong}}"
        ))
    }

    fn ingress(meta_extra: &str, spec_extra: &str) -> Ingress {
        from_yaml(&format!(
            "metadata: {{name: web, namespace: shop{meta_extra}}}\n\
             spec: {{tls: [{{hosts: [a.example], secretName: web-tls}}]{spec_extra}}}"
        ))
    }

    #[test]
    fn wanted_secrets_follow_class_and_references() {
        let filter = ClassFilter::new("kong", [&class(false)]);
        let ours = ingress("", ", ingressClassName: kong");
        let mut theirs = ingress("", ", ingressClassName: nginx");
        theirs.tls[0].secret_name = Some("nginx-tls".into());
        let plugin: KongPlugin = from_yaml(
            "metadata: {name: p, namespace: shop}\nplugin: openid-connect\n\
             configPatches: [{path: /client_secret, valueFrom: {secretKeyRef: {name: oidc, key: s}}}]",
        );
        let cluster: KongClusterPlugin = from_yaml(
            "metadata: {name: c, annotations: {kubernetes.io/ingress.class: kong}}\nplugin: aws-lambda\n\
             configFrom: {secretKeyRef: {name: lambda, namespace: kong, key: config}}",
        );
        let unclassed: KongClusterPlugin = from_yaml(
            "metadata: {name: d}\nplugin: aws-lambda\n\
             configFrom: {secretKeyRef: {name: other, namespace: kong, key: config}}",
        );
        let wanted = wanted_secrets(&filter, [&ours, &theirs], [&plugin], [&cluster, &unclassed]);
        let expect: BTreeSet<ObjectKey> =
            [("kong", "lambda"), ("shop", "oidc"), ("shop", "web-tls")]
                .into_iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
        assert_eq!(wanted, expect);
    }

    #[test]
    fn service_secrets_are_the_upstream_tls_annotations_names() {
        let service: Service = from_yaml(
            "metadata: {name: api, namespace: shop, annotations: {\
             konghq.com/ca-certificates-secrets: ' root-ca, other-ca ,', \
             konghq.com/ca-certificates-secret: legacy-ca, \
             konghq.com/client-cert: client, konghq.com/path: /x}}",
        );
        let plain: Service = from_yaml("metadata: {name: web, namespace: shop}");
        let wanted = service_secrets([&service, &plain]);
        let expect: BTreeSet<ObjectKey> = ["client", "legacy-ca", "other-ca", "root-ca"]
            .into_iter()
            .map(|n| ("shop".to_string(), n.to_string()))
            .collect();
        assert_eq!(wanted, expect);
        assert!(service_config_maps([&service, &plain]).is_empty());
        let maps: Service = from_yaml(
            "metadata: {name: api, namespace: shop, annotations: {\
             konghq.com/ca-certificates-configmaps: 'a-ca, b-ca', \
             konghq.com/ca-certificates-configmap: c-ca, konghq.com/client-cert: client}}",
        );
        let expect: BTreeSet<ObjectKey> = ["a-ca", "b-ca", "c-ca"]
            .into_iter()
            .map(|n| ("shop".to_string(), n.to_string()))
            .collect();
        assert_eq!(service_config_maps([&maps]), expect);
        assert_eq!(service_secrets([&maps]).len(), 1);
    }
}
