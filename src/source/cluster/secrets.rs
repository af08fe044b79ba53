//! The Secrets that Ingress TLS and plugin config name, read without a
//! connection each. One metadata-only watch of Secrets per watched
//! namespace (or one cluster-wide) says which Secrets exist and at which
//! resourceVersion, a few hundred bytes per Secret on the wire and a few
//! dozen kept; a referenced Secret's data is fetched with a GET when it
//! becomes referenced, when it appears (cert-manager often creates it after
//! the Ingress) and when its resourceVersion changes (rotation). Secrets no
//! object names are never read, and dropped from memory when the last
//! reference goes. So connections and start-up requests stay a small
//! constant however many Secrets are referenced, where one watch per Secret
//! held one connection and one LIST each.
//!
//! Referenced Secrets outside every watched namespace (a KongClusterPlugin
//! may name any) keep a per-name watch each ([`named`]).

mod fetch;
pub(super) mod named;
mod tracker;

use super::feed::{self, Lane, Signal};
use crate::metrics::{KindLabels, Metrics};
use crate::objects::Secret;
use crate::objects::secret::K8sSecret;
use crate::objects::{ObjectKey, SharedStore, Store};
use futures::channel::mpsc;
use kube::runtime::{metadata_watcher, watcher};
use kube::{Api, Client};
use named::NamedWatches;
use parking_lot::Mutex;
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tracker::{Step, Tracker};

/// The referenced Secrets: metadata watches, GETs and per-name watches.
pub(crate) struct RefSecrets {
    shared: Arc<Shared>,
    named: NamedWatches,
    /// The referring objects' change count of the last sync.
    synced: Mutex<Option<u64>>,
    tasks: Vec<JoinHandle<()>>,
}

/// What the metadata watches, the GETs and the reference tracking share.
struct Shared {
    tracker: Mutex<Tracker>,
    queue: mpsc::UnboundedSender<ObjectKey>,
    changes: Signal,
}

// === impl RefSecrets ===

impl RefSecrets {
    /// Starts the metadata watches of `namespaces` (all when empty) and the
    /// GET worker; changes of the held Secrets bump `changes`.
    pub(crate) fn new(
        client: Client,
        metrics: Metrics,
        changes: Signal,
        namespaces: &[String],
    ) -> Self {
        let scopes: Vec<Option<String>> = if namespaces.is_empty() {
            vec![None]
        } else {
            namespaces.iter().cloned().map(Some).collect()
        };
        let (queue, keys) = mpsc::unbounded();
        let shared = Arc::new(Shared {
            tracker: Mutex::new(Tracker::new(scopes.clone())),
            queue,
            changes: changes.clone(),
        });
        let mut tasks = Vec::new();
        for (index, scope) in scopes.iter().enumerate() {
            let api: Api<K8sSecret> = match scope {
                Some(ns) => Api::namespaced(client.clone(), ns),
                None => Api::all(client.clone()),
            };
            let shared = shared.clone();
            let events = metrics.watch_events.get_or_create(&KindLabels {
                kind: "SecretMetadata".to_string(),
            });
            let events = events.clone();
            let watch = metadata_watcher(api, watcher::Config::default());
            tasks.push(tokio::spawn(feed::drive(
                watch,
                "SecretMetadata",
                move |event| {
                    if !matches!(event, watcher::Event::Init | watcher::Event::InitDone) {
                        events.inc();
                    }
                    let step = shared.tracker.lock().event(index, event);
                    shared.apply(step);
                },
            )));
        }
        let named = NamedWatches::new(client.clone(), metrics, changes);
        let worker = shared.clone();
        tasks.push(tokio::spawn(async move {
            fetch::run(client, &worker, keys).await;
        }));
        Self {
            shared,
            named,
            synced: Mutex::new(None),
            tasks,
        }
    }

    /// Makes `wanted` the referenced Secrets: new ones are read, Secrets no
    /// longer named are dropped (a change when one was held). `generation`
    /// is the change count of the referring objects `wanted` was computed
    /// from.
    pub(crate) fn sync(&self, wanted: &BTreeSet<ObjectKey>, generation: u64) {
        let mut tracker = self.shared.tracker.lock();
        let (covered, outside): (BTreeSet<ObjectKey>, BTreeSet<ObjectKey>) =
            wanted.iter().cloned().partition(|k| tracker.covers(k));
        let step = tracker.want(&covered);
        drop(tracker);
        self.named.sync(&outside);
        *self.synced.lock() = Some(generation);
        self.shared.apply(step);
    }

    /// Whether the referenced Secrets were last synced from the referring
    /// objects at `generation`, and every one has been read once (a Secret
    /// that does not exist counts as read). Cheap: asked on every change.
    pub(crate) fn ready(&self, generation: u64) -> bool {
        *self.synced.lock() == Some(generation)
            && self.shared.tracker.lock().all_read()
            && self.named.unread().is_empty()
    }

    /// Referenced Secrets not read yet.
    pub(crate) fn unread(&self) -> Vec<ObjectKey> {
        let mut unread: Vec<ObjectKey> = self.shared.tracker.lock().unread().cloned().collect();
        unread.extend(self.named.unread());
        unread
    }

    /// What the held Secrets are made of: the read Secrets' change count
    /// and the per-name watches' stores. When both are as before, so are
    /// the held Secrets.
    pub(crate) fn version(&self) -> (u64, Vec<SharedStore<Secret>>) {
        let read = self.shared.tracker.lock().version();
        (read, self.named.lanes().iter().map(Lane::shared).collect())
    }

    /// Adds every held Secret to `out`.
    pub(crate) fn extend(&self, out: &mut Store<Secret>) {
        for (key, secret) in self.shared.tracker.lock().secrets() {
            out.insert(key.clone(), secret.clone());
        }
        for lane in self.named.lanes() {
            lane.copy_into(out);
        }
    }

    /// Number of referenced Secrets held in memory.
    pub(crate) fn held(&self) -> usize {
        self.shared.tracker.lock().held() + self.named.lanes().iter().map(Lane::len).sum::<usize>()
    }

    /// Number of per-name watches (referenced Secrets outside the watched
    /// namespaces).
    pub(crate) fn named_watches(&self) -> usize {
        self.named.len()
    }

    /// Number of Secrets whose resourceVersion the metadata watches keep.
    pub(crate) fn known(&self) -> usize {
        self.shared.tracker.lock().known()
    }
}

impl Drop for RefSecrets {
    fn drop(&mut self) {
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

// === impl Shared ===

impl Shared {
    /// Queues the GETs a step asks for and signals a change.
    fn apply(&self, step: Step) {
        for key in step.fetch {
            // The worker lives as long as `RefSecrets`; after that nobody
            // needs the answer.
            let _ = self.queue.unbounded_send(key);
        }
        if step.changed {
            self.changes.bump();
        }
    }
}
