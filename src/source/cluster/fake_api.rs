//! A tiny Kubernetes API server on a loopback socket, for tests: list and
//! watch (with resource versions, field and label selectors), get, create,
//! replace, merge-patch (also of `/status`) and delete of JSON objects, and
//! an outage switch. Just enough of the protocol that `kube::Client` and
//! kube-runtime watchers run against it unchanged.

use bytes::Bytes;
use futures::channel::mpsc;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use parking_lot::Mutex;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use wire::{
    Target, collection, json_response, key_of, merge, selected, shaped, status, target, too_many,
    wants_metadata,
};

mod serve;
mod wire;

type Body = BoxBody<Bytes, Infallible>;
/// `(collection, namespace, name)`; collection like `api/v1/secrets`.
type Key = (String, String, String);

/// The fake server; stops when dropped.
pub(crate) struct FakeApi {
    inner: Arc<Inner>,
    addr: SocketAddr,
    /// The certificate (DER) clients trust, when served behind TLS.
    ca: Option<Vec<u8>>,
    accepted: Arc<AtomicUsize>,
    server: JoinHandle<()>,
}

struct Inner {
    state: Mutex<State>,
    events: broadcast::Sender<Entry>,
}

#[derive(Default)]
struct State {
    rv: u64,
    objects: BTreeMap<Key, Value>,
    log: Vec<Entry>,
    requests: Vec<String>,
    down: bool,
    /// Requests still to turn away with 429 and this `Retry-After`.
    throttle: (u32, u64),
    /// Collections whose CRD is "not installed": 404, and left out of
    /// discovery.
    missing: std::collections::BTreeSet<String>,
}

#[derive(Clone, Debug)]
enum Entry {
    Event {
        rv: u64,
        collection: String,
        namespace: String,
        kind: &'static str,
        object: Value,
    },
    /// Ends every open watch (outage).
    Close,
}

// === impl FakeApi ===

impl FakeApi {
    /// Starts the server on `127.0.0.1:0`, speaking plain HTTP/1.1.
    pub(crate) async fn start() -> Self {
        Self::start_with(None).await
    }

    /// Starts the server on `127.0.0.1:0` behind TLS, offering HTTP/2 and
    /// HTTP/1.1 by ALPN as kube-apiserver does.
    pub(crate) async fn start_tls() -> Self {
        Self::start_with(Some(serve::tls_identity())).await
    }

    async fn start_with(tls: Option<(tokio_rustls::TlsAcceptor, Vec<u8>)>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let inner = Arc::new(Inner {
            state: Mutex::new(State::default()),
            events: broadcast::channel(4096).0,
        });
        let accepted = Arc::new(AtomicUsize::new(0));
        let (acceptor, ca) = tls.unzip();
        let server = tokio::spawn(serve::accept(
            listener,
            inner.clone(),
            acceptor,
            accepted.clone(),
        ));
        Self {
            inner,
            addr,
            ca,
            accepted,
            server,
        }
    }

    /// How kube reaches this server: its URL and, behind TLS, the
    /// certificate to trust.
    pub(crate) fn config(&self) -> kube::Config {
        let scheme = if self.ca.is_some() { "https" } else { "http" };
        let mut config = kube::Config::new(format!("{scheme}://{}", self.addr).parse().unwrap());
        config.root_cert = self.ca.clone().map(|ca| vec![ca]);
        config
    }

    /// A client talking to this server with kube's own stack, default
    /// namespace `default`.
    pub(crate) fn client(&self) -> kube::Client {
        kube::Client::try_from(self.config()).unwrap()
    }

    /// TCP connections accepted so far.
    pub(crate) fn connections(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Serves `kind` no more, as if its CRD were not installed.
    pub(crate) fn uninstall(&self, api_version: &str, kind: &str) {
        self.inner
            .state
            .lock()
            .missing
            .insert(collection(api_version, kind));
    }

    /// Creates or replaces an object (with `apiVersion`, `kind`, metadata).
    pub(crate) fn apply(&self, object: Value) {
        let key = key_of(&object);
        self.inner.store(key, object);
    }

    /// Deletes an object by kind, namespace (empty for cluster-scoped) and name.
    pub(crate) fn delete(&self, api_version: &str, kind: &str, namespace: &str, name: &str) {
        let key = (
            collection(api_version, kind),
            namespace.to_string(),
            name.to_string(),
        );
        self.inner.remove(&key);
    }

    /// The stored object, if any.
    pub(crate) fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Option<Value> {
        let key = (
            collection(api_version, kind),
            namespace.to_string(),
            name.to_string(),
        );
        self.inner.state.lock().objects.get(&key).cloned()
    }

    /// Every stored object of a kind.
    pub(crate) fn list(&self, api_version: &str, kind: &str) -> Vec<Value> {
        let c = collection(api_version, kind);
        let state = self.inner.state.lock();
        state
            .objects
            .iter()
            .filter(|(k, _)| k.0 == c)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Every request so far, as `METHOD path?query`.
    pub(crate) fn requests(&self) -> Vec<String> {
        self.inner.state.lock().requests.clone()
    }

    /// Answers the next `count` requests with 429 and `Retry-After:
    /// retry_after` seconds, as API Priority and Fairness does.
    pub(crate) fn throttle(&self, count: u32, retry_after: u64) {
        self.inner.state.lock().throttle = (count, retry_after);
    }

    /// Simulates the API server going away (every request fails, open
    /// watches end) or coming back.
    pub(crate) fn set_down(&self, down: bool) {
        self.inner.state.lock().down = down;
        if down {
            let _ = self.inner.events.send(Entry::Close);
        }
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.server.abort();
        let _ = self.inner.events.send(Entry::Close);
    }
}

// === impl Inner ===

impl Inner {
    async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let metadata_only = wants_metadata(req.headers());
        let query: BTreeMap<String, String> = req
            .uri()
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        {
            let mut state = self.state.lock();
            let q = req
                .uri()
                .query()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            let shape = if metadata_only { " (metadata)" } else { "" };
            state.requests.push(format!("{method} {path}{q}{shape}"));
            if state.down {
                return status(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ServiceUnavailable",
                    "down",
                );
            }
            if state.throttle.0 > 0 {
                state.throttle.0 -= 1;
                return too_many(state.throttle.1);
            }
        }
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if let Some(list) = self.discovery(&path) {
            return json_response(StatusCode::OK, &list);
        }
        let Some(t) = target(&path) else {
            return status(StatusCode::NOT_FOUND, "NotFound", "unknown path");
        };
        if self.state.lock().missing.contains(&t.collection) {
            return status(
                StatusCode::NOT_FOUND,
                "NotFound",
                "the server could not find the requested resource",
            );
        }
        match (method, &t.name) {
            (Method::GET, None) if query.get("watch").map(String::as_str) == Some("true") => {
                self.watch(t, &query, metadata_only)
            }
            (Method::GET, None) => self.list_response(&t, &query, metadata_only),
            (Method::GET, Some(name)) => match self.state.lock().objects.get(&t.key(name)) {
                Some(o) => json_response(StatusCode::OK, o),
                None => status(StatusCode::NOT_FOUND, "NotFound", "not found"),
            },
            (Method::POST, None) => {
                let mut object = body;
                object["metadata"]["namespace"] = json!(t.namespace.clone().unwrap_or_default());
                let name = object["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                if self.state.lock().objects.contains_key(&t.key(&name)) {
                    return status(StatusCode::CONFLICT, "AlreadyExists", "already exists");
                }
                let stored = self.store(t.key(&name), object);
                json_response(StatusCode::CREATED, &stored)
            }
            (Method::PUT, Some(name)) => {
                let key = t.key(name);
                let current = self.state.lock().objects.get(&key).cloned();
                let Some(current) = current else {
                    return status(StatusCode::NOT_FOUND, "NotFound", "not found");
                };
                let want = &body["metadata"]["resourceVersion"];
                if !want.is_null() && *want != current["metadata"]["resourceVersion"] {
                    return status(
                        StatusCode::CONFLICT,
                        "Conflict",
                        "the object has been modified",
                    );
                }
                let stored = self.store(key, body);
                json_response(StatusCode::OK, &stored)
            }
            (Method::PATCH, Some(name)) => {
                let key = t.key(name);
                let current = self.state.lock().objects.get(&key).cloned();
                let Some(mut object) = current else {
                    return status(StatusCode::NOT_FOUND, "NotFound", "not found");
                };
                merge(&mut object, &body);
                let stored = self.store(key, object);
                json_response(StatusCode::OK, &stored)
            }
            (Method::DELETE, Some(name)) => match self.remove(&t.key(name)) {
                Some(o) => json_response(StatusCode::OK, &o),
                None => status(StatusCode::NOT_FOUND, "NotFound", "not found"),
            },
            _ => status(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "unsupported",
            ),
        }
    }

    /// `GET /apis/{group}/{version}`: the resources of the kinds kingress
    /// watches in that group version, less the uninstalled ones.
    fn discovery(&self, path: &str) -> Option<Value> {
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        let ["apis", group, version] = segs[..] else {
            return None;
        };
        let api_version = format!("{group}/{version}");
        let kinds: &[&str] = match api_version.as_str() {
            "configuration.konghq.com/v1" => &["KongPlugin", "KongClusterPlugin", "KongConsumer"],
            "configuration.konghq.com/v1beta1" => &["KongConsumerGroup", "TCPIngress"],
            "configuration.konghq.com/v1alpha1" => &["KongVault"],
            "networking.k8s.io/v1" => &["Ingress", "IngressClass"],
            _ => &[],
        };
        let state = self.state.lock();
        let resources: Vec<Value> = kinds
            .iter()
            .map(|kind| (kind, collection(&api_version, kind)))
            .filter(|(_, c)| !state.missing.contains(c))
            .map(|(kind, c)| {
                let name = c.rsplit('/').next().unwrap_or_default().to_string();
                json!({"name": name, "singularName": kind.to_lowercase(), "namespaced": true,
                       "kind": kind, "verbs": ["get", "list", "watch"]})
            })
            .collect();
        Some(json!({"kind": "APIResourceList", "apiVersion": "v1",
                    "groupVersion": api_version, "resources": resources}))
    }

    /// Stores `object` under a new resource version and logs the event.
    fn store(&self, key: Key, mut object: Value) -> Value {
        let mut state = self.state.lock();
        state.rv += 1;
        let rv = state.rv;
        let existed = state.objects.contains_key(&key);
        let meta = &mut object["metadata"];
        meta["resourceVersion"] = json!(rv.to_string());
        if !key.1.is_empty() {
            meta["namespace"] = json!(key.1);
        }
        if meta["uid"].is_null() {
            meta["uid"] = json!(format!(
                "uid-{}-{}-{}",
                key.0.replace('/', "-"),
                key.1,
                key.2
            ));
        }
        if meta["creationTimestamp"].is_null() {
            meta["creationTimestamp"] = json!("2024-01-01T00:00:00Z");
        }
        if meta["generation"].is_null() {
            meta["generation"] = json!(1);
        }
        state.objects.insert(key.clone(), object.clone());
        let kind = if existed { "MODIFIED" } else { "ADDED" };
        self.log(&mut state, rv, key, kind, object.clone());
        object
    }

    fn remove(&self, key: &Key) -> Option<Value> {
        let mut state = self.state.lock();
        let object = state.objects.remove(key)?;
        state.rv += 1;
        let rv = state.rv;
        self.log(&mut state, rv, key.clone(), "DELETED", object.clone());
        Some(object)
    }

    /// Appends to the log and broadcasts under the state lock, so a watch
    /// that subscribes under the same lock sees every event exactly once.
    fn log(&self, state: &mut State, rv: u64, key: Key, kind: &'static str, object: Value) {
        let entry = Entry::Event {
            rv,
            collection: key.0,
            namespace: key.1,
            kind,
            object,
        };
        state.log.push(entry.clone());
        let _ = self.events.send(entry);
    }

    fn list_response(
        &self,
        t: &Target,
        query: &BTreeMap<String, String>,
        metadata_only: bool,
    ) -> Response<Body> {
        let state = self.state.lock();
        let items: Vec<Value> = state
            .objects
            .iter()
            .filter(|((c, ns, _), o)| t.matches(c, ns) && selected(o, query))
            .map(|(_, o)| shaped(o, metadata_only))
            .collect();
        let list = json!({
            "apiVersion": "v1",
            "kind": "List",
            "metadata": {"resourceVersion": state.rv.to_string()},
            "items": items,
        });
        json_response(StatusCode::OK, &list)
    }

    fn watch(
        &self,
        t: Target,
        query: &BTreeMap<String, String>,
        metadata_only: bool,
    ) -> Response<Body> {
        let since: u64 = query
            .get("resourceVersion")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let (tx, rx) = mpsc::unbounded::<Result<Frame<Bytes>, Infallible>>();
        let query = query.clone();
        let send = move |entry: &Entry| -> bool {
            match entry {
                Entry::Close => false,
                Entry::Event {
                    rv,
                    collection,
                    namespace,
                    kind,
                    object,
                } => {
                    if *rv <= since
                        || !t.matches(collection, namespace)
                        || !selected(object, &query)
                    {
                        return true;
                    }
                    let object = shaped(object, metadata_only);
                    let line = format!("{}\n", json!({"type": kind, "object": object}));
                    tx.unbounded_send(Ok(Frame::data(Bytes::from(line))))
                        .is_ok()
                }
            }
        };
        let mut events = {
            let state = self.state.lock();
            for entry in &state.log {
                send(entry);
            }
            self.events.subscribe()
        };
        tokio::spawn(async move {
            // A lagging watch ends; the watcher re-watches from its last
            // version and the log replays what it missed.
            while let Ok(entry) = events.recv().await {
                if !send(&entry) {
                    return;
                }
            }
        });
        Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json")
            .body(BodyExt::boxed(StreamBody::new(rx)))
            .unwrap()
    }
}
