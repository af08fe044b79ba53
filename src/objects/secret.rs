//! A Secret as kingress keeps it. Secrets are the most numerous objects a
//! cluster gives kingress (a TLS Secret per Ingress, a credential Secret per
//! consumer), and k8s-openapi's type spends a B-tree node of 544 bytes on
//! each of `data`, `stringData`, labels and annotations, however few their
//! entries. Here the values sit in one sorted slice and the labels in
//! another: some 1 KiB less per credential Secret. The API server's JSON
//! and manifests deserialize straight into it.

use super::meta::Meta;
use serde::Deserialize;
use std::cmp::Ordering;

/// The upstream type this one is read from.
pub type K8sSecret = k8s_openapi::api::core::v1::Secret;

/// Sorted key/value pairs, one allocation for all of them.
type Pairs<V> = Box<[(Box<str>, V)]>;

/// A Secret: its identity, labels and values. Its `Debug` names the keys,
/// never a value.
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(from = "K8sSecret")]
pub struct Secret {
    /// Name, namespace, uid, resourceVersion and the like (see [`Meta`]);
    /// annotations are left out, labels kept apart (see [`Secret::label`]).
    pub metadata: Meta,
    /// Labels, sorted by key.
    labels: Pairs<Box<str>>,
    /// `data` with `stringData` merged over it (as the API server merges it
    /// on write), sorted by key.
    values: Pairs<Box<[u8]>>,
}

impl Secret {
    /// A Secret named by `metadata` holding `values`; a key given twice
    /// keeps its last value.
    pub fn new<'a>(metadata: Meta, values: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Self {
        let values: std::collections::BTreeMap<&str, &[u8]> = values.into_iter().collect();
        Secret {
            metadata,
            labels: Box::default(),
            values: values
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The raw bytes of `key`.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        let at = self.values.binary_search_by(|(k, _)| (**k).cmp(key)).ok()?;
        Some(&self.values[at].1)
    }

    /// The keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.iter().map(|(k, _)| &**k)
    }

    /// A label value, if set.
    pub fn label(&self, key: &str) -> Option<&str> {
        let at = self.labels.binary_search_by(|(k, _)| (**k).cmp(key)).ok()?;
        Some(&self.labels[at].1)
    }
}

impl From<K8sSecret> for Secret {
    fn from(secret: K8sSecret) -> Self {
        let K8sSecret {
            mut metadata,
            data,
            string_data,
            ..
        } = secret;
        let labels = metadata.labels.take().unwrap_or_default();
        metadata.annotations = None;
        // Sorted maps: merging keeps the order, and stringData wins.
        let mut values: Vec<(Box<str>, Box<[u8]>)> = Vec::new();
        let mut data = data.unwrap_or_default().into_iter().peekable();
        let mut text = string_data.unwrap_or_default().into_iter().peekable();
        loop {
            let order = match (data.peek(), text.peek()) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some((d, _)), Some((t, _))) => d.cmp(t),
            };
            if order == Ordering::Equal {
                data.next();
            }
            let take_text = order != Ordering::Less;
            values.push(if take_text {
                let (k, v) = text.next().expect("peeked");
                (k.into(), v.into_bytes().into())
            } else {
                let (k, v) = data.next().expect("peeked");
                (k.into(), v.0.into())
            });
        }
        Secret {
            metadata: metadata.into(),
            labels: labels
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            values: values.into(),
        }
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret")
            .field("namespace", &self.metadata.namespace)
            .field("name", &self.metadata.name)
            .field("resource_version", &self.metadata.resource_version)
            .field("keys", &self.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

super::meta::named_from_meta!(Secret, K8sSecret);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_data_wins_over_data_and_keys_stay_sorted() {
        let secret: Secret = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "s", "namespace": "ns", "labels": {"b": "2", "a": "1"},
                         "annotations": {"x": "y"}},
            "data": {"key": "ZnJvbS1kYXRh", "only-data": "YQ==", "z": "eg=="},
            "stringData": {"key": "from-text", "m": "text"}
        }))
        .unwrap();
        assert_eq!(secret.get("key"), Some(&b"from-text"[..]));
        assert_eq!(secret.get("only-data"), Some(&b"a"[..]));
        assert_eq!(secret.get("m"), Some(&b"text"[..]));
        assert_eq!(secret.get("absent"), None);
        assert_eq!(
            secret.keys().collect::<Vec<_>>(),
            ["key", "m", "only-data", "z"]
        );
        assert_eq!(secret.label("a"), Some("1"));
        assert_eq!(secret.label("b"), Some("2"));
        assert_eq!(secret.label("x"), None);
        assert!(secret.metadata.annotations.is_empty());
        assert_eq!(secret.metadata.name.as_deref(), Some("s"));
    }

    #[test]
    fn debug_names_keys_never_values() {
        let secret = Secret::new(
            Meta::named(None, "s"),
            [("password", &b"hunter2-very-secret"[..])],
        );
        let shown = format!("{secret:?}");
        assert!(shown.contains("password"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
