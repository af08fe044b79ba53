//! A service whose `host` names an upstream of its document: Kong's
//! balancer over the upstream's targets instead of the host itself.

use super::Doc;
use crate::model::{Service, Target};
use std::sync::Arc;

impl Doc<'_, '_, '_> {
    /// When `host` names an upstream of the document, the service uses it
    /// as Kong does: the upstream's targets with their weights (those of
    /// weight 0 get no traffic), balance settings and `host_header`.
    pub(super) fn upstream(&mut self, service: &mut Service, host: &str) {
        let Some(u) = self.doc.upstreams.iter().find(|u| u.name == host) else {
            return;
        };
        service.targets = self
            .doc
            .targets
            .iter()
            .filter(|t| t.upstream.id == u.id && t.weight > 0)
            .filter_map(|t| {
                let (host, port) = t.address()?;
                let weight = u32::try_from(t.weight).ok()?;
                Some(Target { host, port, weight })
            })
            .collect();
        service.balance = Some(Arc::new(u.balance(u.name.clone())));
        if service.host_header.is_none() {
            service.host_header = u.host_header.clone();
        }
        service.upstream = Some(u.name.clone());
    }
}
