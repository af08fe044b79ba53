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

use super::{LoadError, load_text, manifest_files};
use crate::objects::ObjectSet;
use notify::{RecursiveMode, Watcher};
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::mpsc;

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
}

/// One file as of the last good load.
struct Cached {
    stamp: Stamp,
    digest: [u8; 32],
    objects: Arc<ObjectSet>,
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
        }
    }

    /// Reads every manifest under the root into an object set, re-reading
    /// and re-parsing only what changed since the last good load. Any
    /// unreadable file or malformed document fails the whole load and
    /// leaves the loader as it was, so the next load tries again.
    ///
    /// An object of a file that did not change is the same `Arc` as in the
    /// last load (translate's memo relies on that to skip it).
    pub fn load(&mut self) -> Result<Arc<ObjectSet>, LoadError> {
        let dirty = std::mem::take(&mut *self.dirty.lock());
        match self.refresh(&dirty) {
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

    /// Watches the root for changes: each filesystem event sends `()` on
    /// the returned channel and marks its paths for the next [`load`].
    /// Keep the returned watcher alive as long as events are wanted.
    ///
    /// [`load`]: Loader::load
    pub fn watch(&self) -> notify::Result<(notify::RecommendedWatcher, mpsc::Receiver<()>)> {
        let (tx, rx) = mpsc::channel(16);
        let dirty = Arc::clone(&self.dirty);
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let mut pending = dirty.lock();
                match event {
                    Ok(event) if event.kind.is_access() => return,
                    Ok(event) if !event.need_rescan() && !event.paths.is_empty() => {
                        pending.paths.extend(event.paths)
                    }
                    // An error or a rescan request: events may have been lost.
                    _ => pending.all = true,
                }
                drop(pending);
                // A full channel already holds a pending reload; the paths are
                // in `dirty` either way.
                let _ = tx.try_send(());
            })?;
        // Watch the directory (or the file's directory) so editors that
        // replace files by rename are noticed too.
        let target = if self.absolute_root.is_dir() {
            self.absolute_root.as_path()
        } else {
            self.absolute_root
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
        };
        watcher.watch(target, RecursiveMode::Recursive)?;
        Ok((watcher, rx))
    }

    /// The cache entries of the current files: reused, or read and parsed.
    fn refresh(&self, dirty: &Dirty) -> Result<BTreeMap<PathBuf, Cached>, LoadError> {
        let mut files = BTreeMap::new();
        for file in manifest_files(&self.root)? {
            let io = |source| LoadError::Io {
                path: file.clone(),
                source,
            };
            let stamp = Stamp::of(&std::fs::metadata(&file).map_err(io)?);
            let old = self.files.get(&file);
            if let Some(old) = old
                && old.stamp == stamp
                && !self.named(dirty, &file)
            {
                files.insert(file, old.clone());
                continue;
            }
            let text = std::fs::read_to_string(&file).map_err(io)?;
            let digest: [u8; 32] = Sha256::digest(text.as_bytes()).into();
            let objects = match old {
                Some(old) if old.digest == digest => Arc::clone(&old.objects),
                _ => {
                    let mut objects = ObjectSet::default();
                    load_text(&file, &text, &mut objects)?;
                    Arc::new(objects)
                }
            };
            let entry = Cached {
                stamp,
                digest,
                objects,
            };
            files.insert(file, entry);
        }
        Ok(files)
    }

    /// Brings `merged` up to date with `files` (was `old`): only the keys
    /// of files that changed are looked up again, unless so much changed
    /// that merging everything again is cheaper.
    fn remerge(&mut self, old: &BTreeMap<PathBuf, Cached>) {
        let mut changed: Vec<&ObjectSet> = Vec::new();
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
        let changed_objects: usize = changed.iter().map(|o| o.len()).sum();
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
                let keys: std::collections::BTreeSet<&crate::objects::ObjectKey> =
                    changed.iter().flat_map(|o| o.$field.keys()).collect();
                for key in keys {
                    let winner = files.values().rev().find_map(|c| c.objects.$field.get(key));
                    match winner {
                        Some(object) => {
                            merged.$field.insert(key.clone(), Arc::clone(object));
                        }
                        None => {
                            merged.$field.remove(key);
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
        merged.declarative = files
            .values()
            .flat_map(|c| c.objects.declarative.iter().cloned())
            .collect();
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
fn merge<'a>(parts: impl Iterator<Item = &'a ObjectSet> + Clone) -> ObjectSet {
    // `collect` into a BTreeMap keeps the last value of equal keys and
    // builds the tree in one pass from the (stably) sorted pairs.
    macro_rules! union {
        ($field:ident) => {
            parts
                .clone()
                .flat_map(|p| p.$field.iter().map(|(k, v)| (k.clone(), Arc::clone(v))))
                .collect()
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
        declarative: parts.flat_map(|p| p.declarative.iter().cloned()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(name: &str, port: u16) -> String {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\n\
             spec: {{ports: [{{port: {port}}}]}}\n---\n"
        )
    }

    fn key(name: &str) -> (String, String) {
        ("default".into(), name.into())
    }

    fn port(objects: &ObjectSet, name: &str) -> i32 {
        let service = &objects.services[&key(name)];
        service.spec.as_ref().unwrap().ports.as_ref().unwrap()[0].port
    }

    #[test]
    fn only_changed_files_are_parsed_again() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), service("a", 80)).unwrap();
        std::fs::write(dir.path().join("b.yaml"), service("b", 80)).unwrap();
        let mut loader = Loader::new(dir.path());
        let first = loader.load().unwrap();
        assert_eq!(first.len(), 2);

        // b's content changes; a is rewritten with the same bytes.
        std::fs::write(dir.path().join("a.yaml"), service("a", 80)).unwrap();
        std::fs::write(dir.path().join("b.yaml"), service("b", 81)).unwrap();
        let second = loader.load().unwrap();
        assert!(Arc::ptr_eq(
            &first.services[&key("a")],
            &second.services[&key("a")]
        ));
        assert_eq!(port(&second, "b"), 81);

        // A new file is read, a removed one forgotten.
        std::fs::remove_file(dir.path().join("a.yaml")).unwrap();
        std::fs::write(dir.path().join("c.yaml"), service("c", 82)).unwrap();
        let third = loader.load().unwrap();
        assert!(!third.services.contains_key(&key("a")));
        assert!(Arc::ptr_eq(
            &second.services[&key("b")],
            &third.services[&key("b")]
        ));
        assert_eq!(port(&third, "c"), 82);
    }

    #[test]
    fn the_last_file_wins_and_removing_it_restores_the_earlier_object() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("1.yaml"), service("s", 80)).unwrap();
        std::fs::write(dir.path().join("2.yaml"), service("s", 81)).unwrap();
        let mut loader = Loader::new(dir.path());
        assert_eq!(port(&loader.load().unwrap(), "s"), 81);
        assert_eq!(
            port(&super::super::load(dir.path()).unwrap(), "s"),
            81,
            "same as a load without cache"
        );
        std::fs::remove_file(dir.path().join("2.yaml")).unwrap();
        assert_eq!(port(&loader.load().unwrap(), "s"), 80);
    }

    #[test]
    fn a_bad_file_fails_the_load_and_the_next_load_retries_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.yaml");
        std::fs::write(&file, service("a", 80)).unwrap();
        let mut loader = Loader::new(dir.path());
        loader.load().unwrap();
        std::fs::write(&file, "a: [").unwrap();
        assert!(matches!(loader.load(), Err(LoadError::Yaml { .. })));
        assert!(loader.load().is_err(), "the bad file is read again");
        std::fs::write(&file, service("a", 83)).unwrap();
        assert_eq!(port(&loader.load().unwrap(), "a"), 83);
    }

    #[test]
    fn a_named_file_is_read_even_when_its_metadata_is_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("a.yaml"), service("a", 80)).unwrap();
        std::fs::write(dir.path().join("b.yaml"), service("b", 80)).unwrap();
        let mut loader = Loader::new(dir.path());
        loader.load().unwrap();

        let absolute = std::path::absolute(dir.path()).unwrap();
        let dirty = |paths: &[PathBuf]| Dirty {
            paths: paths.iter().cloned().collect(),
            all: false,
        };
        let a = dir.path().join("sub/a.yaml");
        let b = dir.path().join("b.yaml");
        let by_dir = dirty(&[absolute.join("sub")]);
        assert!(loader.named(&by_dir, &a));
        assert!(!loader.named(&by_dir, &b));
        assert!(loader.named(&dirty(&[absolute.join("b.yaml")]), &b));
        assert!(!loader.named(&dirty(&[]), &b));
        assert!(loader.named(
            &Dirty {
                all: true,
                ..dirty(&[])
            },
            &b
        ));

        // Overwrite a's content and restore its stamp: only the watcher's
        // word makes the load see the new port.
        let stamp = loader.files[&a].stamp.clone();
        let mut cached = loader.files[&a].clone();
        std::fs::write(&a, service("a", 81)).unwrap();
        cached.stamp = Stamp::of(&std::fs::metadata(&a).unwrap());
        loader.files.insert(a.clone(), cached);
        assert_eq!(port(&loader.load().unwrap(), "a"), 80, "stamp unchanged");
        loader
            .dirty
            .lock()
            .paths
            .insert(absolute.join("sub/a.yaml"));
        assert_eq!(port(&loader.load().unwrap(), "a"), 81);
        assert_ne!(stamp, loader.files[&a].stamp);
    }

    #[tokio::test]
    async fn watcher_events_mark_paths_and_signal() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.yaml");
        std::fs::write(&file, service("a", 80)).unwrap();
        let mut loader = Loader::new(dir.path());
        loader.load().unwrap();
        let (_watcher, mut changes) = loader.watch().unwrap();
        std::fs::write(&file, service("a", 81)).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), changes.recv())
            .await
            .expect("an event within 5 s")
            .unwrap();
        let absolute = std::path::absolute(&file).unwrap();
        assert!(loader.named(&loader.dirty.lock(), &file));
        assert!(loader.dirty.lock().paths.contains(&absolute));
        assert_eq!(port(&loader.load().unwrap(), "a"), 81);
        assert!(loader.dirty.lock().paths.is_empty());
    }
}
