//! Ingress backends to upstream services: the Kubernetes Service and port,
//! and targets from its EndpointSlices (KIC's `getEndpoints`).

use super::annotations::{self, ServiceSettings};
use super::{Cx, kong_ingress, object_ref, upstream_policy};
use crate::model::{self, ObjectRef, Problem, Table, Target};
use crate::objects::ingress::ServiceBackend;
use crate::objects::service::ServicePort;
use crate::objects::{EndpointSlice, Service};
use std::collections::BTreeMap;
use std::sync::Arc;

#[cfg(test)]
mod tests;

/// How an Ingress backend names the Service port (KIC's `PortDef`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum PortDef {
    Number(i32),
    Name(String),
    /// No port given: the Service must have exactly one.
    Implicit,
}

/// A resolved backend: the upstream service's name in the table and the
/// Kubernetes Service it came from (whose plugins apply).
#[derive(Clone, Debug)]
pub(super) struct Backend {
    pub service_name: String,
    pub service: Arc<Service>,
}

/// Why a backend could not be resolved: problem reason and message.
#[derive(Clone, Debug)]
pub(super) struct BackendError {
    pub reason: &'static str,
    pub message: String,
}

/// Resolves backends, building each upstream service once.
pub(super) struct Backends<'a> {
    endpoint_slices: &'a crate::objects::Store<EndpointSlice>,
    /// EndpointSlices by `(namespace, service)`, indexed on first use (an
    /// edit that translates one Ingress again needs one Service's slices).
    slices: Option<SliceIndex<'a>>,
    /// Backends built so far: past [`SCAN_LIMIT`], `slices` is indexed.
    built: usize,
    /// Keyed by the port as given, not its canonical text: a port named
    /// "80" is not port 80.
    resolved: BTreeMap<(&'a str, &'a str, PortDef), Resolved>,
}

/// A backend as first resolved, with what resolving it added: the upstream
/// service and the problems found on the Service. Later users of the same
/// backend get both again, so each Ingress's share of the table is whole on
/// its own (translate's memo reuses it per Ingress).
struct Resolved {
    result: Result<Backend, BackendError>,
    service: Option<model::Service>,
    problems: Vec<Problem>,
}

// === impl PortDef ===

impl PortDef {
    /// From `backend.service.port` (name wins, as in KIC).
    pub(super) fn from_backend(backend: &ServiceBackend) -> Self {
        match (backend.port_name.as_deref(), backend.port_number) {
            (Some(n), _) if !n.is_empty() => PortDef::Name(n.to_string()),
            (_, Some(n)) if n != 0 => PortDef::Number(n),
            _ => PortDef::Implicit,
        }
    }

    /// The port as it appears in route and service names. A name
    /// Kubernetes would refuse (its route fails closed) is marked with a
    /// leading `_`, which no valid name or number has: a port named "80"
    /// must not take the name of port 80's route.
    pub(super) fn canonical(&self) -> String {
        match self {
            PortDef::Number(n) => n.to_string(),
            PortDef::Name(n) if valid_port_name(n) => n.clone(),
            PortDef::Name(n) => format!("_{n}"),
            PortDef::Implicit => "implicitPort".to_string(),
        }
    }

    fn find<'s>(&self, ports: &'s [ServicePort]) -> Option<&'s ServicePort> {
        match self {
            PortDef::Number(n) => ports.iter().find(|p| p.port == *n),
            PortDef::Name(name) => ports.iter().find(|p| {
                p.name.as_deref() == Some(name.as_str())
                    || p.target_name.as_deref() == Some(name.as_str())
            }),
            PortDef::Implicit => match ports {
                [only] => Some(only),
                _ => None,
            },
        }
    }
}

/// Backends resolved by scanning their namespace's EndpointSlices before
/// all slices are indexed: an edit resolves one or two, a full translation
/// thousands.
const SCAN_LIMIT: usize = 32;

/// EndpointSlices by `(namespace, service)`.
type SliceIndex<'a> = BTreeMap<(&'a str, &'a str), Vec<&'a EndpointSlice>>;

// === impl Backends ===

impl<'a> Backends<'a> {
    /// Resolves backends among the objects of `cx`.
    pub(super) fn new(cx: &Cx<'a>) -> Self {
        Self {
            endpoint_slices: &cx.objects.endpoint_slices,
            slices: None,
            built: 0,
            resolved: BTreeMap::new(),
        }
    }

    /// The slices of Service `name` alone, in store order (as `index`
    /// lists them).
    fn scan(
        endpoint_slices: &'a crate::objects::Store<EndpointSlice>,
        namespace: &'a str,
        name: &'a str,
    ) -> SliceIndex<'a> {
        let from = (namespace.to_string(), String::new());
        let of_service = endpoint_slices
            .range(from..)
            .take_while(|((ns, _), _)| ns == namespace)
            .filter(|(_, slice)| slice.service.as_deref() == Some(name))
            .map(|(_, slice)| slice.as_ref())
            .collect();
        BTreeMap::from([((namespace, name), of_service)])
    }

    fn index(endpoint_slices: &'a crate::objects::Store<EndpointSlice>) -> SliceIndex<'a> {
        let mut slices: SliceIndex<'a> = BTreeMap::new();
        for ((ns, _), slice) in endpoint_slices {
            if let Some(service) = &slice.service {
                slices
                    .entry((ns.as_str(), &**service))
                    .or_default()
                    .push(slice);
            }
        }
        slices
    }

    /// Resolves Service `name` port `port` in `namespace`, adding the
    /// upstream service to `table` and the problems of the Service to `cx`
    /// (every time: each Ingress's share of the table stands alone).
    pub(super) fn resolve(
        &mut self,
        cx: &mut Cx<'a>,
        table: &mut Table,
        namespace: &'a str,
        name: &'a str,
        port: &PortDef,
    ) -> Result<Backend, BackendError> {
        let key = (namespace, name, port.clone());
        let done = match self.resolved.entry(key) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                let start = cx.problems.len();
                let all = self.endpoint_slices;
                self.built += 1;
                let built = if self.slices.is_none() && self.built <= SCAN_LIMIT {
                    // A few backends (an edit): their namespaces' slices only.
                    let slices = Self::scan(all, namespace, name);
                    Self::build(&slices, cx, namespace, name, port)
                } else {
                    let slices = self.slices.get_or_insert_with(|| Self::index(all));
                    Self::build(slices, cx, namespace, name, port)
                };
                let (result, service) = match built {
                    Ok((backend, service)) => (Ok(backend), Some(service)),
                    Err(e) => (Err(e), None),
                };
                let problems = cx.problems.split_off(start);
                e.insert(Resolved {
                    result,
                    service,
                    problems,
                })
            }
        };
        cx.problems.extend(done.problems.iter().cloned());
        if let Some(service) = &done.service
            && !table.services.contains_key(&service.name)
        {
            table.services.insert(service.name.clone(), service.clone());
        }
        done.result.clone()
    }

    fn build(
        slices: &SliceIndex<'a>,
        cx: &mut Cx<'a>,
        namespace: &str,
        name: &str,
        port: &PortDef,
    ) -> Result<(Backend, model::Service), BackendError> {
        if let PortDef::Name(n) = port
            && !valid_port_name(n)
        {
            // The API server refuses such an Ingress; a manifest on disk
            // is not checked by it. A name of digits alone would also take
            // the number's upstream service name.
            return Err(BackendError {
                reason: "InvalidPortName",
                message: format!(
                    "backend port name '{n}' is not a valid port name (at most 15 lower-case \
                     letters, digits and '-', at least one letter, '-' not first, last or twice \
                     in a row)"
                ),
            });
        }
        let objects = cx.objects;
        let Some(service) = objects
            .services
            .get(&(namespace.to_string(), name.to_string()))
        else {
            return Err(BackendError {
                reason: "ServiceNotFound",
                message: format!("backend Service {namespace}/{name} not found"),
            });
        };
        let ports = &service.ports;
        let external = service.is_external_name();
        let external_name = service.external_name.as_deref();
        let service_port = port.find(ports);
        let targets = match (service_port, external, port) {
            (Some(p), true, _) => external_target(external_name, p.port),
            // ExternalName Services often declare no ports; a number is enough.
            (None, true, PortDef::Number(n)) => external_target(external_name, *n),
            (Some(p), false, _) => targets(slices, namespace, name, p),
            (None, _, _) => {
                return Err(BackendError {
                    reason: "PortNotFound",
                    message: match port {
                        PortDef::Implicit => format!(
                            "the backend names no port and Service {namespace}/{name} has {} \
                             ports, not exactly one",
                            ports.len()
                        ),
                        PortDef::Number(n) => {
                            format!("backend Service {namespace}/{name} has no port {n}")
                        }
                        PortDef::Name(n) => {
                            format!("backend Service {namespace}/{name} has no port named '{n}'")
                        }
                    },
                });
            }
        };

        let source = object_ref(service.as_ref());
        let (settings, overrides) = kong_ingress::service_settings(
            cx,
            &source,
            namespace,
            Some(&service.metadata.annotations),
        );
        let targets = match service_port {
            // KIC's service-upstream: one target, the Service's cluster
            // DNS name, and kube-proxy balances.
            Some(p) if settings.service_upstream && !external => u16::try_from(p.port)
                .map(|port| vec![Target::new(format!("{name}.{namespace}.svc"), port)])
                .unwrap_or_default(),
            _ => targets,
        };
        let service_name = format!("{namespace}.{name}.{}", port.canonical());
        let tls = annotations::upstream_tls(
            cx,
            &source,
            namespace,
            Some(&service.metadata.annotations),
            settings.scheme.is_some_and(model::Scheme::is_tls),
        );
        let policy = settings.upstream_policy.as_deref();
        let balance = upstream_policy::balance(cx, &source, namespace, policy, overrides);
        let mut upstream = upstream(&service_name, source, settings, targets);
        upstream.tls = tls;
        upstream.balance = balance;
        let backend = Backend {
            service_name,
            service: Arc::clone(service),
        };
        Ok((backend, upstream))
    }
}

/// Kubernetes' port name rule (`IsValidPortName`, an IANA service name):
/// 1–15 characters of `a-z`, `0-9` and `-`, at least one letter, no `-`
/// at either end and no `--`.
fn valid_port_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=15).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.iter().any(u8::is_ascii_lowercase)
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

/// Ready endpoints of the slices whose port matches `port` by name and
/// speaks TCP: each endpoint's first address with the slice's port.
fn targets(
    slices: &BTreeMap<(&str, &str), Vec<&EndpointSlice>>,
    namespace: &str,
    name: &str,
    port: &ServicePort,
) -> Vec<Target> {
    let want = port.name.as_deref().unwrap_or_default();
    let mut targets = Vec::new();
    for slice in slices.get(&(namespace, name)).into_iter().flatten() {
        for slice_port in &slice.ports {
            let same_name = slice_port.name.as_deref().unwrap_or_default() == want;
            let tcp = slice_port.protocol.as_deref().unwrap_or("TCP") == "TCP";
            let Some(number) = slice_port.port.and_then(|p| u16::try_from(p).ok()) else {
                continue;
            };
            if !(same_name && tcp) {
                continue;
            }
            for endpoint in &slice.endpoints {
                // `ready` unset means ready (EndpointSlice API).
                if endpoint.ready != Some(false) {
                    targets.push(Target::new(endpoint.address.to_string(), number));
                }
            }
        }
    }
    targets.sort();
    targets.dedup();
    targets
}

fn external_target(external_name: Option<&str>, port: i32) -> Vec<Target> {
    match (external_name, u16::try_from(port)) {
        (Some(host), Ok(port)) if !host.is_empty() => {
            vec![Target::new(host.to_ascii_lowercase(), port)]
        }
        _ => Vec::new(),
    }
}

fn upstream(
    name: &str,
    source: ObjectRef,
    settings: ServiceSettings,
    targets: Vec<Target>,
) -> model::Service {
    let mut service = model::Service::new(name, source);
    service.path = settings.path;
    service.host_header = settings.host_header;
    if let Some(scheme) = settings.scheme {
        service.scheme = scheme;
    }
    if let Some(ms) = settings.connect_timeout_ms {
        service.connect_timeout_ms = ms;
    }
    if let Some(ms) = settings.read_timeout_ms {
        service.read_timeout_ms = ms;
    }
    if let Some(ms) = settings.write_timeout_ms {
        service.write_timeout_ms = ms;
    }
    if let Some(retries) = settings.retries {
        service.retries = retries;
    }
    service.targets = targets;
    service
}
