//! A service whose `host` names an upstream of its document: Kong's
//! balancer over the upstream's targets instead of the host itself.

use super::Doc;
use crate::kong;
use crate::model::{Service, Target};
use std::sync::Arc;

impl Doc<'_, '_, '_> {
    /// When `host` names an upstream of the document, the service uses it
    /// as Kong does: the upstream's targets (those of weight 0 get no
    /// traffic), balance settings and `host_header`.
    pub(super) fn upstream(&mut self, service: &mut Service, host: &str) {
        let Some(u) = self.doc.upstreams.iter().find(|u| u.name == host) else {
            return;
        };
        let targets: Vec<&kong::Target> = self
            .doc
            .targets
            .iter()
            .filter(|t| t.upstream.id == u.id && t.weight > 0)
            .collect();
        service.targets = targets
            .iter()
            .filter_map(|t| t.address())
            .map(|(host, port)| Target { host, port })
            .collect();
        let mut weights: Vec<i64> = targets.iter().map(|t| t.weight).collect();
        weights.sort_unstable();
        weights.dedup();
        if weights.len() > 1 {
            let object = self.object("KongUpstream", Some(&u.name), &u.id);
            self.cx.problem(
                &object,
                "TargetWeightsNotHonoured",
                "targets of different weights share the traffic equally in kingress (a weight \
                 of 0 still takes a target out)",
            );
        }
        service.balance = Some(Arc::new(u.balance(u.name.clone())));
        if service.host_header.is_none() {
            service.host_header = u.host_header.clone();
        }
        service.upstream = Some(u.name.clone());
    }
}
