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
    // Joined by hand rather than with `format!`: every consumer and
    // credential takes an id, and the formatting machinery cost as much as
    // the SHA-1 behind the UUID.
    match object.uid() {
        Some(uid) if !uid.is_empty() => v5(&["uid:", uid]),
        _ => v5(&[
            kind,
            ":",
            object.namespace().unwrap_or_default(),
            "/",
            object.name(),
        ]),
    }
}

/// Id of a plugin instance: the plugin object plus where it is attached
/// (`route:<name>`, `service:<name>` or `global`), so one KongPlugin attached
/// to two routes gives two instances, as in Kong.
pub(super) fn plugin_instance_id(source: &ObjectRef, attachment: &str) -> String {
    v5(&[
        "plugin:",
        &source.kind,
        ":",
        source.namespace.as_deref().unwrap_or_default(),
        "/",
        &source.name,
        "|",
        attachment,
    ])
}

/// The UUID v5 of the concatenated `parts`, hyphenated in lower case.
fn v5(parts: &[&str]) -> String {
    let name = parts.concat();
    let uuid = Uuid::new_v5(&NAMESPACE, name.as_bytes());
    uuid.hyphenated()
        .encode_lower(&mut Uuid::encode_buffer())
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::{KongConsumer, Meta};

    #[test]
    fn ids_are_the_uuid_v5_of_the_joined_name() {
        let meta = KongConsumer {
            metadata: Meta::named(Some("default"), "jane"),
            ..KongConsumer::default()
        };
        let name = "KongConsumer:default/jane";
        let want = Uuid::new_v5(&NAMESPACE, name.as_bytes()).to_string();
        assert_eq!(object_id("KongConsumer", &meta), want);
        let p = ObjectRef::new("KongPlugin", "default", "auth");
        let name = "plugin:KongPlugin:default/auth|route:a";
        let want = Uuid::new_v5(&NAMESPACE, name.as_bytes()).to_string();
        assert_eq!(plugin_instance_id(&p, "route:a"), want);
    }

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
