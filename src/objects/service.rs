//! A Service as kingress keeps it: its identity and annotations, and of its
//! spec and status only what translate and status read (type, ports,
//! ExternalName, cluster IPs, load-balancer addresses). k8s-openapi's type
//! is 800 bytes before any of its heap parts (a cluster's Services carry
//! IP families, session affinity, traffic policies, …); this one is under
//! half of that. The API server's JSON and manifests deserialize straight
//! into it.

use super::meta::Meta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Deserialize;

/// The upstream type this one is read from.
pub type K8sService = k8s_openapi::api::core::v1::Service;

/// A Service: identity, annotations and the parts of spec and status that
/// kingress reads.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(from = "K8sService")]
pub struct Service {
    /// Name, namespace, uid, annotations and the like (see [`Meta`]).
    pub metadata: Meta,
    /// `spec.type` (`ClusterIP` when unset).
    pub type_: Option<Box<str>>,
    /// `spec.externalName`.
    pub external_name: Option<Box<str>>,
    /// `spec.ports`.
    pub ports: Box<[ServicePort]>,
    /// `spec.clusterIPs`, or `spec.clusterIP` alone when the list is unset.
    pub cluster_ips: Box<[Box<str>]>,
    /// `status.loadBalancer.ingress`: each entry's IP, else its hostname.
    pub load_balancer: Box<[Box<str>]>,
}

/// One entry of `spec.ports`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServicePort {
    /// `name`.
    pub name: Option<Box<str>>,
    /// `port`.
    pub port: i32,
    /// `targetPort` when it names a container port (a number is not read).
    pub target_name: Option<Box<str>>,
}

impl Service {
    /// Whether `spec.type` is `ExternalName`.
    pub fn is_external_name(&self) -> bool {
        self.type_.as_deref() == Some("ExternalName")
    }

    /// Whether `spec.type` is `LoadBalancer`.
    pub fn is_load_balancer(&self) -> bool {
        self.type_.as_deref() == Some("LoadBalancer")
    }
}

impl From<K8sService> for Service {
    fn from(service: K8sService) -> Self {
        let K8sService {
            metadata,
            spec,
            status,
        } = service;
        let spec = spec.unwrap_or_default();
        let ports = spec
            .ports
            .unwrap_or_default()
            .into_iter()
            .map(|p| ServicePort {
                name: p.name.map(Into::into),
                port: p.port,
                target_name: match p.target_port {
                    Some(IntOrString::String(name)) => Some(name.into()),
                    _ => None,
                },
            });
        let cluster_ips = match spec.cluster_ips {
            Some(ips) if !ips.is_empty() => ips,
            _ => spec.cluster_ip.into_iter().collect(),
        };
        let load_balancer = status
            .and_then(|s| s.load_balancer)
            .and_then(|lb| lb.ingress)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|i| i.ip.or(i.hostname))
            .map(Into::into);
        Service {
            metadata: metadata.into(),
            type_: spec.type_.map(Into::into),
            external_name: spec.external_name.map(Into::into),
            ports: ports.collect(),
            cluster_ips: cluster_ips.into_iter().map(Into::into).collect(),
            load_balancer: load_balancer.collect(),
        }
    }
}

super::meta::named_from_meta!(Service, K8sService);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_translate_and_status_use() {
        let service: Service = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"},
                         "annotations": {"konghq.com/protocol": "https"}},
            "spec": {"type": "LoadBalancer", "clusterIP": "10.0.0.1",
                     "clusterIPs": ["10.0.0.1", "fd00::1"], "ipFamilies": ["IPv4", "IPv6"],
                     "ports": [{"name": "http", "port": 80, "targetPort": "web"},
                               {"port": 443, "targetPort": 8443}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"},
                                                    {"hostname": "lb.example"}]}}
        }))
        .unwrap();
        assert_eq!(service.metadata.name.as_deref(), Some("web"));
        assert_eq!(
            service.metadata.annotations.get("konghq.com/protocol"),
            Some("https")
        );
        assert!(service.is_load_balancer() && !service.is_external_name());
        assert_eq!(service.ports.len(), 2);
        assert_eq!(service.ports[0].name.as_deref(), Some("http"));
        assert_eq!(service.ports[0].target_name.as_deref(), Some("web"));
        assert_eq!(
            (
                service.ports[1].port,
                service.ports[1].target_name.as_deref()
            ),
            (443, None)
        );
        assert_eq!(
            &*service.cluster_ips,
            [Box::from("10.0.0.1"), Box::from("fd00::1")]
        );
        assert_eq!(
            &*service.load_balancer,
            [Box::from("192.0.2.1"), Box::from("lb.example")]
        );
    }

    #[test]
    fn cluster_ip_alone_when_the_list_is_unset() {
        let service: Service = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web"},
            "spec": {"clusterIP": "10.0.0.2", "type": "ExternalName", "externalName": "db.example"}
        }))
        .unwrap();
        assert_eq!(&*service.cluster_ips, [Box::from("10.0.0.2")]);
        assert!(service.is_external_name());
        assert_eq!(service.external_name.as_deref(), Some("db.example"));
        let bare: Service =
            serde_json::from_value(serde_json::json!({"metadata": {"name": "x"}})).unwrap();
        assert!(bare.ports.is_empty() && bare.cluster_ips.is_empty() && bare.type_.is_none());
    }
}
