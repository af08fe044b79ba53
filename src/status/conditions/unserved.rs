//! `Programmed=False` on objects of the unserved Kong kinds whose status
//! carries conditions (KongVault, KongCustomEntity), as KIC writes
//! `Programmed` on them. Those kinds are watched by metadata only (a
//! KongVault's `config` may hold a vault token, which kingress has no use
//! for), so the current condition is read with one GET before a write,
//! and the writer remembers what it wrote: once per object and leader term.

use super::{ConditionWriter, Desired, PROGRAMMED, merged};
use crate::model::{ObjectRef, Problem};
use crate::objects::Unserved;
use crate::objects::unserved::unserved_kind;
use crate::status::bucket::{Bucket, Written};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Patch, PatchParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use kube::{Api, Client};
use serde_json::json;
use std::collections::BTreeMap;

// === impl ConditionWriter ===

impl ConditionWriter {
    /// Writes `Programmed=False` (reason `Invalid`, the problem's message)
    /// on each of `objects` of a kind with conditions that has a problem
    /// and does not show it yet, as far as `bucket` allows (a GET and a
    /// write take one token).
    pub(crate) async fn write_unserved(
        &mut self,
        client: &Client,
        objects: Vec<&Unserved>,
        problems: &BTreeMap<ObjectRef, Vec<&Problem>>,
        bucket: &mut Bucket,
    ) -> Written {
        let mut out = Written::default();
        for object in objects {
            let Some(kind) = unserved_kind(&object.kind).filter(|k| k.conditions) else {
                continue;
            };
            let reference = match &object.namespace {
                Some(ns) => ObjectRef::new(&object.kind, ns, &object.name),
                None => ObjectRef::cluster(&object.kind, &object.name),
            };
            // An unserved object always has its problem; without one there
            // is nothing true to say.
            let Some(found) = problems.get(&reference).filter(|p| !p.is_empty()) else {
                continue;
            };
            let desired = Desired::from_problems(found, object.generation);
            let remembered = (object.uid.clone(), desired.clone());
            if self.written.get(&reference) == Some(&remembered) {
                continue;
            }
            if !bucket.take() {
                out.pending += 1;
                continue;
            }
            let (group, version) = kind.api_version.split_once('/').unwrap_or_default();
            let gvk = GroupVersionKind::gvk(group, version, kind.kind);
            let resource = ApiResource::from_gvk_with_plural(&gvk, kind.plural);
            let api: Api<DynamicObject> = match &object.namespace {
                Some(ns) if !kind.cluster => Api::namespaced_with(client.clone(), ns, &resource),
                _ => Api::all_with(client.clone(), &resource),
            };
            let current = match api.get(&object.name).await {
                Ok(current) => current,
                Err(error) => {
                    tracing::warn!(object = %reference, %error, "cannot read status for the Programmed condition");
                    continue;
                }
            };
            let conditions: Vec<Condition> = current
                .data
                .pointer("/status/conditions")
                .and_then(|c| serde_json::from_value(c.clone()).ok())
                .unwrap_or_default();
            let shown = conditions.iter().find(|c| c.type_ == PROGRAMMED);
            if shown.is_some_and(|c| desired.matches(c)) {
                self.written.insert(reference, remembered);
                continue;
            }
            let patch = json!({"status": {"conditions": merged(&conditions, &desired)}});
            match api
                .patch_status(&object.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {
                    self.written.insert(reference, remembered);
                    out.writes += 1;
                }
                Err(error) => {
                    tracing::warn!(object = %reference, %error, "cannot write Programmed condition")
                }
            }
        }
        out
    }
}
