//! `file-log` (Kong's `kong/plugins/file-log/handler.lua`): each finished
//! request's Kong log entry ([`serialize`]), one JSON object per line,
//! appended to `path` by a background task per file. The proxy only hands
//! the line over: when the task is [`MAX_PENDING`] lines behind, new lines
//! are dropped with a WARN line and counted.
//!
//! The file is created with mode 0644 (Kong's) when missing; with `reopen`
//! it is opened for every line, so a renamed (rotated) file is let go.

use super::log::serialize::serialize;
use super::{LogRecord, Phases, Runtime};
use crate::model::PluginInstance;
use crate::model::plugin::file_log::FileLogConfig;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// Lines waiting for one file at most.
pub const MAX_PENDING: usize = 10_000;

/// Each file's writer, by path and `reopen`.
type Writers = HashMap<(String, bool), mpsc::Sender<Vec<u8>>>;

/// The file writers of the process, by path and `reopen`.
#[derive(Clone, Default)]
pub struct State {
    writers: Arc<Mutex<Writers>>,
    dropped: Arc<AtomicU64>,
}

impl State {
    /// Hands `line` to the writer of `config`'s file, starting it if needed.
    fn push(&self, config: &FileLogConfig, line: Vec<u8>) {
        let key = (config.path.clone(), config.reopen);
        let mut writers = self.writers.lock();
        let sender = match writers.get(&key) {
            Some(sender) if !sender.is_closed() => sender.clone(),
            _ => {
                let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                    return;
                };
                let (tx, rx) = mpsc::channel(MAX_PENDING);
                runtime.spawn(write(config.path.clone(), config.reopen, rx));
                writers.insert(key, tx.clone());
                tx
            }
        };
        drop(writers);
        if sender.try_send(line).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(path = %config.path, "file-log: writer behind, log entry dropped");
        }
    }

    /// Lines dropped because a writer was behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("file_log::State").finish_non_exhaustive()
    }
}

/// Opens `path` for appending, creating it 0644.
async fn open(path: &str) -> std::io::Result<tokio::fs::File> {
    tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o644)
        .open(path)
        .await
}

/// The writer task of one file.
async fn write(path: String, reopen: bool, mut lines: mpsc::Receiver<Vec<u8>>) {
    let mut file: Option<tokio::fs::File> = None;
    while let Some(line) = lines.recv().await {
        if file.is_none() {
            match open(&path).await {
                Ok(f) => file = Some(f),
                Err(error) => {
                    tracing::error!(%path, %error, "file-log: cannot open the log file");
                    continue;
                }
            }
        }
        if let Some(f) = file.as_mut()
            && let Err(error) = f.write_all(&line).await
        {
            tracing::error!(%path, %error, "file-log: cannot write the log file");
            file = None;
            continue;
        }
        if reopen {
            if let Some(mut f) = file.take() {
                let _ = f.flush().await;
            }
        } else if let Some(f) = file.as_mut() {
            let _ = f.flush().await;
        }
    }
}

impl Phases for FileLogConfig {
    const LOGS: bool = true;

    fn log(config: &Arc<Self>, _: &PluginInstance, record: &LogRecord, runtime: &Runtime) {
        let mut line = serialize(record).to_string().into_bytes();
        line.push(b'\n');
        runtime.file_log.push(config, line);
    }
}
