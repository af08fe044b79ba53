//! `http-log` (Kong's `kong/plugins/http-log/handler.lua`): each finished
//! request's Kong log entry ([`serialize`]) goes to a
//! [`Queue`](super::queue::Queue) that sends batches to `http_endpoint` in
//! the background: one entry as a JSON object, more as a JSON array. The
//! proxy never waits for the log server.
//!
//! Instances with the same configuration share one queue, as Kong's queue
//! name (endpoint, method, content type, timeouts) makes them share.

use super::log::serialize::serialize;
use super::queue::Queue;
use super::{LogRecord, Phases, Runtime};
use crate::model::PluginInstance;
use crate::model::plugin::http_log::HttpLogConfig;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

mod send;

/// Queues kept at most; past it the least recently used is dropped (it
/// sends what it holds first).
const MAX_QUEUES: usize = 256;

/// The http-log queues of the process, by configuration.
#[derive(Clone, Default)]
pub struct State {
    queues: Arc<Mutex<HashMap<String, Slot>>>,
}

struct Slot {
    queue: Queue,
    used: Instant,
}

impl State {
    /// Queues `entry` on the queue of `config`, starting it if needed.
    fn push(&self, config: &Arc<HttpLogConfig>, entry: bytes::Bytes) {
        // The whole configuration names the queue: two instances that differ
        // in anything (headers, queue settings) do not share one.
        let key = serde_json::to_string(config.as_ref()).unwrap_or_default();
        let mut queues = self.queues.lock();
        if let Some(slot) = queues.get_mut(&key) {
            slot.used = Instant::now();
            slot.queue.push(entry);
            return;
        }
        let Some(sender) = send::Sender::new(config) else {
            return;
        };
        let name = format!("http-log {}", sender.describe());
        let Some(queue) = Queue::start(name, config.effective_queue(), sender) else {
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
        queue.push(entry);
        queues.insert(
            key,
            Slot {
                queue,
                used: Instant::now(),
            },
        );
    }

    /// Entries dropped by full queues, all queues together.
    pub fn dropped(&self) -> u64 {
        self.queues.lock().values().map(|s| s.queue.dropped()).sum()
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
