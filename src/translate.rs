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
use crate::objects::ObjectSet;
use crate::objects::class::ClassFilter;
use kube::Resource;

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
    };
    let mut table = Table::default();

    let mut plugins = plugins::Resolver::new();
    let globals = plugins.globals(&mut cx);
    let units = memo.as_deref_mut().map(|m| &mut m.ingresses);
    let reused = ingress::translate(&mut cx, &mut plugins, &globals, &mut table, units);
    match memo {
        Some(memo) => {
            memo.reused.ingresses = reused;
            memo.reused.consumers = memo.consumers.is_some();
            let consumers = match memo.consumers.take() {
                Some(kept) => kept,
                None => consumers::translate(&mut cx),
            };
            consumers.clone().place(&mut cx, &mut table);
            memo.consumers = Some(consumers);
        }
        None => consumers::translate(&mut cx).place(&mut cx, &mut table),
    }
    holders::translate(&mut cx, &mut plugins, &mut table);
    declarative::translate(&mut cx, &mut table);
    table.certificates = tls::translate(&mut cx);
    unserved::translate(&mut cx);

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
}

// === impl Cx ===

impl Cx<'_> {
    /// Records a problem on `object`.
    fn problem(&mut self, object: &ObjectRef, reason: &str, message: impl Into<String>) {
        self.problems
            .push(Problem::new(object.clone(), reason, message));
    }
}

/// The [`ObjectRef`] of a Kubernetes object (cluster-scoped when it has no
/// namespace).
fn object_ref<K: Resource<DynamicType = ()>>(object: &K) -> ObjectRef {
    let meta = object.meta();
    let kind = K::kind(&());
    let name = meta.name.as_deref().unwrap_or_default();
    match meta.namespace.as_deref() {
        Some(ns) => ObjectRef::new(&kind, ns, name),
        None => ObjectRef::cluster(&kind, name),
    }
}

/// An annotation value, if set.
fn annotation<'a, K: Resource>(object: &'a K, key: &str) -> Option<&'a str> {
    object
        .meta()
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}
