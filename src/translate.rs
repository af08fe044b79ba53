//! Pure translation from an [`ObjectSet`] to a routing [`Table`] plus the
//! [`Problem`]s found on the way. No I/O, no clock, no randomness: the same
//! objects always give the same table and the same (sorted) problems.
//!
//! Follows Kong's ingress controller (KIC) closely, with one deliberate
//! difference: where KIC fails open (a route whose plugin cannot be honoured
//! is served without it), kingress fails closed. Such a route keeps existing
//! but carries a `fault`, and the proxy answers it with 503 and that message.
//!
//! Steps, each in its own file:
//! - class membership ([`ClassFilter`](crate::objects::class::ClassFilter),
//!   shared with source and status): which Ingresses, KongConsumers and
//!   KongClusterPlugins are ours;
//! - `ingress`: routes from Ingress rules and the default backend, using
//!   `annotations`, `paths` and `backend` (Services and endpoints), with
//!   `kong_ingress` laying a KongIngress under the annotations;
//! - `plugins` (+ `plugin_config`): `konghq.com/plugins` references and
//!   global KongClusterPlugins to parsed plugin instances;
//! - `consumers` (+ `credentials`, `consumer_groups`): KongConsumers, their
//!   credentials and the KongConsumerGroups they join;
//! - `holders`: plugins attached to KongConsumers and KongConsumerGroups;
//! - `tls`: Ingress `spec.tls` Secrets to SNI certificates;
//! - `declarative`: Kong declarative documents (`kong.yml`), after the
//!   Kubernetes objects so a name both use stays with the Kubernetes one;
//! - `unserved`: manifests that could not be read and objects of Kong kinds
//!   kingress does not serve, each reported.

mod annotations;
mod backend;
mod consumer_groups;
mod consumers;
mod credentials;
mod declarative;
mod holders;
mod ids;
mod ingress;
mod kong_ingress;
mod memo;
mod paths;
mod plugin_config;
mod plugins;
mod rewrite;
mod secrets;
mod tls;
mod unserved;
mod upstream_policy;

use crate::model::{ObjectRef, Problem, Table};
use crate::objects::Named;
use crate::objects::Secret;
use crate::objects::class::ClassFilter;
use crate::objects::{ObjectKey, ObjectSet};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::sync::Arc;

pub use memo::{Memo, Reused};

/// Settings that shape translation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Ingress class this controller serves (`--ingress-class`, default `kong`).
    pub ingress_class: String,
}

/// The result of [`translate`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Translation {
    /// The routing table.
    pub table: Table,
    /// Everything wrong with the input, sorted.
    pub problems: Vec<Problem>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            ingress_class: "kong".to_string(),
        }
    }
}

/// Translates `objects` into a table and problems.
pub fn translate(objects: &ObjectSet, options: &Options) -> Translation {
    translate_with(objects, options, None)
}

/// [`translate`], reusing what `memo` kept of earlier calls where the same
/// objects are translated again (see [`Memo`]); the result is exactly what
/// [`translate`] gives. `memo` then holds this call's results.
pub fn translate_cached(objects: &ObjectSet, options: &Options, memo: &mut Memo) -> Translation {
    translate_with(objects, options, Some(memo))
}

fn translate_with(
    objects: &ObjectSet,
    options: &Options,
    mut memo: Option<&mut Memo>,
) -> Translation {
    if let Some(memo) = memo.as_deref_mut() {
        memo.begin(objects, options);
    }
    let mut cx = Cx {
        objects,
        class: ClassFilter::of(&options.ingress_class, objects),
        problems: Vec::new(),
        // The memo keys the Ingresses' and the consumers' shares on the
        // Secrets they read.
        secret_reads: memo.is_some().then(Default::default),
    };
    let mut table = Table::default();

    let mut plugins = plugins::Resolver::new();
    let globals = plugins.globals(&mut cx);
    let units = memo.as_deref_mut().map(|m| &mut m.ingresses);
    let reused = ingress::translate(&mut cx, &mut plugins, &globals, &mut table, units);
    let holdings = match memo.as_deref_mut() {
        Some(memo) => {
            // Global plugins are part of every Ingress's share, so what
            // they read counts too.
            memo.ingress_secrets.extend(cx.take_secret_reads());
            memo.reused.ingresses = reused;
            memo.reused.consumers = memo.consumers.is_some();
            let consumers = match memo.consumers.take() {
                Some(kept) => kept,
                None => {
                    let stale = memo.stale_consumers.take();
                    let consumers = consumers::translate(&mut cx, stale.as_ref());
                    memo.consumer_secrets = cx.take_secret_reads();
                    match stale {
                        Some(held) if held == consumers => held,
                        _ => consumers,
                    }
                }
            };
            let holdings = consumers.clone().place(&mut cx, &mut table);
            memo.consumers = Some(consumers);
            holdings
        }
        None => consumers::translate(&mut cx, None).place(&mut cx, &mut table),
    };
    // The steps below run whole every time: what they read need not be
    // kept.
    cx.secret_reads = None;
    holders::translate(&mut cx, &mut plugins, &holdings, &mut table);
    declarative::translate(&mut cx, &mut table);
    let checks = memo.as_deref_mut().map(|m| &mut m.tls);
    table.certificates = tls::translate(&mut cx, checks);
    unserved::translate(&mut cx);
    if let Some(memo) = memo {
        memo.reused.tls_checks = memo.tls.reused();
    }

    let mut problems = cx.problems;
    problems.sort();
    problems.dedup();
    Translation { table, problems }
}

/// What every step reads and where problems go.
struct Cx<'a> {
    objects: &'a ObjectSet,
    class: ClassFilter,
    problems: Vec<Problem>,
    /// The keys of the Secrets looked up (found or not) since last taken,
    /// when a memo needs them.
    secret_reads: Option<RefCell<BTreeSet<ObjectKey>>>,
}

// === impl Cx ===

impl<'a> Cx<'a> {
    /// Secret `namespace/name`. Every step reads Secrets through this, so
    /// the memo knows which Secrets each part depends on (a missing one
    /// too: it may appear).
    fn secret(&self, namespace: &str, name: &str) -> Option<&'a Arc<Secret>> {
        let key = (namespace.to_string(), name.to_string());
        let found = self.objects.secrets.get(&key);
        if let Some(reads) = &self.secret_reads {
            reads.borrow_mut().insert(key);
        }
        found
    }

    /// The Secrets read since the last call.
    fn take_secret_reads(&mut self) -> BTreeSet<ObjectKey> {
        self.secret_reads
            .as_mut()
            .map(|reads| std::mem::take(reads.get_mut()))
            .unwrap_or_default()
    }

    /// Records a problem on `object`.
    fn problem(&mut self, object: &ObjectRef, reason: &str, message: impl Into<String>) {
        self.problems
            .push(Problem::new(object.clone(), reason, message));
    }
}

/// The [`ObjectRef`] of a Kubernetes object (cluster-scoped when it has no
/// namespace).
fn object_ref<K: Named>(object: &K) -> ObjectRef {
    let kind = K::kind();
    match object.namespace() {
        Some(ns) => ObjectRef::new(&kind, ns, object.name()),
        None => ObjectRef::cluster(&kind, object.name()),
    }
}

/// An annotation value, if set.
fn annotation<'a, K: Named>(object: &'a K, key: &str) -> Option<&'a str> {
    object.annotation(key)
}
