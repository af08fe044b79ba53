//! Reloads that read only what changed. Parsing YAML into Kubernetes objects
//! costs tens of microseconds per object, so re-reading ten thousand objects
//! because one file was edited takes seconds; the [`Loader`] keeps each
//! file's parsed objects and re-parses a file only when its content changed.
//!
//! A file is read again when the watcher named it (or a directory above it)
//! or its metadata (size, times, inode) differs from the last load; it is
//! parsed again only when the SHA-256 of what was read differs. Watcher
//! events alone are not trusted (inotify drops events on overflow) and
//! metadata alone is not either (an edit within one timestamp tick that
//! keeps the size leaves it unchanged), so either one triggers a read.
//!
//! A bad document is refused on its own (`ObjectSet::refused`, reported by
//! translate) and the rest is served; a file with bad documents is parsed
//! once per distinct content like any other, and a file larger than the
//! size limit or unreadable is refused whole, before it is parsed. A file of a
//! directory that is gone by the time it is read (deleted, or a dangling
//! symlink mid-swap) counts as deleted: its removal is an event of its own,
//! and failing the whole reload would keep every other edit unpublished. The watcher
//! (`watch`) reports only changes that can concern a manifest.

mod parsed;
mod watch;

use super::{DEFAULT_MAX_SIZE, LoadError, load_text, manifest_files};
use crate::metrics::{Metrics, OutcomeLabels};
use crate::objects::ObjectSet;
use parking_lot::Mutex;
use parsed::Parsed;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// Manifests under one path, remembered file by file between loads.
pub struct Loader {
    /// The path as given (file and error names are built from it).
    root: PathBuf,
    /// `root` made absolute, as watcher events name paths under it.
    absolute_root: PathBuf,
    /// Every manifest file of the last good load, in load order.
    files: BTreeMap<PathBuf, Cached>,
    /// The union of `files`, patched where files changed.
    merged: Arc<ObjectSet>,
    /// Paths the watcher named since the last load.
    dirty: Arc<Mutex<Dirty>>,
    /// Files larger than this are refused, bytes.
    max_size: u64,
    /// Where loads and parses are counted.
    metrics: Option<Metrics>,
}

/// One file as of the last load.
struct Cached {
    /// `None` when its metadata could not be read (it is read again).
    stamp: Option<Stamp>,
    digest: [u8; 32],
    objects: Arc<Parsed>,
}

/// What the watcher saw change since the last load.
#[derive(Debug, Default)]
struct Dirty {
    /// Absolute paths of changed files or directories.
    paths: HashSet<PathBuf>,
    /// Events were lost (or named no path): read every file.
    all: bool,
}

/// File metadata that changes whenever the content does, except within
/// one timestamp tick at the same size.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    inode: (u64, u64),
    #[cfg(unix)]
    changed: (i64, i64),
}

// === impl Loader ===

impl Loader {
    /// A loader for the file or directory `root`; nothing is read yet.
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            absolute_root: std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf()),
            files: BTreeMap::new(),
            merged: Arc::default(),
            dirty: Arc::default(),
            max_size: DEFAULT_MAX_SIZE,
            metrics: None,
        }
    }

    /// Refuses files larger than `bytes` (a load fails naming the file).
    pub fn with_max_size(mut self, bytes: u64) -> Self {
        self.max_size = bytes;
        self
    }

    /// Counts loads (`manifest_loads`) and files parsed
    /// (`manifest_parses`) in `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Reads every manifest under the root into an object set, re-reading
    /// and re-parsing only what changed since the last load. A file or
    /// document that cannot be read is in the set's `refused` and the rest
    /// is served; only a root that cannot be listed fails the load (and
    /// leaves the loader as it was, so the next load tries again).
    ///
    /// An object of a file that did not change is the same `Arc` as in the
    /// last load (translate's memo relies on that to skip it).
    pub fn load(&mut self) -> Result<Arc<ObjectSet>, LoadError> {
        let dirty = std::mem::take(&mut *self.dirty.lock());
        let result = self.refresh(&dirty);
        if let Some(m) = &self.metrics {
            // A load with a refused file or document counts as an error.
            let refused = result.as_ref().map_or(true, |files| {
                files.values().any(|c| !c.objects.refused.is_empty())
            });
            let outcome = if refused { "error" } else { "ok" };
            m.manifest_loads
                .get_or_create(&OutcomeLabels {
                    outcome: outcome.into(),
                })
                .inc();
        }
        match result {
            Ok(files) => {
                let old = std::mem::replace(&mut self.files, files);
                self.remerge(&old);
                Ok(Arc::clone(&self.merged))
            }
            Err(e) => {
                let mut pending = self.dirty.lock();
                pending.all |= dirty.all;
                pending.paths.extend(dirty.paths);
                Err(e)
            }
        }
    }

    /// The cache entries of the current files: reused, or read and parsed
    /// (a file that cannot be read is an entry holding only its refusal).
    fn refresh(&self, dirty: &Dirty) -> Result<BTreeMap<PathBuf, Cached>, LoadError> {
        let mut files = BTreeMap::new();
        for file in manifest_files(&self.root)? {
            let meta = match std::fs::metadata(&file) {
                Err(e) if self.vanished(&file, &e) => continue,
                Err(source) => {
                    let e = LoadError::Io {
                        path: file.clone(),
                        source,
                    };
                    files.insert(file.clone(), Cached::refused(&file, None, &e));
                    continue;
                }
                Ok(meta) => meta,
            };
            let stamp = Stamp::of(&meta);
            let old = self.files.get(&file);
            if let Some(old) = old
                && old.stamp.as_ref() == Some(&stamp)
                && !self.named(dirty, &file)
            {
                files.insert(file, old.clone());
                continue;
            }
            let text = match self.read(&file, stamp.len) {
                Err(LoadError::Io { source, .. }) if self.vanished(&file, &source) => continue,
                Err(e) => {
                    files.insert(file.clone(), Cached::refused(&file, Some(stamp), &e));
                    continue;
                }
                Ok(text) => text,
            };
            let digest: [u8; 32] = Sha256::digest(text.as_bytes()).into();
            let objects = match old {
                Some(old) if old.digest == digest => Arc::clone(&old.objects),
                _ => {
                    if let Some(m) = &self.metrics {
                        m.manifest_parses.inc();
                    }
                    let mut objects = ObjectSet::default();
                    load_text(&file, &text, &mut objects);
                    Arc::new(Parsed::from(objects))
                }
            };
            let entry = Cached {
                stamp: Some(stamp),
                digest,
                objects,
            };
            files.insert(file, entry);
        }
        Ok(files)
    }

    /// The objects of the last good load (empty before the first).
    pub fn objects(&self) -> Arc<ObjectSet> {
        Arc::clone(&self.merged)
    }

    /// The text of `file` (`len` bytes by its metadata), within the size
    /// limit.
    fn read(&self, file: &Path, len: u64) -> Result<String, LoadError> {
        super::read_limited(file, len, self.max_size)
    }

    /// Brings `merged` up to date with `files` (was `old`): only the keys
    /// of files that changed are looked up again, unless so much changed
    /// that merging everything again is cheaper.
    fn remerge(&mut self, old: &BTreeMap<PathBuf, Cached>) {
        let mut changed: Vec<&Parsed> = Vec::new();
        let (mut a, mut b) = (old.iter().peekable(), self.files.iter().peekable());
        loop {
            let (next_a, next_b) = (a.peek(), b.peek());
            match (next_a, next_b) {
                (None, None) => break,
                (Some((pa, ca)), Some((pb, cb))) if pa == pb => {
                    if !Arc::ptr_eq(&ca.objects, &cb.objects) {
                        changed.push(&ca.objects);
                        changed.push(&cb.objects);
                    }
                    a.next();
                    b.next();
                }
                (Some((pa, ca)), Some((pb, _))) if pa < pb => {
                    changed.push(&ca.objects);
                    a.next();
                }
                (Some((_, ca)), None) => {
                    changed.push(&ca.objects);
                    a.next();
                }
                (_, Some((_, cb))) => {
                    changed.push(&cb.objects);
                    b.next();
                }
            }
        }
        let changed_objects: usize = changed.iter().map(|o| o.len).sum();
        let first = old.is_empty() && self.merged.is_empty();
        if first || changed_objects.saturating_mul(self.files.len()) > self.merged.len() {
            self.merged = Arc::new(merge(self.files.values().map(|c| c.objects.as_ref())));
            return;
        }
        if changed.is_empty() {
            return;
        }
        let merged = Arc::make_mut(&mut self.merged);
        let files = &self.files;
        // The object a key names is the one of the last file holding it.
        macro_rules! patch {
            ($field:ident) => {
                let keys: std::collections::BTreeSet<crate::objects::ObjectKey> = changed
                    .iter()
                    .flat_map(|o| o.$field.iter().map(|x| parsed::key(&**x)))
                    .collect();
                for key in keys {
                    let winner = files
                        .values()
                        .rev()
                        .find_map(|c| parsed::find(&c.objects.$field, &key));
                    match winner {
                        Some(object) => {
                            Arc::make_mut(&mut merged.$field).insert(key, Arc::clone(object));
                        }
                        None => {
                            Arc::make_mut(&mut merged.$field).remove(&key);
                        }
                    }
                }
            };
        }
        patch!(ingress_classes);
        patch!(ingresses);
        patch!(services);
        patch!(endpoint_slices);
        patch!(secrets);
        patch!(kong_plugins);
        patch!(kong_cluster_plugins);
        patch!(kong_consumers);
        patch!(kong_consumer_groups);
        patch!(kong_upstream_policies);
        patch!(kong_ingresses);
        patch!(config_maps);
        merged.declarative = files
            .values()
            .flat_map(|c| c.objects.declarative.iter().cloned())
            .collect();
        merged.refused = files
            .values()
            .flat_map(|c| c.objects.refused.iter().cloned())
            .collect();
        merged.unserved = files
            .values()
            .flat_map(|c| c.objects.unserved.iter().cloned())
            .collect();
    }

    /// Whether `error` says that `file`, listed in the root directory, is
    /// gone. The root itself missing stays an error: that is a mistake, not
    /// an edit.
    fn vanished(&self, file: &Path, error: &std::io::Error) -> bool {
        let gone = error.kind() == std::io::ErrorKind::NotFound && file != self.root;
        if gone {
            tracing::debug!(file = %file.display(), "manifest file vanished before it was read; counting it as deleted");
        }
        gone
    }

    /// Whether the watcher named `file` or a directory above it.
    fn named(&self, dirty: &Dirty, file: &Path) -> bool {
        if dirty.all {
            return true;
        }
        if dirty.paths.is_empty() {
            return false;
        }
        let relative = file.strip_prefix(&self.root).unwrap_or(file);
        let absolute = if relative.as_os_str().is_empty() {
            self.absolute_root.clone()
        } else {
            self.absolute_root.join(relative)
        };
        absolute.ancestors().any(|p| dirty.paths.contains(p))
    }
}

impl std::fmt::Debug for Loader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loader")
            .field("root", &self.root)
            .field("files", &self.files.len())
            .finish()
    }
}

// === impl Cached ===

impl Cached {
    /// The entry of a file that could not be read: no objects, its refusal.
    fn refused(file: &Path, stamp: Option<Stamp>, e: &LoadError) -> Self {
        let mut objects = ObjectSet::default();
        super::refuse(&mut objects, file, None, e);
        Self {
            stamp,
            digest: [0; 32],
            objects: Arc::new(Parsed::from(objects)),
        }
    }
}

impl Clone for Cached {
    fn clone(&self) -> Self {
        Self {
            stamp: self.stamp.clone(),
            digest: self.digest,
            objects: Arc::clone(&self.objects),
        }
    }
}

// === impl Stamp ===

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Self {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        Self {
            len: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            inode: (meta.dev(), meta.ino()),
            #[cfg(unix)]
            changed: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// The union of per-file object sets in load order: an object defined in
/// several files is the one of the last file, as when the files are applied
/// one after the other.
fn merge<'a>(parts: impl Iterator<Item = &'a Parsed> + Clone) -> ObjectSet {
    // `collect` into a BTreeMap keeps the last value of equal keys and
    // builds the tree in one pass from the (stably) sorted pairs.
    macro_rules! union {
        ($field:ident) => {
            Arc::new(
                parts
                    .clone()
                    .flat_map(|p| p.$field.iter().map(|v| (parsed::key(&**v), Arc::clone(v))))
                    .collect(),
            )
        };
    }
    ObjectSet {
        ingress_classes: union!(ingress_classes),
        ingresses: union!(ingresses),
        services: union!(services),
        endpoint_slices: union!(endpoint_slices),
        secrets: union!(secrets),
        kong_plugins: union!(kong_plugins),
        kong_cluster_plugins: union!(kong_cluster_plugins),
        kong_consumers: union!(kong_consumers),
        kong_consumer_groups: union!(kong_consumer_groups),
        kong_upstream_policies: union!(kong_upstream_policies),
        kong_ingresses: union!(kong_ingresses),
        config_maps: union!(config_maps),
        declarative: parts
            .clone()
            .flat_map(|p| p.declarative.iter().cloned())
            .collect(),
        refused: parts
            .clone()
            .flat_map(|p| p.refused.iter().cloned())
            .collect(),
        unserved: parts.flat_map(|p| p.unserved.iter().cloned()).collect(),
    }
}

#[cfg(test)]
mod tests;
