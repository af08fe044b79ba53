use serde::Serialize;
use std::fmt;

/// Names the Kubernetes object (or declarative entity) something came from,
/// so problems and Events land on the object at fault.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectRef {
    /// Kind, e.g. `Ingress`, `KongPlugin`, `Secret`.
    pub kind: String,
    /// Namespace; `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// Object name.
    pub name: String,
}

/// Something wrong with the input: which object, a short machine reason
/// (CamelCase, used as the Event reason) and a human message. Messages never
/// carry secret values.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Problem {
    /// The object at fault.
    pub object: ObjectRef,
    /// Short CamelCase reason, e.g. `PluginNotFound`.
    pub reason: String,
    /// Human-readable explanation.
    pub message: String,
}

// === impl ObjectRef ===

impl ObjectRef {
    /// A namespaced object.
    pub fn new(kind: &str, namespace: &str, name: &str) -> Self {
        Self {
            kind: kind.to_string(),
            namespace: Some(namespace.to_string()),
            name: name.to_string(),
        }
    }

    /// A cluster-scoped object.
    pub fn cluster(kind: &str, name: &str) -> Self {
        Self {
            kind: kind.to_string(),
            namespace: None,
            name: name.to_string(),
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

// === impl Problem ===

impl Problem {
    /// Builds a problem.
    pub fn new(object: ObjectRef, reason: &str, message: impl Into<String>) -> Self {
        Self {
            object,
            reason: reason.to_string(),
            message: message.into(),
        }
    }
}
