//! Kong's `queue` record (`kong/tools/queue_schema.lua`), the settings of
//! every batching plugin's background queue, with Kong's defaults, ranges
//! and messages.

use crate::model::plugin::ConfigError;
use serde::{Deserialize, Serialize};

/// `config.queue`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Entries handed to the handler at once.
    pub max_batch_size: i64,
    /// Seconds the queue waits for more entries after the first one.
    pub max_coalescing_delay: f64,
    /// Entries that may wait; past it the oldest are dropped.
    pub max_entries: i64,
    /// Bytes that may wait (unset: unbounded by size).
    pub max_bytes: Option<i64>,
    /// Seconds before a failing batch is given up (dropped).
    pub max_retry_time: f64,
    /// Seconds before the first retry; doubled for each further one.
    pub initial_retry_delay: f64,
    /// The cap of the doubled delay, in seconds.
    pub max_retry_delay: f64,
    /// `1`: one sender, batches in order; `-1`: every entry is sent at
    /// once on its own, without queueing.
    pub concurrency_limit: i64,
}

impl Default for QueueConfig {
    /// Kong's `queue_schema` defaults.
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

// === impl QueueConfig ===

impl QueueConfig {
    /// Kong's `between` and `one_of` rules of the record.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let between = |field: &str, value: f64, low: f64, high: f64, shown: &str| {
            if (low..=high).contains(&value) {
                Ok(())
            } else {
                Err(ConfigError::field(
                    format!("config.queue.{field}"),
                    format!("value should be between {shown}"),
                ))
            }
        };
        between(
            "max_batch_size",
            self.max_batch_size as f64,
            1.0,
            1e6,
            "1 and 1000000",
        )?;
        between(
            "max_coalescing_delay",
            self.max_coalescing_delay,
            0.0,
            3600.0,
            "0 and 3600",
        )?;
        between(
            "max_entries",
            self.max_entries as f64,
            1.0,
            1e6,
            "1 and 1000000",
        )?;
        between(
            "initial_retry_delay",
            self.initial_retry_delay,
            0.001,
            1e6,
            "0.001 and 1000000",
        )?;
        between(
            "max_retry_delay",
            self.max_retry_delay,
            0.001,
            1e6,
            "0.001 and 1000000",
        )?;
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
