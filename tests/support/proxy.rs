//! Runs kingress's proxy, status and admin listeners in-process on
//! `127.0.0.1:0` around a hand-built table, and builds small tables.
//!
//! ```ignore
//! let up = Upstream::start("a").await;
//! let proxy = TestProxy::start(table(
//!     vec![route("r", &["/"], "svc")],
//!     vec![service("svc", &[up.addr])],
//! ))
//! .await;
//! let res = client::http1().get(proxy.http_url("/x")).send().await?;
//! ```

use kingress::admin::{AdminServer, StatusServer};
use kingress::listen::Limits;
use kingress::metrics::Metrics;
use kingress::model::{ObjectRef, PathMatch, Route, Service, Shared, Table};
use kingress::plugins::{RealIp, Runtime, TrustedIps};
use kingress::proxy::{Proxy, ProxyConfig};
use kingress::publish::TableHandle;
use kingress::tokens::TokenStore;
use rustls::pki_types::CertificateDer;
use std::net::SocketAddr;
use tokio::task::JoinHandle;

/// Running listeners; they stop when this is dropped.
pub struct TestProxy {
    /// Plain HTTP proxy listener.
    pub http: SocketAddr,
    /// HTTPS proxy listener.
    pub https: SocketAddr,
    /// Status listener (`/status`, `/healthz`, `/readyz`, `/metrics`).
    pub status: SocketAddr,
    /// Admin API listener.
    pub admin: SocketAddr,
    /// The handle the listeners read; publish to change what they serve.
    pub table: TableHandle,
    /// The metrics the proxy records.
    pub metrics: Metrics,
    /// The plugin runtime (memory token store).
    pub runtime: Runtime,
    /// The proxy's generated default certificate.
    pub default_certificate: CertificateDer<'static>,
    tasks: Vec<JoinHandle<()>>,
}

/// What a test may set about the listeners; `Default` is the binary's
/// defaults with no trusted IPs.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// Peers whose `X-Forwarded-*` headers are kept.
    pub trusted_ips: TrustedIps,
    /// `--real-ip-header` and `--real-ip-recursive`.
    pub real_ip: RealIp,
    /// Connection limits of all four listeners.
    pub limits: Limits,
    /// `--underscores-in-headers`.
    pub underscores_in_headers: bool,
    /// The key key-auth keys are digested with (keys hashed at rest).
    pub api_keys: Option<kingress::secret::DigestKey>,
}

// === impl TestProxy ===

impl TestProxy {
    /// Starts everything and publishes `table` (generation 1).
    pub async fn start(table: Table) -> TestProxy {
        let proxy = Self::start_unpublished(TrustedIps::default()).await;
        proxy.table.publish(table);
        proxy
    }

    /// Starts everything with nothing published (generation 0) and the
    /// given trusted IPs.
    pub async fn start_unpublished(trusted_ips: TrustedIps) -> TestProxy {
        Self::start_settings(Settings {
            trusted_ips,
            ..Settings::default()
        })
        .await
    }

    /// Starts everything with `settings` and publishes `table`.
    pub async fn start_with(table: Table, settings: Settings) -> TestProxy {
        let proxy = Self::start_settings(settings).await;
        proxy.table.publish(table);
        proxy
    }

    async fn start_settings(settings: Settings) -> TestProxy {
        let table = TableHandle::new();
        let metrics = Metrics::new();
        let mut runtime = Runtime::new(TokenStore::memory(), settings.trusted_ips)
            .with_real_ip(settings.real_ip)
            .with_metrics(metrics.clone());
        if let Some(key) = settings.api_keys {
            runtime = runtime.digest_api_keys(key);
        }
        let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let config = ProxyConfig {
            limits: settings.limits,
            underscores_in_headers: settings.underscores_in_headers,
            ..ProxyConfig::new(loopback, loopback)
        };
        let proxy = Proxy::bind(&config, table.clone(), runtime.clone(), metrics.clone())
            .await
            .unwrap();
        let status = StatusServer::bind(loopback, table.clone(), metrics.clone(), settings.limits)
            .await
            .unwrap();
        let admin = AdminServer::bind(
            loopback,
            table.clone(),
            runtime.clone(),
            &metrics,
            settings.limits,
        )
        .await
        .unwrap();
        let (http, https) = (proxy.http_addr(), proxy.https_addr());
        let (status_addr, admin_addr) = (status.local_addr(), admin.local_addr());
        let default_certificate = proxy.default_certificate().clone();
        TestProxy {
            http,
            https,
            status: status_addr,
            admin: admin_addr,
            table,
            metrics,
            runtime,
            default_certificate,
            tasks: vec![
                tokio::spawn(proxy.serve()),
                tokio::spawn(status.serve()),
                tokio::spawn(admin.serve()),
            ],
        }
    }

    /// `http://127.0.0.1:<port><path>` on the plain proxy listener.
    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    /// `https://127.0.0.1:<port><path>` on the TLS proxy listener.
    pub fn https_url(&self, path: &str) -> String {
        format!("https://{}{path}", self.https)
    }

    /// A URL on the status listener.
    pub fn status_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.status)
    }

    /// A URL on the admin listener.
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin)
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A Kubernetes-style source reference for hand-built entities.
pub fn source(kind: &str, name: &str) -> ObjectRef {
    ObjectRef::new(kind, "default", name)
}

/// A service with Kong's defaults forwarding to `targets`.
pub fn service(name: &str, targets: &[SocketAddr]) -> Service {
    let mut service = Service::new(name, source("Service", name));
    service.targets = targets
        .iter()
        .map(|a| super::upstream::target(*a))
        .collect();
    service
}

/// A route on any host with plain-prefix `paths` to `service`: no strip,
/// no preserve-host, both protocols, 426 for https-only.
pub fn route(name: &str, paths: &[&str], service: &str) -> Route {
    Route {
        name: name.to_string(),
        source: source("Ingress", name),
        hosts: Vec::new(),
        paths: paths
            .iter()
            .map(|p| PathMatch::Plain(p.to_string()))
            .collect(),
        methods: Vec::new(),
        headers: Vec::new(),
        snis: Vec::new(),
        protocols: Vec::new(),
        https_redirect_status_code: 426,
        strip_path: false,
        path_handling: Default::default(),
        preserve_host: false,
        regex_priority: 0,
        service: Some(service.to_string()),
        plugins: Vec::new(),
        scoped: Vec::new(),
        fault: None,
    }
}

/// The table `translate` makes of `manifests` (multi-document YAML, as
/// one would `kubectl apply`); panics when translation reports a problem
/// whose reason is not in `allowed`, so a test sees the annotations it
/// wrote taken as meant.
pub fn translated(manifests: &str, allowed: &[&str]) -> Table {
    use serde::Deserialize;
    let mut objects = kingress::objects::ObjectSet::default();
    for doc in serde_yaml::Deserializer::from_str(manifests) {
        let value = serde_json::Value::deserialize(doc).unwrap();
        if !value.is_null() {
            objects.apply(kingress::objects::Object::from_value(value).unwrap());
        }
    }
    let t = kingress::translate::translate(&objects, &Default::default());
    for p in &t.problems {
        assert!(allowed.contains(&p.reason.as_str()), "unexpected {p:?}");
    }
    t.table
}

/// Manifests for Service `name` whose one endpoint is `upstream`, for
/// [`translated`].
pub fn service_manifests(name: &str, upstream: SocketAddr) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\n\
         spec: {{ports: [{{name: http, port: 80}}]}}\n---\n\
         apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n\
         metadata: {{name: {name}-1, labels: {{kubernetes.io/service-name: {name}}}}}\n\
         addressType: IPv4\nports: [{{name: http, port: {port}}}]\n\
         endpoints: [{{addresses: [\"{ip}\"]}}]\n",
        port = upstream.port(),
        ip = upstream.ip()
    )
}

/// A table of `routes` and `services` (keyed by name).
pub fn table(routes: Vec<Route>, services: Vec<Service>) -> Table {
    Table {
        routes: routes.into_iter().map(Shared::new).collect(),
        services: services.into_iter().map(|s| (s.name.clone(), s)).collect(),
        ..Table::default()
    }
}
