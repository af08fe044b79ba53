//! The control-plane step shared by both modes: translate an object set,
//! seal secrets, publish the table if it changed, and account for it.

use crate::metrics::Metrics;
use crate::model::Problem;
use crate::objects::ObjectSet;
use crate::publish::TableHandle;
use crate::secret::Sealer;
use crate::translate::{self, Memo, Options};
use std::time::{Duration, Instant};

/// Turns object sets into published tables, one call per change.
#[derive(Debug)]
pub struct Reconciler {
    handle: TableHandle,
    options: Options,
    metrics: Metrics,
    sealer: Sealer,
    /// Translation results kept for the next change (an edit translates
    /// again only what it touched).
    memo: Memo,
    last_problems: Vec<Problem>,
}

/// What one reconcile did.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Every problem in the input (sorted).
    pub problems: Vec<Problem>,
    /// The new generation, or `None` when the table did not change.
    pub generation: Option<u64>,
    /// Time spent in `translate` alone.
    pub translate: Duration,
    /// Time for the whole reconcile (translate, seal, publish).
    pub total: Duration,
}

// === impl Reconciler ===

impl Reconciler {
    /// A reconciler publishing into `handle`.
    pub fn new(handle: TableHandle, options: Options, metrics: Metrics) -> Self {
        Self {
            handle,
            options,
            metrics,
            sealer: Sealer::new(),
            memo: Memo::new(),
            last_problems: Vec::new(),
        }
    }

    /// Translates `objects` and publishes the result when it differs from the
    /// current table. Problems that are new since the last call are logged.
    pub fn reconcile(&mut self, objects: &ObjectSet) -> Outcome {
        let start = Instant::now();
        let mut translation = translate::translate_cached(objects, &self.options, &mut self.memo);
        let translate = start.elapsed();
        self.sealer.seal(&mut translation.table);
        let replaced = self.handle.replace(translation.table);
        let generation = replaced.generation;
        let total = start.elapsed();

        self.metrics.reconciles.inc();
        self.metrics
            .translate_duration
            .observe(translate.as_secs_f64());
        self.metrics.reconcile_duration.observe(total.as_secs_f64());
        self.metrics.set_problems(&translation.problems);
        self.metrics
            .table_generation
            .set(self.handle.generation() as i64);

        for p in &translation.problems {
            if self.last_problems.binary_search(p).is_err() {
                tracing::warn!(object = %p.object, reason = %p.reason, "{}", p.message);
            }
        }
        if let Some(generation) = generation {
            tracing::info!(
                generation,
                objects = objects.len(),
                problems = translation.problems.len(),
                reused_ingresses = self.memo.reused().ingresses,
                translate_ms = translate.as_secs_f64() * 1e3,
                total_ms = total.as_secs_f64() * 1e3,
                "published routing table"
            );
        }
        self.last_problems = translation.problems.clone();
        self.last_problems.sort();
        // Freed here, after the new table serves and outside `total`; a
        // request still holding it frees it when it finishes.
        drop(replaced.previous);
        Outcome {
            problems: translation.problems,
            generation,
            translate,
            total,
        }
    }

    /// The handle this reconciler publishes into.
    pub fn handle(&self) -> &TableHandle {
        &self.handle
    }
}
