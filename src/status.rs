//! Status flowing back to the cluster: problems as Events on the object at
//! fault, the `Programmed` condition of Kong resources, and Ingress
//! `status.loadBalancer`. Only the holder of the leader Lease writes; every
//! replica serves traffic. Every write is skipped when the cluster already
//! shows what would be written.

mod bucket;
mod conditions;
mod events;
mod ingress;
pub mod lease;

#[cfg(test)]
mod tests;

pub use conditions::PROGRAMMED;
pub use events::CONTROLLER;
pub use ingress::AddressSource;
pub use lease::{Elector, LeaseOptions};

use crate::crd::{KongClusterPlugin, KongConsumerGroup, KongPlugin};
use crate::metrics::{KindLabels, Metrics};
use crate::model::{ObjectRef, Problem};
use crate::objects::class::ClassFilter;
use crate::objects::{KongConsumer, ObjectSet, Unserved};
use bucket::{Bucket, Written};
use conditions::ConditionWriter;
use events::EventWriter;
use ingress::IngressWriter;
use kube::{Api, Client, ResourceExt};
use std::collections::BTreeMap;
use tokio::sync::watch;

/// What the reporter writes and as whom.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusOptions {
    /// Ingress class served (which Ingresses, KongClusterPlugins,
    /// KongConsumers and KongConsumerGroups are ours).
    pub ingress_class: String,
    /// Source of Ingress addresses; nothing is written when empty.
    pub addresses: AddressSource,
    /// `reportingInstance` of Events (the pod name).
    pub instance: String,
    /// Events created at once before the rate limit applies.
    pub event_burst: u32,
    /// Events per second after the burst.
    pub events_per_second: f64,
    /// Status writes (conditions, Ingress addresses) made at once before
    /// the rate limit applies.
    pub write_burst: u32,
    /// Status writes per second after the burst.
    pub writes_per_second: f64,
}

/// Writes status for problems and objects, when leading.
pub struct Reporter {
    client: Client,
    options: StatusOptions,
    metrics: Metrics,
    leader: watch::Receiver<bool>,
    events: EventWriter,
    /// The budget of status writes, shared by every kind.
    writes: Bucket,
    conditions: ConditionWriter,
    ingresses: IngressWriter,
}

/// What one [`Reporter::report`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Whether this replica led (nothing is written otherwise).
    pub leader: bool,
    /// Status writes and Events created.
    pub writes: usize,
    /// Problems whose Event, and objects whose status write, the rate
    /// limits held back; report again soon to write them. (Refused writes
    /// are retried on the next report.)
    pub pending: usize,
    /// Events the API server refused.
    pub failed: usize,
}

// === impl StatusOptions ===

impl StatusOptions {
    /// Options for `class` reporting as `instance`, with no Ingress
    /// addresses, an Event budget of 25 at once, then 5 per second, and a
    /// status write budget of 100 at once, then 50 per second (10,000
    /// new KongConsumers get their condition over some 200 s instead of
    /// in one burst the API server's fairness limits would refuse).
    pub fn new(ingress_class: &str, instance: &str) -> Self {
        Self {
            ingress_class: ingress_class.to_string(),
            addresses: AddressSource::default(),
            instance: instance.to_string(),
            event_burst: 25,
            events_per_second: 5.0,
            write_burst: 100,
            writes_per_second: 50.0,
        }
    }
}

// === impl Reporter ===

impl Reporter {
    /// A reporter that writes while `leader` holds `true`.
    pub fn new(
        client: Client,
        options: StatusOptions,
        metrics: Metrics,
        leader: watch::Receiver<bool>,
    ) -> Self {
        let events = EventWriter::new(
            client.clone(),
            &options.instance,
            options.event_burst,
            options.events_per_second,
        );
        Self {
            client,
            writes: Bucket::new(options.write_burst, options.writes_per_second),
            options,
            metrics,
            leader,
            events,
            conditions: ConditionWriter::default(),
            ingresses: IngressWriter::default(),
        }
    }

    /// Leadership as seen by this reporter (to re-report on gaining it).
    pub fn leader(&self) -> watch::Receiver<bool> {
        self.leader.clone()
    }

    /// Writes Events, conditions and Ingress status for `objects` and
    /// `problems`, if this replica leads.
    pub async fn report(&mut self, objects: &ObjectSet, problems: &[Problem]) -> Report {
        if !*self.leader.borrow() {
            // Whoever leads next decides from the cluster's state, and so
            // will we if we lead again.
            self.events.reset();
            self.conditions.reset();
            self.ingresses.reset();
            return Report::default();
        }
        let emitted = self.events.emit(objects, problems).await;
        self.count("Event", emitted.created);

        let mut by_object: BTreeMap<ObjectRef, Vec<&Problem>> = BTreeMap::new();
        for p in problems {
            by_object.entry(p.object.clone()).or_default().push(p);
        }
        let filter = ClassFilter::of(&self.options.ingress_class, objects);
        // Collected first: iterator closures held across an await make the
        // future's lifetimes too specific to be `Send`.
        let plugins: Vec<&KongPlugin> = objects.kong_plugins.values().map(|p| &**p).collect();
        let cluster_plugins: Vec<&KongClusterPlugin> = objects
            .kong_cluster_plugins
            .values()
            .map(|p| &**p)
            .filter(|p| filter.annotated(&**p))
            .collect();
        let consumers: Vec<&KongConsumer> = objects
            .kong_consumers
            .values()
            .map(|c| &**c)
            .filter(|c| filter.annotated(&**c))
            .collect();
        let groups: Vec<&KongConsumerGroup> = objects
            .kong_consumer_groups
            .values()
            .map(|g| &**g)
            .filter(|g| filter.annotated(&**g))
            .collect();
        let client = self.client.clone();
        let namespaced = |ns: Option<String>| ns.unwrap_or_default();
        let plugin_writes = self
            .conditions
            .write(
                |p: &KongPlugin| -> Api<KongPlugin> {
                    Api::namespaced(client.clone(), &namespaced(p.namespace()))
                },
                plugins,
                &by_object,
                &mut self.writes,
            )
            .await;
        self.count("KongPlugin", plugin_writes.writes);
        let cluster_plugin_writes = self
            .conditions
            .write(
                |_: &KongClusterPlugin| -> Api<KongClusterPlugin> { Api::all(client.clone()) },
                cluster_plugins,
                &by_object,
                &mut self.writes,
            )
            .await;
        self.count("KongClusterPlugin", cluster_plugin_writes.writes);
        let consumer_writes = self
            .conditions
            .write(
                |c: &KongConsumer| -> Api<crate::crd::KongConsumer> {
                    let ns = crate::objects::Named::namespace(c).unwrap_or_default();
                    Api::namespaced(client.clone(), ns)
                },
                consumers,
                &by_object,
                &mut self.writes,
            )
            .await;
        self.count("KongConsumer", consumer_writes.writes);
        let group_writes = self
            .conditions
            .write(
                |g: &KongConsumerGroup| -> Api<KongConsumerGroup> {
                    Api::namespaced(client.clone(), &namespaced(g.namespace()))
                },
                groups,
                &by_object,
                &mut self.writes,
            )
            .await;
        self.count("KongConsumerGroup", group_writes.writes);
        // Unserved kinds with conditions: ours by the class annotation, as
        // KIC filters KongVault and KongCustomEntity.
        let unserved: Vec<&Unserved> = objects
            .unserved
            .iter()
            .filter(|u| filter.annotation_matches(u.class.as_deref()))
            .collect();
        let unserved_writes = self
            .conditions
            .write_unserved(&client, unserved, &by_object, &mut self.writes)
            .await;
        self.count("Unserved", unserved_writes.writes);
        let mut ingresses = Written::default();
        if let Some(addresses) = self.options.addresses.resolve(objects) {
            ingresses = self
                .ingresses
                .write(&client, objects, &filter, &addresses, &mut self.writes)
                .await;
            self.count("Ingress", ingresses.writes);
        }
        let status = [
            plugin_writes,
            cluster_plugin_writes,
            consumer_writes,
            group_writes,
            unserved_writes,
            ingresses,
        ];
        Report {
            leader: true,
            writes: emitted.created + status.iter().map(|w| w.writes).sum::<usize>(),
            pending: emitted.pending + status.iter().map(|w| w.pending).sum::<usize>(),
            failed: emitted.failed,
        }
    }

    fn count(&self, kind: &str, n: usize) {
        if n > 0 {
            let labels = KindLabels {
                kind: kind.to_string(),
            };
            self.metrics
                .status_writes
                .get_or_create(&labels)
                .inc_by(n as u64);
        }
    }
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter")
            .field("options", &self.options)
            .field("leader", &*self.leader.borrow())
            .finish_non_exhaustive()
    }
}
