//! Where objects come from. Both sources fill the same
//! [`ObjectSet`](crate::objects::ObjectSet): `files` from multi-document YAML
//! manifests, `cluster` from kube-runtime reflectors.

pub mod cluster;
pub mod files;
