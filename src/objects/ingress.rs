//! An Ingress as kingress keeps it: its identity and annotations, and of
//! its spec and status only what translate, the cluster source and status
//! read. k8s-openapi's Ingress is 560 bytes before its heap parts, and each
//! path 176 (a backend has room for a typed resource reference beside the
//! Service); here the spec is flat boxed slices and a path is one Service
//! reference. The API server's JSON and manifests deserialize straight
//! into it.

use super::meta::Meta;
use k8s_openapi::api::networking::v1::{IngressBackend, IngressLoadBalancerIngress};
use serde::Deserialize;

/// The upstream type this one is read from.
pub type K8sIngress = k8s_openapi::api::networking::v1::Ingress;

/// An Ingress: identity, annotations, the parts of spec that translate
/// reads and the load-balancer addresses of its status.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(from = "K8sIngress")]
pub struct Ingress {
    /// Name, namespace, uid, annotations and the like (see [`Meta`]).
    pub metadata: Meta,
    /// `spec.ingressClassName`.
    pub class_name: Option<Box<str>>,
    /// `spec.defaultBackend`.
    pub default_backend: Option<Backend>,
    /// `spec.rules`.
    pub rules: Box<[Rule]>,
    /// `spec.tls`.
    pub tls: Box<[Tls]>,
    /// `status.loadBalancer.ingress`.
    pub load_balancer: Box<[IngressLoadBalancerIngress]>,
}

/// One entry of `spec.rules`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rule {
    /// `host`.
    pub host: Option<Box<str>>,
    /// `http.paths` (empty without `http`).
    pub paths: Box<[Path]>,
}

/// One entry of a rule's `http.paths`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path {
    /// `path`.
    pub path: Option<Box<str>>,
    /// `pathType`.
    pub path_type: Box<str>,
    /// `backend`.
    pub backend: Backend,
}

/// A backend: a Service, or what stands in its place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `service` (it wins when `resource` is set too).
    Service(ServiceBackend),
    /// `resource` alone: its kind.
    Resource(Box<str>),
    /// Neither.
    Nothing,
}

/// `backend.service`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceBackend {
    /// `name`.
    pub name: Box<str>,
    /// `port.name`.
    pub port_name: Option<Box<str>>,
    /// `port.number`.
    pub port_number: Option<i32>,
}

/// One entry of `spec.tls`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tls {
    /// `hosts`.
    pub hosts: Box<[Box<str>]>,
    /// `secretName`.
    pub secret_name: Option<Box<str>>,
}

impl From<IngressBackend> for Backend {
    fn from(backend: IngressBackend) -> Self {
        match (backend.service, backend.resource) {
            (Some(service), _) => {
                let port = service.port.unwrap_or_default();
                Backend::Service(ServiceBackend {
                    name: service.name.into(),
                    port_name: port.name.map(Into::into),
                    port_number: port.number,
                })
            }
            (None, Some(resource)) => Backend::Resource(resource.kind.into()),
            (None, None) => Backend::Nothing,
        }
    }
}

impl From<K8sIngress> for Ingress {
    fn from(ingress: K8sIngress) -> Self {
        let K8sIngress {
            metadata,
            spec,
            status,
        } = ingress;
        let spec = spec.unwrap_or_default();
        let rules = spec.rules.unwrap_or_default().into_iter().map(|r| Rule {
            host: r.host.map(Into::into),
            paths: r
                .http
                .map(|h| h.paths)
                .unwrap_or_default()
                .into_iter()
                .map(|p| Path {
                    path: p.path.map(Into::into),
                    path_type: p.path_type.into(),
                    backend: p.backend.into(),
                })
                .collect(),
        });
        let tls = spec.tls.unwrap_or_default().into_iter().map(|t| Tls {
            hosts: t
                .hosts
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            secret_name: t.secret_name.map(Into::into),
        });
        let load_balancer = status
            .and_then(|s| s.load_balancer)
            .and_then(|lb| lb.ingress)
            .unwrap_or_default();
        Ingress {
            metadata: metadata.into(),
            class_name: spec.ingress_class_name.map(Into::into),
            default_backend: spec.default_backend.map(Into::into),
            rules: rules.collect(),
            tls: tls.collect(),
            load_balancer: load_balancer.into(),
        }
    }
}

super::meta::named_from_meta!(Ingress, K8sIngress);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_translate_and_status_use() {
        let ingress: Ingress = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"},
                         "annotations": {"konghq.com/strip-path": "true"}},
            "spec": {
                "ingressClassName": "kong",
                "defaultBackend": {"resource": {"kind": "Bucket", "name": "b"}},
                "rules": [
                    {"host": "a.example", "http": {"paths": [
                        {"path": "/", "pathType": "Prefix",
                         "backend": {"service": {"name": "web", "port": {"number": 80}},
                                     "resource": {"kind": "Ignored", "name": "x"}}},
                        {"pathType": "ImplementationSpecific",
                         "backend": {"service": {"name": "api", "port": {"name": "http"}}}}]}},
                    {"host": "b.example"}],
                "tls": [{"hosts": ["a.example"], "secretName": "web-tls"}, {}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}
        }))
        .unwrap();
        assert_eq!(ingress.metadata.name.as_deref(), Some("web"));
        assert_eq!(ingress.metadata.namespace.as_deref(), Some("shop"));
        assert_eq!(
            ingress.metadata.annotations.get("konghq.com/strip-path"),
            Some("true")
        );
        assert_eq!(ingress.class_name.as_deref(), Some("kong"));
        assert_eq!(
            ingress.default_backend,
            Some(Backend::Resource("Bucket".into()))
        );
        assert_eq!(ingress.rules.len(), 2);
        assert!(ingress.rules[1].paths.is_empty());
        let paths = &ingress.rules[0].paths;
        assert_eq!(
            (paths[0].path.as_deref(), &*paths[0].path_type),
            (Some("/"), "Prefix")
        );
        let service = |p: &Path| match &p.backend {
            Backend::Service(s) => s.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            service(&paths[0]),
            ServiceBackend {
                name: "web".into(),
                port_name: None,
                port_number: Some(80)
            }
        );
        assert_eq!(service(&paths[1]).port_name.as_deref(), Some("http"));
        assert_eq!(paths[1].path, None);
        assert_eq!(&*ingress.tls[0].hosts, [Box::from("a.example")]);
        assert_eq!(ingress.tls[0].secret_name.as_deref(), Some("web-tls"));
        assert_eq!(ingress.tls[1], Tls::default());
        assert_eq!(ingress.load_balancer[0].ip.as_deref(), Some("192.0.2.1"));
    }
}
