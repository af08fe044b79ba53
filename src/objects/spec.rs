//! An object whose only change is its status is the same input to
//! translate (which never reads status) and names the same Secrets. kingress writes status itself (the
//! `Programmed` condition of Kong kinds, an Ingress's load-balancer
//! address), and each write comes back through the watch as a new object:
//! compared by address alone, the status writes after start-up (one per
//! KongConsumer, one per Ingress) would each throw translate's memo away
//! and have the cluster source match Secrets to Ingresses again.

use crate::crd::{KongClusterPlugin, KongConsumerGroup, KongPlugin};
use crate::objects::{Ingress, KongConsumer, Named};
use std::sync::Arc;

/// Kinds whose status kingress writes.
pub trait Spec: Named + Clone + PartialEq {
    /// Forgets the status and what a status write changes with it
    /// (resourceVersion, managed fields).
    fn clear_status(&mut self);
}

macro_rules! spec {
    ($($ty:ty),*) => {$(
        impl Spec for $ty {
            fn clear_status(&mut self) {
                self.status = None;
                self.metadata.resource_version = None;
                self.metadata.managed_fields = None;
            }
        }
    )*};
}
impl Spec for Ingress {
    fn clear_status(&mut self) {
        self.load_balancer = Box::default();
        // A compact Ingress keeps no managed fields.
        self.metadata.resource_version = None;
    }
}

impl Spec for KongConsumer {
    fn clear_status(&mut self) {
        self.conditions = Box::default();
        self.metadata.resource_version = None;
    }
}

spec!(KongConsumerGroup, KongPlugin, KongClusterPlugin);

/// Whether `a` and `b` translate the same: the same object, or equal but
/// for status and what a status write changes with it (resourceVersion,
/// managed fields).
pub fn same_input<K: Spec>(a: &Arc<K>, b: &Arc<K>) -> bool {
    if Arc::ptr_eq(a, b) {
        return true;
    }
    let (x, y) = (&**a, &**b);
    // Cheap answers first: a spec change moves the generation.
    if x.uid() != y.uid() || x.generation() != y.generation() || x.name() != y.name() {
        return false;
    }
    stripped(&**a) == stripped(&**b)
}

fn stripped<K: Spec>(object: &K) -> K {
    let mut object = object.clone();
    object.clear_status();
    object
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

    fn consumer(username: &str, version: &str, programmed: bool) -> Arc<KongConsumer> {
        let mut c = KongConsumer {
            username: Some(username.into()),
            ..KongConsumer::default()
        };
        c.metadata.name = Some("jane".into());
        c.metadata.uid = Some("u-1".into());
        c.metadata.generation = Some(1);
        c.metadata.resource_version = Some(version.into());
        if programmed {
            c.conditions = [Condition {
                type_: "Programmed".into(),
                status: "True".into(),
                reason: "Programmed".into(),
                message: String::new(),
                observed_generation: Some(1),
                last_transition_time: Time(Default::default()),
            }]
            .into();
        }
        Arc::new(c)
    }

    #[test]
    fn a_status_write_is_the_same_input_a_spec_change_is_not() {
        let before = consumer("jane", "1", false);
        assert!(same_input(&before, &consumer("jane", "2", true)));
        assert!(!same_input(&before, &consumer("janet", "2", false)));
        let mut annotated = (*consumer("jane", "2", false)).clone();
        annotated.metadata.annotations = [("konghq.com/plugins", "auth")].into_iter().collect();
        assert!(!same_input(&before, &Arc::new(annotated)));
        let mut recreated = (*consumer("jane", "3", false)).clone();
        recreated.metadata.uid = Some("u-2".into());
        assert!(!same_input(&before, &Arc::new(recreated)));
    }
}
