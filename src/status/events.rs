//! Problems as Kubernetes Events (events.k8s.io/v1, type Warning) on the
//! object at fault. A problem is emitted once while it persists; when it
//! goes away and comes back it is emitted again. A token bucket bounds the
//! rate; what it holds back is emitted on a later report.

use super::bucket::Bucket;
use crate::model::Problem;
use crate::objects::api_version;
use crate::objects::{Named, ObjectSet};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::chrono::Utc;
use kube::api::PostParams;
use kube::{Api, Client};
use std::collections::BTreeSet;

/// `reportingController` of every Event.
pub const CONTROLLER: &str = "kingress";
/// Events' `note` is limited to 1 kB by the API server.
const NOTE_LIMIT: usize = 1024;

/// Emits Events for problems, deduplicated and rate-limited.
pub(crate) struct EventWriter {
    client: Client,
    instance: String,
    emitted: BTreeSet<Problem>,
    bucket: Bucket,
}

/// What one pass did.
#[derive(Debug, Default)]
pub(crate) struct Emitted {
    /// Events created.
    pub(crate) created: usize,
    /// Problems held back by the rate limit (worth retrying soon).
    pub(crate) pending: usize,
    /// Problems whose Event the API server refused (retried on the next
    /// report, not in a tight loop: the cause is rarely transient).
    pub(crate) failed: usize,
}

// === impl EventWriter ===

impl EventWriter {
    /// A writer reporting as `instance` (the pod name).
    pub(crate) fn new(client: Client, instance: &str, burst: u32, per_second: f64) -> Self {
        Self {
            client,
            instance: instance.to_string(),
            emitted: BTreeSet::new(),
            bucket: Bucket::new(burst, per_second),
        }
    }

    /// Emits an Event for every problem not emitted yet, and forgets the
    /// problems that are gone.
    pub(crate) async fn emit(&mut self, objects: &ObjectSet, problems: &[Problem]) -> Emitted {
        let current: BTreeSet<&Problem> = problems.iter().collect();
        self.emitted.retain(|p| current.contains(p));
        let mut out = Emitted::default();
        for problem in current {
            if self.emitted.contains(problem) {
                continue;
            }
            let Some(event) = self.event(objects, problem) else {
                continue;
            };
            if !self.bucket.take() {
                out.pending += 1;
                continue;
            }
            let namespace = event.metadata.namespace.clone().unwrap_or_default();
            let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
            match api.create(&PostParams::default(), &event).await {
                Ok(_) => {
                    self.emitted.insert(problem.clone());
                    out.created += 1;
                }
                Err(error) => {
                    tracing::warn!(object = %problem.object, %error, "cannot create event");
                    out.failed += 1;
                }
            }
        }
        out
    }

    /// Forgets what was emitted (on losing leadership: the next leader
    /// decides for itself).
    pub(crate) fn reset(&mut self) {
        self.emitted.clear();
    }

    /// The Event for `problem`, or `None` for kinds that are not Kubernetes
    /// objects.
    fn event(&self, objects: &ObjectSet, problem: &Problem) -> Option<Event> {
        let object = &problem.object;
        // Kong kinds kingress does not serve are reported too; their
        // objects carry their version.
        let api_version = api_version(&object.kind).map(str::to_string).or_else(|| {
            let unserved = objects.unserved.iter().find(|u| u.kind == object.kind);
            unserved.map(|u| u.api_version.clone())
        })?;
        let now = Utc::now();
        // Cluster-scoped objects get their Events in `default`, as kubectl
        // and kube-runtime do.
        let namespace = object.namespace.clone().unwrap_or_else(|| "default".into());
        Some(Event {
            metadata: ObjectMeta {
                name: Some(format!(
                    "{}.{:x}",
                    object.name,
                    now.timestamp_nanos_opt().unwrap_or_default()
                )),
                namespace: Some(namespace),
                ..Default::default()
            },
            event_time: Some(MicroTime(now)),
            type_: Some("Warning".into()),
            reason: Some(problem.reason.chars().take(128).collect()),
            note: Some(truncate(&problem.message, NOTE_LIMIT)),
            action: Some("Translate".into()),
            reporting_controller: Some(CONTROLLER.into()),
            reporting_instance: Some(self.instance.clone()),
            regarding: Some(ObjectReference {
                api_version: Some(api_version),
                kind: Some(object.kind.clone()),
                name: Some(object.name.clone()),
                namespace: object.namespace.clone(),
                uid: uid(objects, problem),
                ..Default::default()
            }),
            ..Default::default()
        })
    }
}

/// The uid of the object at fault, when it is in the set.
fn uid(objects: &ObjectSet, problem: &Problem) -> Option<String> {
    let o = &problem.object;
    let key = (o.namespace.clone().unwrap_or_default(), o.name.clone());
    fn of<K: Named>(store: &crate::objects::Store<K>, key: &(String, String)) -> Option<String> {
        store.get(key).and_then(|k| k.uid()).map(str::to_string)
    }
    match o.kind.as_str() {
        "Ingress" => of(&objects.ingresses, &key),
        "IngressClass" => of(&objects.ingress_classes, &key),
        "Service" => of(&objects.services, &key),
        "EndpointSlice" => of(&objects.endpoint_slices, &key),
        "Secret" => of(&objects.secrets, &key),
        "KongPlugin" => of(&objects.kong_plugins, &key),
        "KongClusterPlugin" => of(&objects.kong_cluster_plugins, &key),
        "KongConsumer" => of(&objects.kong_consumers, &key),
        "KongConsumerGroup" => of(&objects.kong_consumer_groups, &key),
        "KongUpstreamPolicy" => of(&objects.kong_upstream_policies, &key),
        "KongIngress" => of(&objects.kong_ingresses, &key),
        "ConfigMap" => of(&objects.config_maps, &key),
        _ => None,
    }
}

/// At most `limit` bytes, cut at a character boundary.
pub(crate) fn truncate(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}
