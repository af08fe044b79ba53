//! Kong's plugin queue (`kong/tools/queue.lua`): entries wait in a bounded
//! buffer and a background task hands them to a handler in batches, retrying
//! a failed batch with exponential backoff. Adding never blocks or waits:
//! past `max_entries` (or `max_bytes`) the oldest entries are dropped, with
//! a WARN line and a count, as Kong drops them.

use crate::model::plugin::queue::QueueConfig;
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Sends one batch; `Err` carries a reason for the log (never a secret).
pub trait Handler: Send + Sync + 'static {
    /// Sends `batch`, in queue order.
    fn send(&self, batch: Vec<Bytes>) -> impl Future<Output = Result<(), String>> + Send;
}

/// A queue and its background task. Dropping it lets the task send what is
/// left, then end.
pub struct Queue {
    shared: Arc<Shared>,
}

struct Shared {
    name: String,
    config: QueueConfig,
    buffer: Mutex<Buffer>,
    wake: Notify,
    closed: AtomicBool,
    dropped: AtomicU64,
}

#[derive(Default)]
struct Buffer {
    entries: VecDeque<Bytes>,
    bytes: u64,
}

// === impl Queue ===

impl Queue {
    /// Starts a queue called `name` (for log lines) on the current Tokio
    /// runtime; `None` outside one.
    pub fn start<H: Handler>(name: String, config: QueueConfig, handler: H) -> Option<Self> {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let shared = Arc::new(Shared {
            name,
            config,
            buffer: Mutex::new(Buffer::default()),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        });
        runtime.spawn(run(shared.clone(), Arc::new(handler)));
        Some(Self { shared })
    }

    /// Adds an entry; drops the oldest ones when the queue is full.
    pub fn push(&self, entry: Bytes) {
        let shared = &self.shared;
        let config = &shared.config;
        let len = entry.len() as u64;
        let mut dropped = 0u64;
        {
            let mut buffer = shared.buffer.lock();
            if config.max_bytes.is_some_and(|max| len > max) {
                dropped = 1;
            } else {
                while buffer.entries.len() >= config.max_entries as usize
                    || config.max_bytes.is_some_and(|max| buffer.bytes + len > max)
                {
                    let Some(old) = buffer.entries.pop_front() else {
                        break;
                    };
                    buffer.bytes -= old.len() as u64;
                    dropped += 1;
                }
                buffer.bytes += len;
                buffer.entries.push_back(entry);
            }
        }
        if dropped > 0 {
            shared.dropped.fetch_add(dropped, Ordering::Relaxed);
            tracing::warn!(queue = %shared.name, dropped, "queue full, dropping old entries");
        }
        shared.wake.notify_one();
    }

    /// Entries dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// The settings the queue was started with.
    pub fn config(&self) -> &QueueConfig {
        &self.shared.config
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("name", &self.shared.name)
            .finish_non_exhaustive()
    }
}

/// The background task: waits for entries, coalesces a batch, sends it.
async fn run<H: Handler>(shared: Arc<Shared>, handler: Arc<H>) {
    let config = &shared.config;
    let batch_size = config.max_batch_size.max(1) as usize;
    let coalescing = Duration::from_secs_f64(config.max_coalescing_delay.max(0.0));
    loop {
        // Wait for the first entry (or the end).
        loop {
            if !shared.buffer.lock().entries.is_empty() {
                break;
            }
            if shared.closed.load(Ordering::Acquire) {
                return;
            }
            shared.wake.notified().await;
        }
        // Wait up to the coalescing delay for a full batch (Kong sends at
        // once when a batch holds one entry).
        if batch_size > 1 {
            let deadline = tokio::time::Instant::now() + coalescing;
            while shared.buffer.lock().entries.len() < batch_size
                && !shared.closed.load(Ordering::Acquire)
            {
                if tokio::time::timeout_at(deadline, shared.wake.notified())
                    .await
                    .is_err()
                {
                    break;
                }
            }
        }
        let batch: Vec<Bytes> = {
            let mut buffer = shared.buffer.lock();
            let n = buffer.entries.len().min(batch_size);
            let batch: Vec<Bytes> = buffer.entries.drain(..n).collect();
            buffer.bytes -= batch.iter().map(|e| e.len() as u64).sum::<u64>();
            batch
        };
        if config.concurrency_limit == 1 {
            deliver(&shared, handler.as_ref(), batch).await;
        } else {
            let (shared, handler) = (shared.clone(), handler.clone());
            tokio::spawn(async move { deliver(&shared, handler.as_ref(), batch).await });
        }
    }
}

/// Sends one batch, retrying with doubling delays until `max_retry_time`
/// has passed; then drops it with an error line.
async fn deliver<H: Handler>(shared: &Shared, handler: &H, batch: Vec<Bytes>) {
    let config = &shared.config;
    let started = Instant::now();
    let give_up = Duration::from_secs_f64(config.max_retry_time.max(0.0));
    let max_delay = Duration::from_secs_f64(config.max_retry_delay);
    let mut delay = Duration::from_secs_f64(config.initial_retry_delay);
    loop {
        let error = match handler.send(batch.clone()).await {
            Ok(()) => return,
            Err(error) => error,
        };
        if config.max_retry_time < 0.0 || started.elapsed() + delay > give_up {
            tracing::error!(queue = %shared.name, entries = batch.len(), %error,
                "could not send entries, giving up after {:?}", started.elapsed());
            return;
        }
        tracing::warn!(queue = %shared.name, %error, "handler could not process entries, retrying");
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(max_delay);
    }
}

#[cfg(test)]
mod tests;
