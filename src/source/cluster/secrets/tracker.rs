//! Which referenced Secrets must be read, and what is held of them. Pure
//! state, no I/O: the metadata watches report which Secrets exist at which
//! resourceVersion, the reference tracking says which are wanted, and the
//! tracker answers which Secrets to GET. Only wanted Secrets' data is held;
//! of the others only the resourceVersion (a few dozen bytes each) is
//! kept, so a Secret that becomes referenced later is known to exist.

use crate::objects::Secret;
use crate::objects::secret::K8sSecret;
use crate::objects::{Named, ObjectKey};
use kube::ResourceExt;
use kube::core::PartialObjectMeta;
use kube::runtime::watcher::Event;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The Secrets of the watched namespaces, as far as they matter.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    scopes: Vec<Scope>,
    /// resourceVersion of every Secret the metadata watches listed.
    versions: BTreeMap<ObjectKey, String>,
    /// The wanted Secrets.
    entries: BTreeMap<ObjectKey, Entry>,
    /// Wanted Secrets not read yet: readiness is asked on every change, so
    /// it is counted, not searched for.
    unread: usize,
    /// Counts every change of a held Secret (read, replaced or dropped), so
    /// a copy of [`secrets`](Self::secrets) can tell it is still current.
    version: u64,
}

/// What a metadata watch covers: one namespace, or all (`None`).
#[derive(Debug, Default)]
struct Scope {
    namespace: Option<String>,
    listed: bool,
    /// A relist in progress: swapped in whole at `InitDone`.
    relist: Option<BTreeMap<ObjectKey, String>>,
}

#[derive(Debug, Default)]
struct Entry {
    secret: Option<Arc<Secret>>,
    /// Read at least once (present or known absent).
    read: bool,
    in_flight: bool,
    /// Changed while a GET was in flight: GET again when it returns.
    again: bool,
}

/// What the caller does after a step: GET these Secrets, and tell the
/// control loop when what is held changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Step {
    /// Secrets to GET (each is marked in flight until [`Tracker::fetched`]).
    pub(crate) fetch: Vec<ObjectKey>,
    /// Whether the held Secrets changed.
    pub(crate) changed: bool,
}

// === impl Tracker ===

impl Tracker {
    /// One scope per metadata watch: `None` for cluster-wide.
    pub(crate) fn new(scopes: impl IntoIterator<Item = Option<String>>) -> Self {
        Self {
            scopes: scopes
                .into_iter()
                .map(|namespace| Scope {
                    namespace,
                    ..Scope::default()
                })
                .collect(),
            ..Self::default()
        }
    }

    /// Whether a metadata watch covers `key`'s namespace.
    pub(crate) fn covers(&self, key: &ObjectKey) -> bool {
        self.scope_of(key).is_some()
    }

    /// Makes `wanted` (covered keys only) the wanted set: Secrets no longer
    /// wanted are dropped from memory, new ones read.
    pub(crate) fn want<'a>(&mut self, wanted: impl IntoIterator<Item = &'a ObjectKey>) -> Step {
        let wanted: std::collections::BTreeSet<&ObjectKey> = wanted.into_iter().collect();
        let mut step = Step::default();
        let mut dropped_data = false;
        let unread = &mut self.unread;
        self.entries.retain(|key, entry| {
            let keep = wanted.contains(&key);
            dropped_data |= !keep && entry.secret.is_some();
            *unread -= usize::from(!keep && !entry.read);
            keep
        });
        step.changed = dropped_data;
        self.version += u64::from(dropped_data);
        for key in wanted {
            if !self.entries.contains_key(key) {
                self.entries.insert(key.clone(), Entry::default());
                self.unread += 1;
                self.refresh(key, &mut step);
            }
        }
        step
    }

    /// Applies one event of the metadata watch of scope `scope`.
    pub(crate) fn event(
        &mut self,
        scope: usize,
        event: Event<PartialObjectMeta<K8sSecret>>,
    ) -> Step {
        let mut step = Step::default();
        let Some(s) = self.scopes.get_mut(scope) else {
            return step;
        };
        match event {
            Event::Init => s.relist = Some(BTreeMap::new()),
            Event::InitApply(meta) => {
                let (key, rv) = identity(&meta);
                s.relist.get_or_insert_with(BTreeMap::new).insert(key, rv);
            }
            Event::InitDone => {
                let listed = s.relist.take().unwrap_or_default();
                s.listed = true;
                let namespace = s.namespace.clone();
                let inside = |key: &ObjectKey| namespace.as_ref().is_none_or(|ns| *ns == key.0);
                self.versions.retain(|key, _| !inside(key));
                self.versions.extend(listed);
                let keys: Vec<ObjectKey> =
                    self.entries.keys().filter(|k| inside(k)).cloned().collect();
                for key in &keys {
                    self.refresh(key, &mut step);
                }
            }
            Event::Apply(meta) => {
                let (key, rv) = identity(&meta);
                self.versions.insert(key.clone(), rv);
                self.refresh(&key, &mut step);
            }
            Event::Delete(meta) => {
                let (key, _) = identity(&meta);
                self.versions.remove(&key);
                self.refresh(&key, &mut step);
            }
        }
        step
    }

    /// A GET of `key` answered: the Secret, or `None` when it does not exist.
    pub(crate) fn fetched(&mut self, key: &ObjectKey, secret: Option<Secret>) -> Step {
        let mut step = Step::default();
        let Some(entry) = self.entries.get_mut(key) else {
            // No longer wanted: nothing is kept.
            return step;
        };
        entry.in_flight = false;
        let rv =
            |s: &Option<Arc<Secret>>| s.as_ref().map(|s| s.resource_version().map(str::to_string));
        let secret = secret.map(Arc::new);
        step.changed = !entry.read || rv(&entry.secret) != rv(&secret);
        self.unread -= usize::from(!entry.read);
        entry.read = true;
        entry.secret = secret;
        self.version += 1;
        if std::mem::take(&mut entry.again) {
            self.refresh(key, &mut step);
        }
        step
    }

    /// Whether `key` is still wanted (a GET retrying gives up when not).
    pub(crate) fn is_wanted(&self, key: &ObjectKey) -> bool {
        self.entries.contains_key(key)
    }

    /// Whether `key` has been read (present or known absent).
    #[cfg(test)]
    pub(crate) fn is_read(&self, key: &ObjectKey) -> bool {
        self.entries.get(key).is_some_and(|e| e.read)
    }

    /// Whether every wanted Secret has been read.
    pub(crate) fn all_read(&self) -> bool {
        self.unread == 0
    }

    /// The wanted Secrets not read yet.
    pub(crate) fn unread(&self) -> impl Iterator<Item = &ObjectKey> {
        self.entries.iter().filter(|(_, e)| !e.read).map(|(k, _)| k)
    }

    /// The wanted Secrets that exist, as last read.
    pub(crate) fn secrets(&self) -> impl Iterator<Item = (&ObjectKey, &Arc<Secret>)> {
        self.entries
            .iter()
            .filter_map(|(k, e)| e.secret.as_ref().map(|s| (k, s)))
    }

    /// Changes of the held Secrets so far.
    pub(crate) fn version(&self) -> u64 {
        self.version
    }

    /// Number of Secrets whose data is held.
    pub(crate) fn held(&self) -> usize {
        self.secrets().count()
    }

    /// Number of Secrets whose resourceVersion is known.
    pub(crate) fn known(&self) -> usize {
        self.versions.len()
    }

    fn scope_of(&self, key: &ObjectKey) -> Option<&Scope> {
        self.scopes
            .iter()
            .find(|s| s.namespace.as_ref().is_none_or(|ns| *ns == key.0))
    }

    /// Brings one wanted Secret in line with what the watch last said:
    /// GET it when its version differs from what is held, forget it when
    /// the watch says it is gone. Waits for the covering watch's first list.
    fn refresh(&mut self, key: &ObjectKey, step: &mut Step) {
        if !self.scope_of(key).is_some_and(|s| s.listed) {
            return;
        }
        let version = self.versions.get(key);
        let Some(entry) = self.entries.get_mut(key) else {
            return;
        };
        if entry.in_flight {
            entry.again = true;
            return;
        }
        match version {
            None => {
                step.changed |= !entry.read || entry.secret.is_some();
                self.version += u64::from(entry.secret.is_some());
                self.unread -= usize::from(!entry.read);
                entry.read = true;
                entry.secret = None;
            }
            Some(rv) => {
                let held = entry.secret.as_ref().map(|s| s.resource_version());
                if !entry.read || held.flatten() != Some(rv.as_str()) {
                    entry.in_flight = true;
                    step.fetch.push(key.clone());
                }
            }
        }
    }
}

fn identity(meta: &PartialObjectMeta<K8sSecret>) -> (ObjectKey, String) {
    (
        (meta.namespace().unwrap_or_default(), meta.name_any()),
        meta.resource_version().unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests;
