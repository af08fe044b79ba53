//! Where objects come from. Both sources fill the same [`ObjectSet`]:
//! `files` from multi-document YAML manifests, `cluster` from kube-runtime
//! reflectors.

pub mod cluster;
pub mod files;
mod objects;

pub use objects::{Declarative, Object, ObjectKey, ObjectSet, ParseError, Store};
