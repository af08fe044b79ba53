//! The `Programmed` condition of KongPlugin, KongClusterPlugin, KongConsumer
//! and KongConsumerGroup (and False on the unserved kinds with conditions,
//! `unserved`): True when the object made it into the table without a
//! problem, False/`Invalid` with the problems' messages otherwise. Written
//! through the status subresource, and only when it would change, so several
//! replicas or repeated reconciles cause no write storms (KIC PR #4584).

mod unserved;

use super::bucket::{Bucket, Written};
use super::events::truncate;
use crate::model::{ObjectRef, Problem};
use crate::objects::Named;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::chrono::Utc;
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;

/// Condition type written.
pub const PROGRAMMED: &str = "Programmed";
/// Limit of `message` in `metav1.Condition`.
const MESSAGE_LIMIT: usize = 32768;

/// The condition an object should carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Desired {
    status: &'static str,
    reason: &'static str,
    message: String,
    generation: Option<i64>,
}

/// Remembers what was written, so a write whose watch echo has not arrived
/// yet is not repeated.
#[derive(Debug, Default)]
pub(crate) struct ConditionWriter {
    written: HashMap<ObjectRef, (Option<String>, Desired)>,
}

/// Access to a Kong resource's status conditions.
pub(crate) trait HasConditions {
    /// The current conditions.
    fn conditions(&self) -> &[Condition];
}

macro_rules! has_conditions {
    ($($ty:ty),*) => {$(
        impl HasConditions for $ty {
            fn conditions(&self) -> &[Condition] {
                self.status.as_ref().map(|s| s.conditions.as_slice()).unwrap_or_default()
            }
        }
    )*};
}
has_conditions!(
    crate::crd::KongPlugin,
    crate::crd::KongClusterPlugin,
    crate::crd::KongConsumerGroup
);

impl HasConditions for crate::objects::KongConsumer {
    fn conditions(&self) -> &[Condition] {
        &self.conditions
    }
}

// === impl Desired ===

impl Desired {
    /// True, or False with every problem's message.
    pub(crate) fn from_problems(problems: &[&Problem], generation: Option<i64>) -> Self {
        if problems.is_empty() {
            return Self {
                status: "True",
                reason: "Programmed",
                message: "Object was successfully configured in kingress.".into(),
                generation,
            };
        }
        let joined: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        Self {
            status: "False",
            reason: "Invalid",
            message: truncate(&joined.join("; "), MESSAGE_LIMIT),
            generation,
        }
    }

    fn matches(&self, c: &Condition) -> bool {
        c.status == self.status
            && c.reason == self.reason
            && c.message == self.message
            && c.observed_generation == self.generation
    }
}

// === impl ConditionWriter ===

impl ConditionWriter {
    /// Writes the Programmed condition of each object whose condition
    /// differs from what `problems` say, as far as `bucket` allows.
    /// `api` gives the API of an object (namespaced or cluster-scoped), of
    /// the type the API server's answer is read as (a compact kind's
    /// upstream type).
    pub(crate) async fn write<'a, K, W>(
        &mut self,
        api: impl Fn(&K) -> Api<W>,
        objects: impl IntoIterator<Item = &'a K>,
        problems: &BTreeMap<ObjectRef, Vec<&Problem>>,
        bucket: &mut Bucket,
    ) -> Written
    where
        K: Named + HasConditions + 'a,
        W: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
    {
        let kind = K::kind().to_string();
        let mut out = Written::default();
        for object in objects {
            let reference = match object.namespace() {
                Some(ns) => ObjectRef::new(&kind, ns, object.name()),
                None => ObjectRef::cluster(&kind, object.name()),
            };
            let found = problems
                .get(&reference)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let desired = Desired::from_problems(found, object.generation());
            let current = object.conditions().iter().find(|c| c.type_ == PROGRAMMED);
            if current.is_some_and(|c| desired.matches(c)) {
                continue;
            }
            let uid = object.uid().map(str::to_string);
            if self.written.get(&reference) == Some(&(uid.clone(), desired.clone())) {
                continue;
            }
            if !bucket.take() {
                out.pending += 1;
                continue;
            }
            let patch = json!({"status": {"conditions": merged(object.conditions(), &desired)}});
            match api(object)
                .patch_status(
                    object.name(),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
            {
                Ok(_) => {
                    self.written.insert(reference, (uid, desired));
                    out.writes += 1;
                }
                Err(error) => {
                    tracing::warn!(object = %reference, %error, "cannot write Programmed condition")
                }
            }
        }
        out
    }

    /// Forgets what was written.
    pub(crate) fn reset(&mut self) {
        self.written.clear();
    }
}

/// The object's conditions with Programmed replaced; the transition time
/// moves only when the status flips.
fn merged(existing: &[Condition], desired: &Desired) -> Vec<Condition> {
    let previous = existing.iter().find(|c| c.type_ == PROGRAMMED);
    let last_transition_time = match previous {
        Some(p) if p.status == desired.status => p.last_transition_time.clone(),
        _ => Time(Utc::now()),
    };
    let mut out: Vec<Condition> = existing
        .iter()
        .filter(|c| c.type_ != PROGRAMMED)
        .cloned()
        .collect();
    out.push(Condition {
        type_: PROGRAMMED.into(),
        status: desired.status.into(),
        reason: desired.reason.into(),
        message: desired.message.clone(),
        observed_generation: desired.generation,
        last_transition_time,
    });
    out
}
