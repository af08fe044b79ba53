//! Leader election with a coordination.k8s.io/v1 Lease, so that only one
//! replica writes status while every replica serves traffic.
//!
//! Expiry is judged by the local clock from when this replica last saw the
//! Lease change (as client-go does), never by comparing the holder's
//! `renewTime` with our clock, so clock skew between nodes cannot hand the
//! Lease to two replicas. A leader that cannot renew steps down after two
//! thirds of the lease duration, before anyone else may take over.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::chrono::Utc;
use kube::api::PostParams;
use kube::{Api, Client};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Where the Lease lives and who we are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseOptions {
    /// Lease name, e.g. `kingress-leader-kong`.
    pub name: String,
    /// Lease namespace (`POD_NAMESPACE` or `--election-namespace`).
    pub namespace: String,
    /// Our identity (pod name or hostname).
    pub holder: String,
    /// How long a Lease stays valid without renewal (15 s).
    pub duration: Duration,
    /// How often the holder renews and others retry (5 s).
    pub renew: Duration,
}

/// One replica's view of the election.
pub struct Elector {
    api: Api<Lease>,
    options: LeaseOptions,
    /// The other holder's record as last seen, and when it last changed.
    observed: Option<(Record, Instant)>,
    /// When we last renewed successfully while leading.
    renewed: Option<Instant>,
}

/// What identifies a renewal of someone else's Lease.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Record {
    holder: String,
    resource_version: Option<String>,
}

// === impl LeaseOptions ===

impl LeaseOptions {
    /// The conventional options for `class`: Lease `kingress-leader-<class>`,
    /// 15 s duration, renewed every 5 s.
    pub fn for_class(class: &str, namespace: &str, holder: &str) -> Self {
        Self {
            name: format!("kingress-leader-{class}"),
            namespace: namespace.to_string(),
            holder: holder.to_string(),
            duration: Duration::from_secs(15),
            renew: Duration::from_secs(5),
        }
    }
}

// === impl Elector ===

impl Elector {
    /// An elector that has not tried yet.
    pub fn new(client: Client, options: LeaseOptions) -> Self {
        Self {
            api: Api::namespaced(client, &options.namespace),
            options,
            observed: None,
            renewed: None,
        }
    }

    /// Runs the election until aborted; the receiver tells whether this
    /// replica leads right now.
    pub fn spawn(self) -> (watch::Receiver<bool>, JoinHandle<()>) {
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(self.run(tx));
        (rx, task)
    }

    async fn run(mut self, tx: watch::Sender<bool>) {
        loop {
            let leading = self.step().await;
            tx.send_if_modified(|was| {
                if *was != leading {
                    tracing::info!(lease = %self.options.name, holder = %self.options.holder, leading, "leadership changed");
                }
                std::mem::replace(was, leading) != leading
            });
            tokio::time::sleep(self.options.renew).await;
        }
    }

    /// One attempt to acquire or renew. Returns whether we lead now.
    pub async fn step(&mut self) -> bool {
        match self.try_step().await {
            Ok(leading) => {
                self.renewed = leading.then(Instant::now);
                leading
            }
            Err(error) => {
                tracing::warn!(lease = %self.options.name, %error, "lease update failed");
                // Keep leading only while our last renewal is fresh enough
                // that nobody else can have taken over.
                let deadline = self.options.duration * 2 / 3;
                let fresh = self.renewed.is_some_and(|t| t.elapsed() < deadline);
                if !fresh {
                    self.renewed = None;
                }
                fresh
            }
        }
    }

    async fn try_step(&mut self) -> Result<bool, kube::Error> {
        let now = MicroTime(Utc::now());
        let me = self.options.holder.clone();
        let Some(mut lease) = self.api.get_opt(&self.options.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.options.name.clone()),
                    namespace: Some(self.options.namespace.clone()),
                    ..Default::default()
                },
                spec: Some(self.spec(now, 0)),
            };
            return conflict_is_false(self.api.create(&PostParams::default(), &lease).await);
        };
        let spec = lease.spec.get_or_insert_with(Default::default);
        let holder = spec.holder_identity.clone().unwrap_or_default();
        if holder == me {
            spec.renew_time = Some(now);
            spec.lease_duration_seconds = Some(self.duration_seconds());
            return conflict_is_false(
                self.api
                    .replace(&self.options.name, &PostParams::default(), &lease)
                    .await,
            );
        }
        let record = Record {
            holder: holder.clone(),
            resource_version: lease.metadata.resource_version.clone(),
        };
        let since = match &self.observed {
            Some((seen, at)) if *seen == record => *at,
            _ => {
                let at = Instant::now();
                self.observed = Some((record, at));
                at
            }
        };
        // Our configured duration, not the record's (client-go does the
        // same): every replica runs with the same settings.
        if !holder.is_empty() && since.elapsed() < self.options.duration {
            return Ok(false);
        }
        let transitions = spec.lease_transitions.unwrap_or(0) + 1;
        lease.spec = Some(self.spec(now, transitions));
        conflict_is_false(
            self.api
                .replace(&self.options.name, &PostParams::default(), &lease)
                .await,
        )
    }

    fn spec(&self, now: MicroTime, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.options.holder.clone()),
            lease_duration_seconds: Some(self.duration_seconds()),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            lease_transitions: Some(transitions),
            ..Default::default()
        }
    }
}

impl Elector {
    /// The duration as the Lease records it: whole seconds, at least one.
    fn duration_seconds(&self) -> i32 {
        self.options.duration.as_secs_f64().ceil().max(1.0) as i32
    }
}

/// A write that lost a race (409) means someone else got there first.
fn conflict_is_false(result: Result<Lease, kube::Error>) -> Result<bool, kube::Error> {
    match result {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}
