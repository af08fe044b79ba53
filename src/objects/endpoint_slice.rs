//! An EndpointSlice as kingress keeps it: the Service it belongs to, its
//! ports, and per endpoint the first address and readiness. k8s-openapi's
//! endpoint is 352 bytes before its heap parts (target reference, node
//! name, zone, hints), and the labels a B-tree node of 544 bytes for the
//! one label read; here an endpoint is one address and a flag.

use super::meta::Meta;
use serde::Deserialize;

/// The upstream type this one is read from.
pub type K8sEndpointSlice = k8s_openapi::api::discovery::v1::EndpointSlice;

/// Label that ties an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// An EndpointSlice: identity, Service, ports and endpoints.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(from = "K8sEndpointSlice")]
pub struct EndpointSlice {
    /// Name, namespace, uid and the like (see [`Meta`]); annotations are
    /// left out, and the one label read is `service`.
    pub metadata: Meta,
    /// The `kubernetes.io/service-name` label.
    pub service: Option<Box<str>>,
    /// `ports`.
    pub ports: Box<[EndpointPort]>,
    /// `endpoints` that have an address.
    pub endpoints: Box<[Endpoint]>,
}

/// One entry of `ports`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointPort {
    /// `name` (empty when unset, as the API defines it).
    pub name: Option<Box<str>>,
    /// `port`.
    pub port: Option<i32>,
    /// `protocol` (`TCP` when unset).
    pub protocol: Option<Box<str>>,
}

/// One endpoint: its first address (the API lets consumers use only that
/// one) and whether it is ready.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `addresses[0]`.
    pub address: Box<str>,
    /// `conditions.ready`; unset means ready.
    pub ready: Option<bool>,
}

impl From<K8sEndpointSlice> for EndpointSlice {
    fn from(slice: K8sEndpointSlice) -> Self {
        let K8sEndpointSlice {
            mut metadata,
            endpoints,
            ports,
            ..
        } = slice;
        let service = metadata
            .labels
            .take()
            .and_then(|mut l| l.remove(SERVICE_NAME_LABEL))
            .map(Into::into);
        metadata.annotations = None;
        let ports = ports.unwrap_or_default().into_iter().map(|p| EndpointPort {
            name: p.name.map(Into::into),
            port: p.port,
            protocol: p.protocol.map(Into::into),
        });
        let endpoints = endpoints.into_iter().filter_map(|e| {
            Some(Endpoint {
                address: e.addresses.into_iter().next()?.into(),
                ready: e.conditions.and_then(|c| c.ready),
            })
        });
        EndpointSlice {
            metadata: metadata.into(),
            service,
            ports: ports.collect(),
            endpoints: endpoints.collect(),
        }
    }
}

super::meta::named_from_meta!(EndpointSlice, K8sEndpointSlice);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_service_ports_and_first_addresses() {
        let slice: EndpointSlice = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-abc", "namespace": "shop",
                         "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": "x"},
                         "labels": {"kubernetes.io/service-name": "web",
                                    "endpointslice.kubernetes.io/managed-by": "x"}},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
            "endpoints": [
                {"addresses": ["10.1.0.1", "10.1.0.9"], "conditions": {"ready": true},
                 "nodeName": "n1", "targetRef": {"kind": "Pod", "name": "web-1"}},
                {"addresses": ["10.1.0.2"], "conditions": {"ready": false}},
                {"addresses": ["10.1.0.3"]},
                {"addresses": []}
            ]
        }))
        .unwrap();
        assert_eq!(slice.service.as_deref(), Some("web"));
        assert_eq!(slice.metadata.name.as_deref(), Some("web-abc"));
        assert!(slice.metadata.annotations.is_empty());
        assert_eq!(slice.ports.len(), 2);
        assert_eq!(slice.ports[0].name.as_deref(), Some("http"));
        assert_eq!(slice.ports[0].port, Some(8080));
        assert_eq!(slice.ports[1].protocol.as_deref(), Some("UDP"));
        let endpoints: Vec<_> = slice
            .endpoints
            .iter()
            .map(|e| (&*e.address, e.ready))
            .collect();
        assert_eq!(
            endpoints,
            [
                ("10.1.0.1", Some(true)),
                ("10.1.0.2", Some(false)),
                ("10.1.0.3", None)
            ]
        );
    }
}
