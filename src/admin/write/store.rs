//! Where Admin API writes are kept: one Kong declarative file in the
//! watched directory, `kingress-admin.kong.yaml`, replaced atomically (a
//! hidden temporary file renamed over it) after every accepted write. The
//! directory's loader reads it like any other declarative file, so a restart
//! serves what was written, and a hand edit of the file is what the next
//! write starts from.
//!
//! A write answers only after the reload it triggers has published the new
//! table (the `Reload` hook runs the standalone reconcile directly, without
//! waiting for the file watcher).

use super::error::WriteError;
use crate::kong::Document;
use crate::model::Problem;
use crate::reconcile::Change;
use futures::future::BoxFuture;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The file name of the Admin API's declarative file.
pub const FILE_NAME: &str = "kingress-admin.kong.yaml";

/// Reloads the watched path and publishes the result; resolves once the
/// table is published (or refused, with the reason).
pub type Reload = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// Asks the control plane which problems a change would add
/// ([`Reconciler::check`](crate::reconcile::Reconciler::check)); resolves to
/// them.
pub type Check = Arc<dyn Fn(Change) -> BoxFuture<'static, Vec<Problem>> + Send + Sync>;

/// The Admin API's write side in standalone mode.
pub struct Writes {
    /// The watched path (`-f`).
    pub(super) watched: PathBuf,
    /// The declarative file writes go to; `None` when `-f` names a file
    /// (see [`Writes::new`]).
    pub(super) file: Option<PathBuf>,
    /// The check before a write is kept.
    pub(super) check: Check,
    reload: Reload,
    /// One write at a time: each reads the file, changes it, writes it back.
    pub(super) lock: tokio::sync::Mutex<()>,
}

// === impl Writes ===

impl Writes {
    /// Writes into `<watched>/kingress-admin.kong.yaml`, after `check`
    /// found no new problem, and reloads with `reload`. When `watched` is a single file there is no directory the
    /// loader reads a second file from, so writes are refused (answered 405
    /// with that reason) instead of being kept where a restart would not
    /// find them.
    pub fn new(watched: &Path, check: Check, reload: Reload) -> Self {
        let file = watched.is_dir().then(|| watched.join(FILE_NAME));
        Self {
            watched: watched.to_path_buf(),
            file,
            check,
            reload,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The declarative file, or the refusal for single-file mode.
    pub(super) fn file(&self) -> Result<&Path, WriteError> {
        self.file.as_deref().ok_or_else(|| WriteError::NotWritable {
            reason: format!(
                "{} is a single file; Admin API writes are kept in {FILE_NAME} beside the \
                 other files, so start kingress with -f naming a directory",
                self.watched.display()
            ),
        })
    }

    /// The file's current text (empty when it does not exist yet).
    pub(super) async fn read(&self) -> Result<String, WriteError> {
        let file = self.file()?;
        match tokio::fs::read_to_string(file).await {
            Ok(text) => Ok(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(WriteError::Internal(format!(
                "cannot read {}: {e}",
                file.display()
            ))),
        }
    }

    /// The document as the file holds it now, for reads; `None` when there
    /// is no file (or it does not parse: reads then show the table alone).
    pub async fn snapshot(&self) -> Option<Document> {
        let text = self.read().await.ok()?;
        if text.trim().is_empty() {
            return None;
        }
        Document::parse(&text, 0)
            .inspect_err(|e| tracing::warn!(error = %e, "{FILE_NAME} does not parse"))
            .ok()
    }

    /// Replaces the file with `text` atomically, then reloads and waits for
    /// the new table.
    pub(super) async fn persist(&self, text: String) -> Result<(), WriteError> {
        let file = self.file()?.to_path_buf();
        // Hidden, so neither the loader nor a reload in between reads it.
        let temp = file.with_file_name(format!(".{FILE_NAME}.tmp"));
        let written = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&temp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&temp, &file)
        })
        .await
        .map_err(|e| WriteError::Internal(format!("write task failed: {e}")))?;
        written.map_err(|e| WriteError::Internal(format!("cannot write {FILE_NAME}: {e}")))?;
        (self.reload)()
            .await
            .map_err(|e| WriteError::Internal(format!("saved, but the reload failed: {e}")))
    }
}

impl std::fmt::Debug for Writes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writes")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}
