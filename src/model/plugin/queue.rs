//! Kong's `queue` record (`kong/tools/queue_schema.lua`), shared by the
//! plugins that send batches (http-log, opentelemetry): Kong's defaults,
//! ranges and messages.

use crate::model::plugin::ConfigError;
use serde::{Deserialize, Serialize};

/// `config.queue`. The type and its rules are the same for every plugin;
/// a plugin's own defaults (opentelemetry's `max_batch_size` 200) are set
/// in that plugin's `Default`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Entries sent in one batch.
    pub max_batch_size: i64,
    /// Seconds to wait for more entries after the first of a batch.
    pub max_coalescing_delay: f64,
    /// Entries waiting at most; the oldest is dropped past it.
    pub max_entries: i64,
    /// Bytes waiting at most; `None` means no byte bound.
    pub max_bytes: Option<i64>,
    /// Seconds a failing batch is retried before it is dropped.
    pub max_retry_time: f64,
    /// Seconds before the first retry; each retry doubles it.
    pub initial_retry_delay: f64,
    /// Longest wait between retries, in seconds.
    pub max_retry_delay: f64,
    /// `1`: one sender, batches in order; `-1`: every entry is sent at
    /// once on its own, without queueing (Kong's unlimited concurrency).
    pub concurrency_limit: i64,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            max_batch_size: 1,
            max_coalescing_delay: 1.0,
            max_entries: 10_000,
            max_bytes: None,
            max_retry_time: 60.0,
            initial_retry_delay: 0.01,
            max_retry_delay: 60.0,
            concurrency_limit: 1,
        }
    }
}

impl QueueConfig {
    /// Kong's `between` and `one_of` rules, with Kong's messages.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let between = |field: &str, value: f64, low: f64, high: f64| {
            if (low..=high).contains(&value) {
                Ok(())
            } else {
                Err(ConfigError::field(
                    format!("config.queue.{field}"),
                    format!("value should be between {} and {}", num(low), num(high)),
                ))
            }
        };
        between(
            "max_batch_size",
            self.max_batch_size as f64,
            1.0,
            1_000_000.0,
        )?;
        between(
            "max_coalescing_delay",
            self.max_coalescing_delay,
            0.0,
            3600.0,
        )?;
        between("max_entries", self.max_entries as f64, 1.0, 1_000_000.0)?;
        between(
            "initial_retry_delay",
            self.initial_retry_delay,
            0.001,
            1_000_000.0,
        )?;
        between("max_retry_delay", self.max_retry_delay, 0.001, 1_000_000.0)?;
        if ![-1, 1].contains(&self.concurrency_limit) {
            return Err(ConfigError::field(
                "config.queue.concurrency_limit",
                "expected one of: -1, 1",
            ));
        }
        if self.max_bytes.is_some_and(|b| b < 0) {
            // Kong declares no range; a negative size can hold nothing.
            return Err(ConfigError::field(
                "config.queue.max_bytes",
                "value must be greater than or equal to 0",
            ));
        }
        Ok(())
    }
}

/// A bound as Kong prints it (`1`, `0.001`).
fn num(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{n:.0}")
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::plugin::schema;
    use serde_json::json;

    fn err(v: serde_json::Value) -> String {
        schema::read::<QueueConfig>(&v)
            .and_then(|q| q.validate())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn kong_ranges_and_messages() {
        assert_eq!(
            err(json!({"max_batch_size": 0})),
            "config.queue.max_batch_size: value should be between 1 and 1000000"
        );
        assert_eq!(
            err(json!({"max_coalescing_delay": 3601})),
            "config.queue.max_coalescing_delay: value should be between 0 and 3600"
        );
        assert_eq!(
            err(json!({"initial_retry_delay": 0})),
            "config.queue.initial_retry_delay: value should be between 0.001 and 1000000"
        );
        assert_eq!(
            err(json!({"concurrency_limit": 2})),
            "config.queue.concurrency_limit: expected one of: -1, 1"
        );
        assert_eq!(
            err(json!({"max_entries": -1})),
            "config.queue.max_entries: value should be between 1 and 1000000"
        );
        assert_eq!(
            err(json!({"max_bytes": -1})),
            "config.queue.max_bytes: value must be greater than or equal to 0"
        );
        let q: QueueConfig = schema::read(&json!({"max_bytes": 10})).unwrap();
        assert_eq!(q.max_bytes, Some(10));
        q.validate().unwrap();
    }
}
