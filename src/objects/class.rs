//! Which objects belong to this controller's ingress class (KIC's
//! `MatchesIngressClass`, `kic.md` §3.1). The one home of the rule: the
//! cluster source (which Secrets to watch), translate (which objects to
//! serve) and status (which Ingresses to write) all ask this filter.

use super::Ingress;
use super::ObjectSet;
use super::meta::Named;
use k8s_openapi::api::networking::v1::IngressClass;

/// `spec.controller` of the IngressClass objects kingress honours; the same
/// as Kong's, so existing manifests keep working.
pub const CONTROLLER: &str = "ingress-controllers.konghq.com/kong";
/// Annotation naming the class of an Ingress, KongConsumer or
/// KongClusterPlugin; wins over `spec.ingressClassName`.
pub const CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";
/// Annotation that makes an IngressClass the cluster default.
pub const DEFAULT_CLASS_ANNOTATION: &str = "ingressclass.kubernetes.io/is-default-class";

/// Decides class membership for one class name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassFilter {
    class: String,
    is_default: bool,
}

// === impl ClassFilter ===

impl ClassFilter {
    /// The filter for `class`, given the cluster's IngressClasses. Our class
    /// is the default when an IngressClass of that name, with Kong's
    /// controller, is annotated `ingressclass.kubernetes.io/is-default-class:
    /// "true"`; an IngressClass with another controller is ignored.
    pub fn new<'a>(class: &str, classes: impl IntoIterator<Item = &'a IngressClass>) -> Self {
        let is_default = classes.into_iter().any(|ic| {
            let named = ic.metadata.name.as_deref() == Some(class);
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
            named && ours && default
        });
        Self {
            class: class.to_string(),
            is_default,
        }
    }

    /// The filter for `class` over an object set's IngressClasses.
    pub fn of(class: &str, objects: &ObjectSet) -> Self {
        let key = (String::new(), class.to_string());
        Self::new(class, objects.ingress_classes.get(&key).map(|c| &**c))
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
        if let Some(class) = ingress.annotation(CLASS_ANNOTATION) {
            return class == self.class;
        }
        match ingress.class_name.as_deref() {
            Some(class) => class == self.class,
            None => self.is_default,
        }
    }

    /// Whether a KongConsumer or KongClusterPlugin is ours: it needs the
    /// class annotation unless our class is the default.
    pub fn annotated(&self, object: &impl Named) -> bool {
        self.annotation_matches(object.annotation(CLASS_ANNOTATION))
    }

    /// Whether an object with `annotation` as its class annotation (if
    /// any) is ours: the annotation names our class, or there is none and
    /// our class is the default.
    pub fn annotation_matches(&self, annotation: Option<&str>) -> bool {
        match annotation {
            Some(class) => class == self.class,
            None => self.is_default,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::Object;

    fn from_yaml<T: serde::de::DeserializeOwned>(s: &str) -> T {
        serde_yaml::from_str(s).unwrap()
    }

    fn class(name: &str, default: bool) -> IngressClass {
        from_yaml(&format!(
            "metadata: {{name: {name}, annotations: {{ingressclass.kubernetes.io/is-default-class: '{default}'}}}}\n\
             spec: {{controller: ingress-controllers.konghq.com/kong}}"
        ))
    }

    fn ingress(meta_extra: &str, spec_extra: &str) -> Ingress {
        from_yaml(&format!(
            "metadata: {{name: web, namespace: shop{meta_extra}}}\n\
             spec: {{rules: []{spec_extra}}}"
        ))
    }

    #[test]
    fn ingress_class_rules() {
        let plain = ClassFilter::new("kong", [&class("kong", false)]);
        let default = ClassFilter::new("kong", [&class("kong", true)]);
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
        assert!(!default.annotated(&annotated));
        assert!(default.annotated(&unclassed));
        assert!(!plain.annotated(&unclassed));
        // A default class of another controller does not count.
        let mut other = class("kong", true);
        other.spec.as_mut().unwrap().controller = Some("k8s.io/ingress-nginx".into());
        assert!(!ClassFilter::new("kong", [&other]).ingress(&unclassed));
        // Nor does another class marked default.
        assert!(!ClassFilter::new("kong", [&class("nginx", true)]).ingress(&unclassed));
    }

    #[test]
    fn object_set_and_class_list_agree() {
        let mut objects = ObjectSet::default();
        objects.apply(Object::IngressClass(class("kong", true)));
        objects.apply(Object::IngressClass(class("other", true)));
        let classes: Vec<_> = objects.ingress_classes.values().map(|c| &**c).collect();
        for name in ["kong", "other", "absent"] {
            assert_eq!(
                ClassFilter::of(name, &objects),
                ClassFilter::new(name, classes.iter().copied()),
                "{name}"
            );
        }
        assert!(ClassFilter::of("kong", &objects).is_default());
        assert!(!ClassFilter::of("absent", &objects).is_default());
    }
}
