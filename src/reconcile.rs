//! The control-plane step shared by both modes: translate an object set,
//! seal secrets, publish the table if it changed, and account for it. It
//! also answers the Admin API's question before a write is kept: which
//! problems would this change add ([`Reconciler::check`]), from the objects
//! and the memo it already holds.

mod debounce;

pub use debounce::{Burst, Debounce};

use crate::kong::Document;
use crate::metrics::Metrics;
use crate::model::Problem;
use crate::objects::{Declarative, ObjectSet};
use crate::publish::TableHandle;
use crate::secret::Sealer;
use crate::translate::{self, Memo, Options};
use std::sync::Arc;
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
    /// The objects of the last reconcile, what a [`Change`] is checked
    /// against.
    objects: Arc<ObjectSet>,
    last_problems: Vec<Problem>,
}

/// A change to the object set, checked before it is made.
#[derive(Clone, Debug)]
pub enum Change {
    /// Puts `document` in place of the declarative document read from
    /// `origin` (or adds it): an Admin API write to its file.
    Declarative {
        /// Where the document is read from (the file's path).
        origin: String,
        /// The document as it would be written.
        document: Arc<Document>,
    },
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
            objects: Arc::default(),
            last_problems: Vec::new(),
        }
    }

    /// Keeps key-auth keys in the published table only as digests under
    /// `key` (`--hash-api-keys`); the plugins look keys up with the same key.
    pub fn digest_api_keys(self, key: crate::secret::DigestKey) -> Self {
        Self {
            sealer: self.sealer.digest_api_keys(key),
            ..self
        }
    }

    /// Translates `objects` and publishes the result when it differs from the
    /// current table. Problems that are new since the last call are logged.
    /// The objects are kept for [`Reconciler::check`].
    pub fn reconcile(&mut self, objects: Arc<ObjectSet>) -> Outcome {
        let start = Instant::now();
        let waited_before = cpu_wait();
        let mut translation = translate::translate_cached(&objects, &self.options, &mut self.memo);
        let translate = start.elapsed();
        let translate_wait = cpu_wait()
            .zip(waited_before)
            .map(|(after, before)| after.saturating_sub(before).as_secs_f64() * 1e3);
        self.sealer.seal(&mut translation.table);
        let sealed = start.elapsed() - translate;
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
                translate_wait_ms = translate_wait,
                seal_ms = sealed.as_secs_f64() * 1e3,
                compare_ms = replaced.compare.as_secs_f64() * 1e3,
                router_ms = replaced.router.as_secs_f64() * 1e3,
                balancers_ms = replaced.balancers.as_secs_f64() * 1e3,
                total_ms = total.as_secs_f64() * 1e3,
                "published routing table"
            );
        }
        self.last_problems = translation.problems.clone();
        self.last_problems.sort();
        self.objects = objects;
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

    /// The problems `change` would add to the last reconciled objects,
    /// sorted; nothing is published. Translates with the memo, so only what
    /// the change touches is translated again (a declarative document reuses
    /// every Ingress and consumer), and the reload that follows an accepted
    /// change finds the memo already holding its result.
    pub fn check(&mut self, change: Change) -> Vec<Problem> {
        // The stores are maps of `Arc`s: the copy shares every object.
        let mut proposed = ObjectSet::clone(&self.objects);
        change.apply(&mut proposed);
        translate::translate_cached(&proposed, &self.options, &mut self.memo)
            .problems
            .into_iter()
            .filter(|p| self.last_problems.binary_search(p).is_err())
            .collect()
    }

    /// Lets go of the objects of the last reconcile, which
    /// [`Reconciler::check`] reads, and gives them back: their source then
    /// holds them alone and can patch them in place for the next reconcile
    /// (a store shared with the reconciler is copied whole when one of its
    /// objects changes: 50,000 keys for one edited Ingress). Hand them back
    /// with [`Reconciler::hold`] if no reconcile follows.
    pub fn release(&mut self) -> Arc<ObjectSet> {
        std::mem::take(&mut self.objects)
    }

    /// Keeps `objects` as those [`Reconciler::check`] reads (after
    /// [`Reconciler::release`], when the reconcile did not happen).
    pub fn hold(&mut self, objects: Arc<ObjectSet>) {
        self.objects = objects;
    }

    /// The handle this reconciler publishes into.
    pub fn handle(&self) -> &TableHandle {
        &self.handle
    }
}

/// How long this thread has been ready to run while another held its CPU
/// (Linux's `/proc/thread-self/schedstat`, second field; `None` elsewhere).
/// Logged beside translate's duration, which is wall-clock time: on a
/// shared or pinned CPU, time spent waiting for it is not translate's own.
fn cpu_wait() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = stat.split_whitespace().nth(1)?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

// === impl Change ===

impl Change {
    fn apply(self, objects: &mut ObjectSet) {
        match self {
            Change::Declarative { origin, document } => {
                let slot = objects.declarative.iter_mut().find(|d| d.origin == origin);
                let entry = Declarative {
                    origin,
                    document: Ok(document),
                };
                match slot {
                    Some(slot) => *slot = entry,
                    None => objects.declarative.push(entry),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
