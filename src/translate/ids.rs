//! Deterministic ids: UUID v5 under a kingress namespace, so the same object
//! always gets the same id and an unchanged input gives an equal table.

use crate::model::ObjectRef;
use crate::objects::Named;
use uuid::Uuid;

/// The UUID v5 namespace of every kingress id (a fixed random value).
const NAMESPACE: Uuid = Uuid::from_u128(0x6b1f_3c52_9e0a_4d7b_8a41_2f5c_d0e9_7a13);

/// Id of an object: from `metadata.uid` when the API server set one (stable
/// across renames of nothing, but distinct for a re-created object), else
/// from kind, namespace and name (manifest files have no uid).
pub(super) fn object_id(kind: &str, object: &impl Named) -> String {
    let name = match object.uid() {
        Some(uid) if !uid.is_empty() => format!("uid:{uid}"),
        _ => format!(
            "{kind}:{}/{}",
            object.namespace().unwrap_or_default(),
            object.name()
        ),
    };
    v5(&name)
}

/// Id of a plugin instance: the plugin object plus where it is attached
/// (`route:<name>`, `service:<name>` or `global`), so one KongPlugin attached
/// to two routes gives two instances, as in Kong.
pub(super) fn plugin_instance_id(source: &ObjectRef, attachment: &str) -> String {
    v5(&format!(
        "plugin:{}:{}/{}|{attachment}",
        source.kind,
        source.namespace.as_deref().unwrap_or_default(),
        source.name
    ))
}

fn v5(name: &str) -> String {
    Uuid::new_v5(&NAMESPACE, name.as_bytes()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::{KongConsumer, Meta};

    #[test]
    fn ids_are_stable_and_distinct() {
        let meta = |ns: &str, name: &str, uid: Option<&str>| KongConsumer {
            metadata: Meta {
                uid: uid.map(Into::into),
                ..Meta::named(Some(ns), name)
            },
            ..KongConsumer::default()
        };
        let a = object_id("KongConsumer", &meta("default", "jane", None));
        assert_eq!(a, object_id("KongConsumer", &meta("default", "jane", None)));
        assert_ne!(a, object_id("KongConsumer", &meta("other", "jane", None)));
        assert_ne!(a, object_id("Secret", &meta("default", "jane", None)));
        let with_uid = object_id("KongConsumer", &meta("default", "jane", Some("u-1")));
        assert_ne!(a, with_uid);
        assert_eq!(
            with_uid,
            object_id("KongConsumer", &meta("x", "y", Some("u-1")))
        );

        let p = ObjectRef::new("KongPlugin", "default", "auth");
        assert_ne!(
            plugin_instance_id(&p, "route:a"),
            plugin_instance_id(&p, "route:b")
        );
        assert_eq!(
            plugin_instance_id(&p, "global"),
            plugin_instance_id(&p, "global")
        );
    }
}
