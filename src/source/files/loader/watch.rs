//! The file watcher behind reloads. It reports only events that can change
//! what the loader reads: a manifest file (see
//! [`is_manifest_name`](crate::source::files::is_manifest_name)), the file
//! named by `-f`, or a directory appearing, vanishing or moving. Anything
//! else written into the directory (a log file, a dump, an editor's
//! hidden swap file) neither marks a path nor wakes the reload loop, so a
//! process logging into the watched directory does not reload on its own
//! lines.

use super::{Dirty, Loader};
use crate::source::files::is_manifest_name;
use notify::event::{ModifyKind, RemoveKind};
use notify::{Event, EventKind, RecursiveMode, Watcher};
use parking_lot::Mutex;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use tokio::sync::mpsc;

// === impl Loader ===

impl Loader {
    /// Watches the root for changes: each event that concerns a manifest
    /// sends `()` on the returned channel and marks its paths for the next
    /// [`load`]. Keep the returned watcher alive as long as events are
    /// wanted.
    ///
    /// [`load`]: Loader::load
    pub fn watch(&self) -> notify::Result<(notify::RecommendedWatcher, mpsc::Receiver<()>)> {
        let (tx, rx) = mpsc::channel(16);
        let dirty = Arc::clone(&self.dirty);
        let single_file = !self.absolute_root.is_dir();
        let scope = Scope {
            single_file,
            root: self.absolute_root.clone(),
        };
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
            if mark(&dirty, &scope, event) {
                // A full channel already holds a pending reload; the paths
                // are in `dirty` either way.
                let _ = tx.try_send(());
            }
        })?;
        // Watch the directory (or the file's directory) so editors that
        // replace files by rename are noticed too.
        let target = if single_file {
            self.absolute_root
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
        } else {
            self.absolute_root.as_path()
        };
        watcher.watch(target, RecursiveMode::Recursive)?;
        Ok((watcher, rx))
    }
}

/// What the loader reads: a directory tree, or one file.
struct Scope {
    root: PathBuf,
    single_file: bool,
}

/// Marks what `event` changed in `dirty`; false when it concerns no
/// manifest (and nothing was marked).
fn mark(dirty: &Mutex<Dirty>, scope: &Scope, event: notify::Result<Event>) -> bool {
    match event {
        Ok(event) if event.kind.is_access() => false,
        Ok(event) if !event.need_rescan() && !event.paths.is_empty() => {
            let kind = event.kind;
            let paths: Vec<PathBuf> = event
                .paths
                .into_iter()
                .filter(|p| scope.concerns(&kind, p))
                .collect();
            if paths.is_empty() {
                return false;
            }
            dirty.lock().paths.extend(paths);
            true
        }
        // An error or a rescan request: events may have been lost.
        _ => {
            dirty.lock().all = true;
            true
        }
    }
}

// === impl Scope ===

impl Scope {
    /// Whether a `kind` change at `path` can change what the loader reads.
    fn concerns(&self, kind: &EventKind, path: &Path) -> bool {
        if self.single_file {
            return path == self.root;
        }
        let Ok(relative) = path.strip_prefix(&self.root) else {
            // Not under the root as watched: cannot tell, so read.
            return true;
        };
        let hidden = relative.components().any(|c| match c {
            Component::Normal(name) => name.to_str().is_none_or(|n| n.starts_with('.')),
            _ => false,
        });
        if hidden {
            return false;
        }
        if is_manifest_name(path) {
            return true;
        }
        // A directory created or moved in, removed, or moved away (gone by
        // now, so only the event kind tells).
        path.is_dir()
            || matches!(kind, EventKind::Remove(RemoveKind::Folder))
            || (matches!(kind, EventKind::Modify(ModifyKind::Name(_))) && !path.exists())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, RenameMode};

    #[test]
    fn only_manifest_changes_concern_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let root = std::path::absolute(dir.path()).unwrap();
        let scope = Scope {
            root: root.clone(),
            single_file: false,
        };
        let write = EventKind::Modify(ModifyKind::Data(DataChange::Any));
        let create = EventKind::Create(CreateKind::File);
        for name in ["a.yaml", "b.yml", "c.json", "kong.yml", "sub/d.yaml"] {
            assert!(scope.concerns(&write, &root.join(name)), "{name}");
        }
        for name in [
            "kingress.log",
            "notes.txt",
            ".a.yaml.swp",
            ".git/x.yaml",
            "a.yaml~",
        ] {
            assert!(!scope.concerns(&write, &root.join(name)), "{name}");
            assert!(!scope.concerns(&create, &root.join(name)), "{name}");
        }
        // Directories: one that exists, one removed, one moved away.
        assert!(scope.concerns(&create, &root.join("sub")));
        let removed = EventKind::Remove(RemoveKind::Folder);
        assert!(scope.concerns(&removed, &root.join("gone")));
        let moved = EventKind::Modify(ModifyKind::Name(RenameMode::From));
        assert!(scope.concerns(&moved, &root.join("gone")));
        assert!(!scope.concerns(&write, &root.join("gone")));

        let file = Scope {
            root: root.join("only.txt"),
            single_file: true,
        };
        assert!(file.concerns(&write, &root.join("only.txt")));
        assert!(!file.concerns(&write, &root.join("a.yaml")));
    }

    #[test]
    fn unrelated_events_mark_nothing_and_lost_events_mark_all() {
        let root = PathBuf::from("/manifests");
        let scope = Scope {
            root: root.clone(),
            single_file: false,
        };
        let dirty = Mutex::new(Dirty::default());
        let event = |name: &str| {
            Ok(
                Event::new(EventKind::Modify(ModifyKind::Data(DataChange::Any)))
                    .add_path(root.join(name)),
            )
        };
        assert!(!mark(&dirty, &scope, event("kingress.log")));
        assert!(dirty.lock().paths.is_empty() && !dirty.lock().all);
        assert!(mark(&dirty, &scope, event("a.yaml")));
        assert!(dirty.lock().paths.contains(&root.join("a.yaml")));
        assert!(mark(
            &dirty,
            &scope,
            Err(notify::Error::generic("overflow"))
        ));
        assert!(dirty.lock().all);
    }
}
