//! `http-log` (Kong's `kong/plugins/http-log/handler.lua`): each finished
//! request's Kong log entry ([`serialize`]) goes to a
//! [`Queue`](super::queue::Queue) that sends batches to `http_endpoint` in
//! the background: one entry as a JSON object, more as a JSON array (the
//! queue's batch encoder, [`send::encode`]). The proxy never waits for the
//! log server.
//!
//! Instances with the same configuration share one queue, as Kong's queue
//! name (endpoint, method, content type, timeouts) makes them share.

use super::log::serialize::serialize;
use super::queue::Queue;
use super::{LogRecord, Phases, Runtime};
use crate::model::PluginInstance;
use crate::model::plugin::http_log::HttpLogConfig;
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

mod send;

/// Queues kept at most; past it the least recently used is dropped (it
/// sends what it holds first).
const MAX_QUEUES: usize = 256;

/// The http-log queues of the process, by configuration.
#[derive(Clone, Default)]
pub struct State {
    queues: Arc<Mutex<HashMap<String, Slot>>>,
    /// Entries lost by every queue (full, or retries given up), kept when
    /// a queue is replaced.
    dropped: Arc<AtomicU64>,
}

struct Slot {
    queue: Queue<Bytes>,
    used: Instant,
}

impl State {
    /// Queues `entry` on the queue of `config`, starting it if needed.
    fn push(&self, config: &Arc<HttpLogConfig>, entry: Bytes) {
        // The whole configuration names the queue: two instances that differ
        // in anything (headers, queue settings) do not share one.
        let key = serde_json::to_string(config.as_ref()).unwrap_or_default();
        let mut queues = self.queues.lock();
        if let Some(slot) = queues.get_mut(&key) {
            slot.used = Instant::now();
            slot.queue.push(entry.clone(), entry.len());
            return;
        }
        let Some(sender) = send::Sender::new(config) else {
            return;
        };
        let name = format!("http-log {}", sender.describe());
        let queue_config = config.effective_queue();
        let encode = send::encode(queue_config.max_batch_size == 1);
        let Some(queue) = Queue::start(
            name,
            queue_config,
            self.dropped.clone(),
            encode,
            Arc::new(sender),
        ) else {
            return;
        };
        if queues.len() >= MAX_QUEUES
            && let Some(oldest) = queues
                .iter()
                .min_by_key(|(_, s)| s.used)
                .map(|(k, _)| k.clone())
        {
            queues.remove(&oldest);
        }
        queue.push(entry.clone(), entry.len());
        queues.insert(
            key,
            Slot {
                queue,
                used: Instant::now(),
            },
        );
    }

    /// Entries lost so far, all queues together: dropped from a full
    /// queue, or given up after `max_retry_time`.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("http_log::State").finish_non_exhaustive()
    }
}

impl Phases for HttpLogConfig {
    const LOGS: bool = true;

    fn log(config: &Arc<Self>, _: &PluginInstance, record: &LogRecord, runtime: &Runtime) {
        let entry = serialize(record).to_string();
        runtime.http_log.push(config, entry.into());
    }
}
