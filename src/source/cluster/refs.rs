//! Which objects belong to this controller's ingress class, and which
//! Secrets they name. Only those Secrets are read, one narrow watch each,
//! instead of caching every Secret in the cluster (KIC's memory problem).

use crate::crd::{KongClusterPlugin, KongPlugin};
use crate::objects::ObjectKey;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::ResourceExt;
use std::collections::BTreeSet;

/// `spec.controller` of IngressClasses served by Kong-compatible controllers.
pub const KONG_CONTROLLER: &str = "ingress-controllers.konghq.com/kong";
/// Legacy class annotation; wins over `spec.ingressClassName`.
pub const CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";
/// Marks the cluster's default IngressClass.
pub const DEFAULT_CLASS_ANNOTATION: &str = "ingressclass.kubernetes.io/is-default-class";

/// The ingress class rules of KIC (`kic.md` §3.1) for one class name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassFilter {
    class: String,
    is_default: bool,
}

// === impl ClassFilter ===

impl ClassFilter {
    /// The filter for `class`, given the cluster's IngressClasses: objects
    /// without any class count only when the IngressClass named `class` is
    /// Kong's and marked default.
    pub fn new<'a>(class: &str, classes: impl IntoIterator<Item = &'a IngressClass>) -> Self {
        let is_default = classes.into_iter().any(|ic| {
            ic.name_any() == class
                && ic.spec.as_ref().and_then(|s| s.controller.as_deref()) == Some(KONG_CONTROLLER)
                && ic
                    .annotations()
                    .get(DEFAULT_CLASS_ANNOTATION)
                    .map(String::as_str)
                    == Some("true")
        });
        Self {
            class: class.to_string(),
            is_default,
        }
    }

    /// Whether an Ingress is ours: the annotation, else
    /// `spec.ingressClassName`, else the default-class rule.
    pub fn ingress(&self, ingress: &Ingress) -> bool {
        if let Some(a) = ingress.annotations().get(CLASS_ANNOTATION) {
            return *a == self.class;
        }
        match ingress
            .spec
            .as_ref()
            .and_then(|s| s.ingress_class_name.as_deref())
        {
            Some(name) => name == self.class,
            None => self.is_default,
        }
    }

    /// Whether a KongClusterPlugin or KongConsumer is ours: the annotation,
    /// else the default-class rule.
    pub fn annotated(&self, object: &impl ResourceExt) -> bool {
        match object.annotations().get(CLASS_ANNOTATION) {
            Some(a) => *a == self.class,
            None => self.is_default,
        }
    }
}

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
        let ns = ing.namespace().unwrap_or_default();
        let tls = ing.spec.iter().flat_map(|s| s.tls.iter().flatten());
        for name in tls.filter_map(|t| t.secret_name.clone()) {
            wanted.insert((ns.clone(), name));
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
    for p in cluster_plugins.into_iter().filter(|p| filter.annotated(*p)) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn ingress_class_rules() {
        let plain = ClassFilter::new("kong", [&class(false)]);
        let default = ClassFilter::new("kong", [&class(true)]);
        let unclassed = ingress("", "");
        assert!(!plain.ingress(&unclassed));
        assert!(default.ingress(&unclassed));
        assert!(plain.ingress(&ingress("", ", ingressClassName: kong")));
        assert!(!default.ingress(&ingress("", ", ingressClassName: nginx")));
        // The annotation wins over spec.ingressClassName.
        let annotated = ingress(
            ", annotations: {kubernetes.io/ingress.class: nginx}",
            ", ingressClassName: kong",
        );
        assert!(!default.ingress(&annotated));
        // A default class of another controller does not count.
        let mut other = class(true);
        other.spec.as_mut().unwrap().controller = Some("k8s.io/ingress-nginx".into());
        assert!(!ClassFilter::new("kong", [&other]).ingress(&unclassed));
    }

    #[test]
    fn wanted_secrets_follow_class_and_references() {
        let filter = ClassFilter::new("kong", [&class(false)]);
        let ours = ingress("", ", ingressClassName: kong");
        let mut theirs = ingress("", ", ingressClassName: nginx");
        theirs.spec.as_mut().unwrap().tls.as_mut().unwrap()[0].secret_name =
            Some("nginx-tls".into());
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
}
