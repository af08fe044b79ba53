//! Which objects belong to this controller (KIC's `MatchesIngressClass`).

use crate::objects::ObjectSet;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::Options;

/// `spec.controller` of the IngressClass objects kingress honours; the same
/// as Kong's, so existing manifests keep working.
pub const CONTROLLER: &str = "ingress-controllers.konghq.com/kong";
/// Annotation naming the class of an Ingress, KongConsumer or
/// KongClusterPlugin; wins over `spec.ingressClassName`.
pub const CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";
/// Annotation that makes an IngressClass the cluster default.
pub const DEFAULT_CLASS_ANNOTATION: &str = "ingressclass.kubernetes.io/is-default-class";

/// Decides class membership for one translation.
#[derive(Clone, Debug)]
pub struct ClassFilter {
    class: String,
    is_default: bool,
}

// === impl ClassFilter ===

impl ClassFilter {
    /// The filter for `options.ingress_class`. Our class is the default when
    /// an IngressClass of that name, with Kong's controller, is annotated
    /// `ingressclass.kubernetes.io/is-default-class: "true"`; an IngressClass
    /// with another controller is ignored.
    pub fn new(objects: &ObjectSet, options: &Options) -> Self {
        let key = (String::new(), options.ingress_class.clone());
        let is_default = objects.ingress_classes.get(&key).is_some_and(|ic| {
            let ours = ic
                .spec
                .as_ref()
                .and_then(|s| s.controller.as_deref())
                .is_some_and(|c| c == CONTROLLER);
            let default = ic
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(DEFAULT_CLASS_ANNOTATION))
                .is_some_and(|v| v == "true");
            ours && default
        });
        Self {
            class: options.ingress_class.clone(),
            is_default,
        }
    }

    /// The class name served.
    pub fn class(&self) -> &str {
        &self.class
    }

    /// Whether our IngressClass is the cluster default.
    pub fn is_default(&self) -> bool {
        self.is_default
    }

    /// Whether an Ingress is ours: the annotation wins, then
    /// `spec.ingressClassName`, then (no class at all) the default class.
    pub fn ingress(&self, ingress: &Ingress) -> bool {
        if let Some(class) = class_annotation(&ingress.metadata) {
            return class == self.class;
        }
        match ingress
            .spec
            .as_ref()
            .and_then(|s| s.ingress_class_name.as_deref())
        {
            Some(class) => class == self.class,
            None => self.is_default,
        }
    }

    /// Whether a KongConsumer or KongClusterPlugin is ours: it needs the
    /// class annotation unless our class is the default.
    pub fn annotated(&self, meta: &ObjectMeta) -> bool {
        match class_annotation(meta) {
            Some(class) => class == self.class,
            None => self.is_default,
        }
    }
}

fn class_annotation(meta: &ObjectMeta) -> Option<&str> {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(CLASS_ANNOTATION))
        .map(String::as_str)
}
