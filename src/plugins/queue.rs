//! Kong's plugin queue (`kong/tools/queue.lua`), one for every plugin that
//! sends batches (http-log, opentelemetry): entries wait in a bounded buffer
//! and a background task hands them over in batches (`max_batch_size`, or
//! what arrived within `max_coalescing_delay` of the first), retrying a
//! failed batch with a doubling delay (`initial_retry_delay` up to
//! `max_retry_delay`) until `max_retry_time` has passed. Adding never
//! waits: a full queue drops its oldest entries (`max_entries`,
//! `max_bytes`), counted and logged at WARN.
//!
//! The queue is generic over the entry; each plugin gives it an encoder
//! that turns a batch into one request body (encoded once, however often
//! it is retried) and a [`Deliver`] that sends that body.

use crate::model::plugin::queue::QueueConfig;
use bytes::Bytes;
use futures::future::BoxFuture;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Kong warns once a queue is this full.
const CAPACITY_WARNING: f64 = 0.8;

/// Sends one encoded batch; `Err` says why it failed (never a secret).
pub trait Deliver: Send + Sync + 'static {
    /// Sends `body`.
    fn deliver(&self, body: Bytes) -> BoxFuture<'static, Result<(), String>>;
}

/// Turns a batch of entries, in queue order, into the bytes of one request.
pub type Encode<T> = Box<dyn Fn(Vec<T>) -> Bytes + Send + Sync>;

/// The handle entries are added to; dropping it lets the sender finish
/// what is queued (flush on close) and stop.
pub struct Queue<T> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    /// The queue's name in log lines (never a secret).
    name: String,
    config: QueueConfig,
    entries: Mutex<Entries<T>>,
    wake: Notify,
    /// Entries lost (queue full, or retries given up); a plugin may share
    /// one counter between its queues.
    dropped: Arc<AtomicU64>,
    encode: Encode<T>,
    deliver: Arc<dyn Deliver>,
    runtime: Handle,
}

struct Entries<T> {
    /// Each entry with its size in bytes (for `max_bytes`).
    items: VecDeque<(T, usize)>,
    bytes: usize,
    /// Dropping since the last successful batch (one WARN per episode).
    dropping: bool,
    /// Past the capacity warning (one WARN per episode).
    warned: bool,
    closed: bool,
}

// === impl Queue ===

impl<T: Send + 'static> Queue<T> {
    /// A queue called `name` whose sender runs on the current Tokio
    /// runtime; `None` outside one. Losses are added to `dropped`.
    pub fn start(
        name: String,
        config: QueueConfig,
        dropped: Arc<AtomicU64>,
        encode: Encode<T>,
        deliver: Arc<dyn Deliver>,
    ) -> Option<Self> {
        let runtime = Handle::try_current().ok()?;
        let inner = Arc::new(Inner {
            name,
            config,
            entries: Mutex::new(Entries {
                items: VecDeque::new(),
                bytes: 0,
                dropping: false,
                warned: false,
                closed: false,
            }),
            wake: Notify::new(),
            dropped,
            encode,
            deliver,
            runtime,
        });
        if inner.config.concurrency_limit == 1 {
            inner.runtime.spawn(run(inner.clone()));
        }
        Some(Self { inner })
    }

    /// Adds `entry` (`size` bytes, for `max_bytes`) without waiting.
    pub fn push(&self, entry: T, size: usize) {
        let inner = &self.inner;
        let config = &inner.config;
        if config.concurrency_limit == -1 {
            // Kong: unlimited concurrency sends every entry on its own,
            // without queueing.
            inner.runtime.spawn(deliver(inner.clone(), vec![entry]));
            return;
        }
        let max_entries = usize::try_from(config.max_entries).unwrap_or(usize::MAX);
        let max_bytes = config.max_bytes.and_then(|b| usize::try_from(b).ok());
        let mut lost = 0u64;
        {
            let mut e = inner.entries.lock();
            if max_bytes.is_some_and(|max| size > max) {
                drop(e);
                tracing::error!(
                    queue = %inner.name,
                    "entry is longer ({size} bytes) than the queue's max_bytes; dropped"
                );
                inner.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            if e.items.len() as f64 >= max_entries as f64 * CAPACITY_WARNING {
                if !e.warned {
                    e.warned = true;
                    tracing::warn!(queue = %inner.name, "queue at 80% capacity");
                }
            } else {
                e.warned = false;
            }
            while e.items.len() >= max_entries
                || max_bytes.is_some_and(|max| e.bytes + size > max && !e.items.is_empty())
            {
                let Some((_, n)) = e.items.pop_front() else {
                    break;
                };
                e.bytes -= n;
                lost += 1;
            }
            let first_drop = lost > 0 && !e.dropping;
            if lost > 0 {
                e.dropping = true;
            }
            e.bytes += size;
            e.items.push_back((entry, size));
            drop(e);
            if first_drop {
                tracing::warn!(
                    queue = %inner.name,
                    "queue full, dropping old entries until processing is successful again"
                );
            }
        }
        if lost > 0 {
            inner.dropped.fetch_add(lost, Ordering::Relaxed);
        }
        inner.wake.notify_one();
    }

    /// The settings the queue was started with.
    pub fn config(&self) -> &QueueConfig {
        &self.inner.config
    }
}

impl<T> Drop for Queue<T> {
    fn drop(&mut self) {
        self.inner.entries.lock().closed = true;
        self.inner.wake.notify_one();
    }
}

impl<T> std::fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("name", &self.inner.name)
            .finish_non_exhaustive()
    }
}

/// The sender: waits for entries, coalesces a batch, delivers it.
async fn run<T: Send + 'static>(inner: Arc<Inner<T>>) {
    let config = &inner.config;
    let batch_size = usize::try_from(config.max_batch_size).unwrap_or(1).max(1);
    let coalescing = Duration::from_secs_f64(config.max_coalescing_delay.max(0.0));
    loop {
        // `Notify` keeps one permit, so a push between the check and the
        // wait is not missed.
        loop {
            let (empty, closed) = {
                let e = inner.entries.lock();
                (e.items.is_empty(), e.closed)
            };
            if !empty {
                break;
            }
            if closed {
                return;
            }
            inner.wake.notified().await;
        }
        // A full batch (or a closed queue) goes at once; otherwise wait up
        // to the coalescing delay for more.
        let deadline = Instant::now() + coalescing;
        loop {
            let full = {
                let e = inner.entries.lock();
                e.items.len() >= batch_size || e.closed
            };
            if full {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => break,
                () = inner.wake.notified() => {}
            }
        }
        let batch: Vec<T> = {
            let mut e = inner.entries.lock();
            let n = e.items.len().min(batch_size);
            let taken: Vec<(T, usize)> = e.items.drain(..n).collect();
            e.bytes -= taken.iter().map(|(_, s)| s).sum::<usize>();
            taken.into_iter().map(|(t, _)| t).collect()
        };
        deliver(inner.clone(), batch).await;
    }
}

/// Delivers one batch, retrying as Kong's queue does: after each failure,
/// give up once `max_retry_time` has passed, else wait
/// `min(max_retry_delay, 2^retries * initial_retry_delay)`.
async fn deliver<T>(inner: Arc<Inner<T>>, batch: Vec<T>) {
    let config = &inner.config;
    let count = batch.len() as u64;
    let body = (inner.encode)(batch);
    let started = Instant::now();
    let mut retries: i32 = 0;
    loop {
        match inner.deliver.deliver(body.clone()).await {
            Ok(()) => {
                inner.entries.lock().dropping = false;
                return;
            }
            Err(why) => {
                tracing::warn!(queue = %inner.name, "handler could not process entries: {why}");
            }
        }
        if started.elapsed().as_secs_f64() > config.max_retry_time {
            tracing::error!(
                queue = %inner.name,
                "could not send entries due to max_retry_time exceeded. {count} queue entries were lost"
            );
            inner.dropped.fetch_add(count, Ordering::Relaxed);
            return;
        }
        let delay = (2f64.powi(retries) * config.initial_retry_delay).min(config.max_retry_delay);
        retries = retries.saturating_add(1);
        tokio::time::sleep(Duration::from_secs_f64(delay.max(0.0))).await;
    }
}

#[cfg(test)]
mod tests;
