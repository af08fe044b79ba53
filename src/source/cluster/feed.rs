//! One watch into one store: apply watcher events, count them, tell the
//! control loop something changed, and remember whether the first full
//! list has arrived.
//!
//! The store is kingress's own rather than kube-runtime's reflector: the
//! reflector keeps a copy of each event's object under a key of four
//! strings (name, namespace, resourceVersion, uid) in a hash map, and a
//! snapshot had to sort every object into the [`Store`] translate reads.
//! Here the event's object itself is kept, under the store's key, in that
//! very ordered map: with 60,000 objects that is some 13 MiB less, and a
//! snapshot is a copy of the map.

use super::backoff::WatchBackoff;
use super::watched::Watched;
use crate::metrics::{KindLabels, Metrics};
use crate::objects::{Named, SharedStore, Store, key};
use futures::StreamExt;
use kube::Api;
use kube::runtime::utils::Backoff;
use kube::runtime::watcher;
use parking_lot::RwLock;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A change counter; receivers wake on every bump.
#[derive(Clone, Debug)]
pub(crate) struct Signal(Arc<watch::Sender<u64>>);

/// The reading side of one watch: its store and whether it has listed once.
#[derive(Clone)]
pub(crate) struct Lane<K: Named + Clone + 'static> {
    /// Objects as last seen, shared with the snapshots taken since the
    /// last change.
    store: Arc<RwLock<SharedStore<K>>>,
    ready: Arc<AtomicBool>,
}

/// Whether a replacing object names the same Secrets as the one it
/// replaces (the first argument); `false` when that is not known.
pub(crate) type Same<K> = fn(&Arc<K>, &Arc<K>) -> bool;

/// A [`Same`] for kinds whose every change may name other Secrets.
pub(crate) fn never_same<K>(_: &Arc<K>, _: &Arc<K>) -> bool {
    false
}

/// For kinds whose objects name Secrets: a signal bumped when they may
/// name others.
pub(crate) struct Refs<K> {
    /// Bumped on every change but replacements `same` lets pass.
    pub(crate) signal: Signal,
    /// See [`Same`].
    pub(crate) same: Same<K>,
}

/// The writing side of one watch.
pub(crate) struct Feed<K: Watched> {
    store: Arc<RwLock<SharedStore<K>>>,
    /// A list in progress: swapped in whole once complete.
    relist: Option<Store<K>>,
    kind: &'static str,
    metrics: Metrics,
    signals: Vec<Signal>,
    refs: Option<Refs<K>>,
    ready: Arc<AtomicBool>,
}

// === impl Signal ===

impl Signal {
    /// A fresh signal and a receiver that has seen nothing yet.
    pub(crate) fn new() -> (Self, watch::Receiver<u64>) {
        let (tx, rx) = watch::channel(0);
        (Self(Arc::new(tx)), rx)
    }

    /// Wakes every receiver.
    pub(crate) fn bump(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The number of bumps so far.
    pub(crate) fn current(&self) -> u64 {
        *self.0.borrow()
    }

    /// A receiver that has seen every bump so far.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

// === impl Lane ===

impl<K: Named + Clone + 'static> Lane<K> {
    /// Whether the first full list has been applied.
    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// The objects, in key order.
    pub(crate) fn state(&self) -> Vec<Arc<K>> {
        self.store.read().values().cloned().collect()
    }

    /// The objects, shared: no copy until the watch changes them.
    pub(crate) fn shared(&self) -> SharedStore<K> {
        Arc::clone(&self.store.read())
    }

    /// Adds every object to `out`.
    pub(crate) fn copy_into(&self, out: &mut Store<K>) {
        let store = self.store.read();
        if out.is_empty() {
            // Cloning the map copies it node by node, where inserting
            // would search for each key.
            out.clone_from(&store);
        } else {
            out.extend(store.iter().map(|(k, o)| (k.clone(), Arc::clone(o))));
        }
    }

    /// Number of objects.
    pub(crate) fn len(&self) -> usize {
        self.store.read().len()
    }
}

// === impl Feed ===

impl<K: Watched> Feed<K> {
    /// A store for `kind` whose changes bump every signal in `signals`,
    /// and `refs` as it says.
    pub(crate) fn new(
        kind: &'static str,
        metrics: Metrics,
        signals: Vec<Signal>,
        refs: Option<Refs<K>>,
    ) -> (Self, Lane<K>) {
        let store = Arc::new(RwLock::new(SharedStore::default()));
        let ready = Arc::new(AtomicBool::new(false));
        let lane = Lane {
            store: store.clone(),
            ready: ready.clone(),
        };
        let feed = Self {
            store,
            relist: None,
            kind,
            metrics,
            signals,
            refs,
            ready,
        };
        (feed, lane)
    }

    /// Applies one watcher event. A relist (`Init` … `InitDone`) is buffered
    /// and swapped in whole, so readers never see a half list; only
    /// complete states signal a change.
    pub(crate) fn apply(&mut self, event: watcher::Event<K::Wire>) {
        // Whether the objects may name other Secrets now.
        let mut refs_changed = true;
        let changed = match kept(event) {
            watcher::Event::Apply(object) => {
                self.count();
                let object: Arc<K> = Arc::new(object);
                // A copy of the map if a snapshot still holds it: a
                // snapshot never changes under its reader.
                let before =
                    Arc::make_mut(&mut self.store.write()).insert(key(&*object), object.clone());
                if let (Some(refs), Some(before)) = (&self.refs, before) {
                    refs_changed = !(refs.same)(&before, &object);
                }
                true
            }
            watcher::Event::Delete(object) => {
                self.count();
                Arc::make_mut(&mut self.store.write()).remove(&key(&object));
                true
            }
            watcher::Event::InitApply(object) => {
                self.count();
                self.relist
                    .get_or_insert_default()
                    .insert(key(&object), Arc::new(object));
                false
            }
            watcher::Event::Init => {
                self.relist = Some(Store::new());
                false
            }
            watcher::Event::InitDone => {
                *self.store.write() = Arc::new(self.relist.take().unwrap_or_default());
                self.ready.store(true, Ordering::Release);
                true
            }
        };
        if changed {
            self.signals.iter().for_each(Signal::bump);
            if let Some(refs) = self.refs.as_ref().filter(|_| refs_changed) {
                refs.signal.bump();
            }
        }
    }

    fn count(&self) {
        self.metrics
            .watch_events
            .get_or_create(&KindLabels {
                kind: self.kind.to_string(),
            })
            .inc();
    }
}

/// `event` with its object as the store keeps it.
fn kept<K: Watched>(event: watcher::Event<K::Wire>) -> watcher::Event<K> {
    use watcher::Event;
    match event {
        Event::Apply(o) => Event::Apply(K::keep(o)),
        Event::Delete(o) => Event::Delete(K::keep(o)),
        Event::InitApply(o) => Event::InitApply(K::keep(o)),
        Event::Init => Event::Init,
        Event::InitDone => Event::InitDone,
    }
}

/// Starts a watch of `api` with `config` feeding a new store. Errors are
/// logged and retried with [`WatchBackoff`] (at most a few seconds apart),
/// so a watch catches up soon after the API server returns; the store keeps
/// its last content meanwhile, and the task runs until aborted.
pub(crate) fn spawn<K: Watched>(
    api: Api<K::Wire>,
    config: watcher::Config,
    kind: &'static str,
    metrics: Metrics,
    signals: Vec<Signal>,
    refs: Option<Refs<K>>,
) -> (Lane<K>, JoinHandle<()>) {
    let (mut feed, lane) = Feed::new(kind, metrics, signals, refs);
    let task = tokio::spawn(drive(watcher(api, config), kind, move |event| {
        feed.apply(event)
    }));
    (lane, task)
}

/// Runs a watcher stream until it ends, handing each event to `apply`.
/// Errors are logged and retried with [`WatchBackoff`]; kube-runtime's
/// watcher resumes a broken watch from its last resourceVersion (bookmarks
/// keep it fresh), so only a 410 "too old" lists again.
pub(crate) async fn drive<T>(
    events: impl futures::Stream<Item = watcher::Result<watcher::Event<T>>> + Send,
    kind: &'static str,
    mut apply: impl FnMut(watcher::Event<T>) + Send,
) {
    let mut events = std::pin::pin!(events);
    let mut backoff = WatchBackoff::default();
    let mut relisting = false;
    while let Some(event) = events.next().await {
        match event {
            Ok(event) => {
                backoff.reset();
                relisting = false;
                apply(event);
            }
            Err(error) => {
                tracing::warn!(kind, %error, "watch failed; keeping the last state and retrying");
                // The watcher answers "resource version too old" by
                // listing afresh on its next poll: after an API server
                // restart every watch gets it, and waiting first would
                // leave objects created meanwhile unseen for seconds.
                // A second one in a row waits like any other error.
                if expired(&error) && !relisting {
                    relisting = true;
                    continue;
                }
                tokio::time::sleep(backoff.next().unwrap_or_default()).await;
            }
        }
    }
}

/// Whether the API server said the watch's resource version is gone (410).
fn expired(error: &watcher::Error) -> bool {
    matches!(error, watcher::Error::WatchError(response) if response.code == 410)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::Secret;
    use crate::objects::meta::LAST_APPLIED;
    use crate::objects::secret::K8sSecret;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn secret(name: &str) -> K8sSecret {
        K8sSecret {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("ns".into()),
                annotations: Some([(LAST_APPLIED.to_string(), "{\"data\":1}".to_string())].into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn names(lane: &Lane<Secret>) -> Vec<String> {
        lane.state().iter().map(|s| s.name().to_string()).collect()
    }

    #[test]
    fn only_a_gone_resource_version_relists_at_once() {
        let response = |code| kube::core::ErrorResponse {
            status: "Failure".into(),
            message: "too old resource version".into(),
            reason: "Expired".into(),
            code,
        };
        assert!(expired(&watcher::Error::WatchError(response(410))));
        assert!(!expired(&watcher::Error::WatchError(response(500))));
        assert!(!expired(&watcher::Error::NoResourceVersion));
    }

    #[test]
    fn relist_is_swapped_in_whole_and_signals_once_complete() {
        let metrics = Metrics::new();
        let (signal, mut rx) = Signal::new();
        let (mut feed, lane) = Feed::<Secret>::new("Secret", metrics.clone(), vec![signal], None);

        feed.apply(watcher::Event::Init);
        feed.apply(watcher::Event::InitApply(secret("a")));
        assert!(!lane.is_ready());
        assert!(!rx.has_changed().unwrap(), "a partial list is not a change");
        assert!(names(&lane).is_empty(), "a partial list is not visible");
        feed.apply(watcher::Event::InitDone);
        assert!(lane.is_ready());
        assert!(rx.has_changed().unwrap());
        rx.mark_unchanged();
        assert_eq!(names(&lane), ["a"]);
        let cached = lane.state();
        assert!(cached[0].annotation(LAST_APPLIED).is_none());

        feed.apply(watcher::Event::Apply(secret("b")));
        assert!(rx.has_changed().unwrap());
        rx.mark_unchanged();
        assert_eq!(names(&lane), ["a", "b"]);

        // A relist after a watch error replaces the store: `a` is gone.
        feed.apply(watcher::Event::Init);
        feed.apply(watcher::Event::InitApply(secret("b")));
        assert_eq!(
            names(&lane),
            ["a", "b"],
            "old state stays until the relist completes"
        );
        feed.apply(watcher::Event::InitDone);
        assert_eq!(names(&lane), ["b"]);

        feed.apply(watcher::Event::Delete(secret("b")));
        assert!(names(&lane).is_empty());
        assert!(
            metrics
                .encode()
                .contains("kingress_watch_events_total{kind=\"Secret\"} 4")
        );
    }

    #[test]
    fn a_snapshot_shares_the_map_until_the_watch_changes_it() {
        let (mut feed, lane) = Feed::<Secret>::new("Secret", Metrics::new(), Vec::new(), None);
        feed.apply(watcher::Event::Init);
        feed.apply(watcher::Event::InitApply(secret("a")));
        feed.apply(watcher::Event::InitDone);

        let first = lane.shared();
        assert!(
            Arc::ptr_eq(&first, &lane.shared()),
            "an unchanged kind is not copied"
        );
        feed.apply(watcher::Event::Apply(secret("b")));
        let second = lane.shared();
        assert!(!Arc::ptr_eq(&first, &second));
        assert_eq!(first.len(), 1, "a snapshot never changes under its reader");
        assert_eq!(second.len(), 2);

        // Nobody holds the last snapshot once dropped: changed in place.
        let at = Arc::as_ptr(&second);
        drop(second);
        feed.apply(watcher::Event::Delete(secret("a")));
        assert_eq!(Arc::as_ptr(&lane.shared()), at);
        assert_eq!(names(&lane), ["b"]);
    }

    #[test]
    fn a_status_write_is_a_change_but_names_the_same_secrets() {
        use crate::objects::Ingress;
        use crate::objects::ingress::K8sIngress;
        use crate::objects::spec::same_input;
        let ingress = |version: &str, class: &str, status: bool| -> K8sIngress {
            let status = if status {
                serde_json::json!({"loadBalancer": {"ingress": [{"ip": "10.0.0.9"}]}})
            } else {
                serde_json::json!({})
            };
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "web", "namespace": "ns", "resourceVersion": version},
                "spec": {"ingressClassName": class},
                "status": status
            }))
            .unwrap()
        };
        let (signal, mut rx) = Signal::new();
        let (refs, mut refs_rx) = Signal::new();
        let refs = Refs {
            signal: refs,
            same: same_input::<Ingress>,
        };
        let (mut feed, _lane) = Feed::new("Ingress", Metrics::new(), vec![signal], Some(refs));
        feed.apply(watcher::Event::Init);
        feed.apply(watcher::Event::InitApply(ingress("1", "kong", false)));
        feed.apply(watcher::Event::InitDone);
        assert!(rx.has_changed().unwrap() && refs_rx.has_changed().unwrap());
        rx.mark_unchanged();
        refs_rx.mark_unchanged();

        feed.apply(watcher::Event::Apply(ingress("2", "kong", true)));
        assert!(
            rx.has_changed().unwrap(),
            "the status is news to the status writer"
        );
        assert!(!refs_rx.has_changed().unwrap());
        rx.mark_unchanged();

        feed.apply(watcher::Event::Apply(ingress("3", "other", true)));
        assert!(rx.has_changed().unwrap() && refs_rx.has_changed().unwrap());
    }
}
