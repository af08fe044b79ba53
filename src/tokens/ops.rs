//! The `token_store_operations` counters of one store. Looking a labelled
//! series up builds its label set (two strings) and hashes it; a store only
//! ever reports two series, so each is looked up once, on first use, and
//! kept. A series still appears only once it has counted something.

use crate::metrics::{Metrics, StoreLabels};
use prometheus_client::metrics::counter::Counter;
use std::sync::OnceLock;

/// One store's operation counters.
#[derive(Debug)]
pub(crate) struct OpCounters {
    metrics: Option<Metrics>,
    backend: &'static str,
    ok: OnceLock<Counter>,
    error: OnceLock<Counter>,
}

// === impl OpCounters ===

impl OpCounters {
    /// Counters of a `backend` store; none are kept without `metrics`.
    pub(crate) fn new(metrics: Option<Metrics>, backend: &'static str) -> Self {
        Self {
            metrics,
            backend,
            ok: OnceLock::new(),
            error: OnceLock::new(),
        }
    }

    /// The metrics the store reports to.
    pub(crate) fn metrics(&self) -> Option<&Metrics> {
        self.metrics.as_ref()
    }

    /// Counts one operation.
    pub(crate) fn count(&self, ok: bool) {
        let Some(metrics) = &self.metrics else {
            return;
        };
        metrics.kong.datastore_reachable.set(i64::from(ok));
        let (cell, outcome) = if ok {
            (&self.ok, "ok")
        } else {
            (&self.error, "error")
        };
        cell.get_or_init(|| {
            // A clone shares the series' value with the family.
            metrics
                .token_store_ops
                .get_or_create(&StoreLabels {
                    backend: self.backend.to_string(),
                    outcome: outcome.to_string(),
                })
                .clone()
        })
        .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_into_the_shared_family() {
        let metrics = Metrics::new();
        let ops = OpCounters::new(Some(metrics.clone()), "memory");
        ops.count(true);
        ops.count(true);
        ops.count(false);
        let get = |outcome: &str| {
            metrics
                .token_store_ops
                .get_or_create(&StoreLabels {
                    backend: "memory".into(),
                    outcome: outcome.into(),
                })
                .get()
        };
        assert_eq!((get("ok"), get("error")), (2, 1));
        // Without metrics nothing is kept.
        let none = OpCounters::new(None, "memory");
        none.count(true);
        assert!(none.ok.get().is_none());
    }
}
