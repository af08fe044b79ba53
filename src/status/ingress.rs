//! Ingress `status.loadBalancer`: the addresses clients reach the proxy at,
//! from `--publish-status-address` or the `--publish-service` Service
//! (its load-balancer ingress, else its cluster IPs), as KIC does (§4.4).

use super::bucket::{Bucket, Written};
use crate::model::ObjectRef;
use crate::objects::Ingress;
use crate::objects::ObjectKey;
use crate::objects::Service;
use crate::objects::class::ClassFilter;
use crate::objects::ingress::K8sIngress;
use crate::objects::{Named, ObjectSet};
use k8s_openapi::api::networking::v1::IngressLoadBalancerIngress;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use serde_json::json;
use std::collections::HashMap;
use std::net::IpAddr;

/// Where the addresses come from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressSource {
    /// Fixed addresses (IPs or hostnames); win over `service`.
    pub addresses: Vec<String>,
    /// `(namespace, name)` of the proxy Service.
    pub service: Option<ObjectKey>,
}

/// Writes Ingress status when it differs from the addresses.
#[derive(Debug, Default)]
pub(crate) struct IngressWriter {
    written: HashMap<ObjectRef, (Option<String>, Vec<IngressLoadBalancerIngress>)>,
}

// === impl AddressSource ===

impl AddressSource {
    /// The addresses to publish; `None` when there is nothing to say yet
    /// (no source configured, or the Service has no address so far), in
    /// which case Ingress status is left alone.
    pub fn resolve(&self, objects: &ObjectSet) -> Option<Vec<IngressLoadBalancerIngress>> {
        let entries: Vec<IngressLoadBalancerIngress> = if !self.addresses.is_empty() {
            self.addresses.iter().map(|a| entry(a)).collect()
        } else {
            let service = objects.services.get(self.service.as_ref()?)?;
            service_addresses(service)
        };
        (!entries.is_empty()).then_some(entries)
    }
}

fn entry(address: &str) -> IngressLoadBalancerIngress {
    if address.parse::<IpAddr>().is_ok() {
        IngressLoadBalancerIngress {
            ip: Some(address.to_string()),
            ..Default::default()
        }
    } else {
        IngressLoadBalancerIngress {
            hostname: Some(address.to_string()),
            ..Default::default()
        }
    }
}

fn service_addresses(service: &Service) -> Vec<IngressLoadBalancerIngress> {
    let addresses = if service.is_load_balancer() {
        &service.load_balancer
    } else {
        &service.cluster_ips
    };
    addresses
        .iter()
        .filter(|ip| &***ip != "None" && !ip.is_empty())
        .map(|ip| entry(ip))
        .collect()
}

// === impl IngressWriter ===

impl IngressWriter {
    /// Sets `status.loadBalancer.ingress` of every Ingress of our class to
    /// `addresses`, as far as `bucket` allows.
    pub(crate) async fn write(
        &mut self,
        client: &Client,
        objects: &ObjectSet,
        filter: &ClassFilter,
        addresses: &[IngressLoadBalancerIngress],
        bucket: &mut Bucket,
    ) -> Written {
        let mut out = Written::default();
        for ingress in objects.ingresses.values().filter(|i| filter.ingress(i)) {
            let ns = ingress.namespace().unwrap_or_default().to_string();
            let name = ingress.name().to_string();
            if current(ingress) == addresses {
                continue;
            }
            let reference = ObjectRef::new("Ingress", &ns, &name);
            let memo = (ingress.uid().map(str::to_string), addresses.to_vec());
            if self.written.get(&reference) == Some(&memo) {
                continue;
            }
            if !bucket.take() {
                out.pending += 1;
                continue;
            }
            let api: Api<K8sIngress> = Api::namespaced(client.clone(), &ns);
            let patch = json!({"status": {"loadBalancer": {"ingress": addresses}}});
            match api
                .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {
                    self.written.insert(reference, memo);
                    out.writes += 1;
                }
                Err(error) => {
                    tracing::warn!(ingress = %reference, %error, "cannot write Ingress status")
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

fn current(ingress: &Ingress) -> &[IngressLoadBalancerIngress] {
    &ingress.load_balancer
}
