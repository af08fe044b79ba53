//! A KongConsumer as kingress keeps it: its identity and annotations, what
//! translate reads of it (username, custom_id, credential and group names)
//! and its status conditions, which the status writer compares and merges.
//! The CRD type keeps `apiVersion`, `kind`, a full `ObjectMeta` (its
//! annotations a B-tree node of 544 bytes for the one class annotation)
//! and the operator's `spec`: keeping this type instead took some 10 MiB
//! off the 10,000 consumers of the scale run, about 1 KiB each. The API
//! server's JSON and manifests deserialize straight into it.

use super::meta::Meta;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use serde::Deserialize;

/// The upstream (CRD) type this one is read from.
pub type CrdKongConsumer = crate::crd::KongConsumer;

/// A KongConsumer: identity, annotations, the fields translate reads and
/// the status conditions.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(from = "CrdKongConsumer")]
pub struct KongConsumer {
    /// Name, namespace, uid, annotations and the like (see [`Meta`]).
    pub metadata: Meta,
    /// `username`.
    pub username: Option<Box<str>>,
    /// `custom_id`.
    pub custom_id: Option<Box<str>>,
    /// `credentials`: Secret names in the same namespace.
    pub credentials: Box<[Box<str>]>,
    /// `consumerGroups`: KongConsumerGroup names.
    pub consumer_groups: Box<[Box<str>]>,
    /// `status.conditions`.
    pub conditions: Box<[Condition]>,
}

impl From<CrdKongConsumer> for KongConsumer {
    fn from(consumer: CrdKongConsumer) -> Self {
        let boxed = |names: Vec<String>| names.into_iter().map(Into::into).collect();
        KongConsumer {
            metadata: consumer.metadata.into(),
            username: consumer.username.map(Into::into),
            custom_id: consumer.custom_id.map(Into::into),
            credentials: boxed(consumer.credentials),
            consumer_groups: boxed(consumer.consumer_groups),
            conditions: consumer
                .status
                .map(|s| s.conditions.into())
                .unwrap_or_default(),
        }
    }
}

super::meta::named_from_meta!(KongConsumer, CrdKongConsumer);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::Named;

    #[test]
    fn reads_what_translate_and_status_use() {
        let consumer: KongConsumer = serde_json::from_value(serde_json::json!({
            "apiVersion": "configuration.konghq.com/v1", "kind": "KongConsumer",
            "metadata": {"name": "jane", "namespace": "shop", "uid": "u-1", "generation": 2,
                         "creationTimestamp": "2024-01-02T03:04:05Z",
                         "labels": {"team": "a"},
                         "annotations": {"kubernetes.io/ingress.class": "kong",
                                         "konghq.com/plugins": "limit"}},
            "username": "jane", "custom_id": "j-1",
            "credentials": ["jane-key", "jane-oauth2"], "consumerGroups": ["gold"],
            "spec": {"operator": "fields"},
            "status": {"conditions": [{"type": "Programmed", "status": "True",
                                       "reason": "Programmed", "message": "",
                                       "lastTransitionTime": "2024-01-02T03:04:06Z",
                                       "observedGeneration": 2}]}
        }))
        .unwrap();
        assert_eq!(
            crate::objects::key(&consumer),
            ("shop".into(), "jane".into())
        );
        assert_eq!(<KongConsumer as Named>::kind(), "KongConsumer");
        assert_eq!(consumer.uid(), Some("u-1"));
        assert_eq!(consumer.generation(), Some(2));
        assert!(consumer.metadata.creation_timestamp.is_some());
        assert_eq!(
            consumer.annotation("kubernetes.io/ingress.class"),
            Some("kong")
        );
        assert_eq!(consumer.annotation("konghq.com/plugins"), Some("limit"));
        assert_eq!(consumer.username.as_deref(), Some("jane"));
        assert_eq!(consumer.custom_id.as_deref(), Some("j-1"));
        assert_eq!(
            &*consumer.credentials,
            [Box::from("jane-key"), Box::from("jane-oauth2")]
        );
        assert_eq!(&*consumer.consumer_groups, [Box::from("gold")]);
        assert_eq!(consumer.conditions.len(), 1);
        assert_eq!(consumer.conditions[0].type_, "Programmed");
        assert_eq!(consumer.conditions[0].observed_generation, Some(2));
    }

    #[test]
    fn a_bare_consumer_has_nothing_set() {
        let consumer: KongConsumer =
            serde_json::from_value(serde_json::json!({"metadata": {"name": "x"}})).unwrap();
        assert_eq!(consumer.name(), "x");
        assert!(consumer.username.is_none() && consumer.custom_id.is_none());
        assert!(consumer.credentials.is_empty() && consumer.conditions.is_empty());
    }
}
