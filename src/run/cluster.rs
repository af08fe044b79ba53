//! `kingress run`: watch the API server, reconcile every debounced change,
//! and report status from a separate task so slow status writes never hold
//! up the next table.

use super::{RunError, Servers, runtime, shutdown_signal};
use crate::cli::RunArgs;
use crate::metrics::Metrics;
use crate::model::Problem;
use crate::objects::{ObjectKey, ObjectSet};
use crate::publish::TableHandle;
use crate::reconcile::{Debounce, Reconciler};
use crate::source::cluster::{
    ClusterOptions, ClusterSource, connect, consumer_groups_installed, kong_ingresses_installed,
    unserved_installed, upstream_policies_installed,
};
use crate::status::{AddressSource, Elector, LeaseOptions, Reporter, StatusOptions};
use crate::translate::Options;
use kube::Client;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often status is re-checked without any change (and how soon after a
/// rate-limited or failed write it is retried).
const STATUS_RESYNC: Duration = Duration::from_secs(60);
const STATUS_RETRY: Duration = Duration::from_secs(1);

/// Everything the cluster loop needs, parsed from flags and environment.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterRunConfig {
    /// What to watch.
    pub source: ClusterOptions,
    /// What status to write and as whom.
    pub status: StatusOptions,
    /// The leader Lease.
    pub lease: LeaseOptions,
    /// How changes are coalesced before reconciling.
    pub debounce: Debounce,
    /// How long the first reconcile waits for referenced Secrets after every
    /// kind has listed (an unreadable Secret must not block serving).
    pub secret_wait: Duration,
}

#[cfg(test)]
mod tests;

/// Latest input for the status task.
type StatusInput = Option<(Arc<ObjectSet>, Arc<Vec<Problem>>)>;

// === impl ClusterRunConfig ===

impl ClusterRunConfig {
    /// From `kingress run` flags; identity from `POD_NAME` (else
    /// `HOSTNAME`), Lease namespace from `--election-namespace`, else
    /// `POD_NAMESPACE`, else `default`.
    pub fn from_args(args: &RunArgs) -> Result<Self, RunError> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let class = args.serve.ingress_class.clone();
        let publish_service = match &args.publish_service {
            Some(s) => match s.split_once('/') {
                Some((ns, name)) => Some((ns.to_string(), name.to_string())),
                None => {
                    return Err(RunError::Usage(format!(
                        "--publish-service '{s}' is not namespace/name"
                    )));
                }
            },
            None => None,
        };
        let namespaces: BTreeSet<String> = args
            .watch_namespaces
            .iter()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect();
        let instance = env("POD_NAME")
            .or_else(|| env("HOSTNAME"))
            .unwrap_or_else(|| format!("kingress-{}", uuid::Uuid::new_v4().simple()));
        let lease_namespace = args
            .election_namespace
            .clone()
            .or_else(|| env("POD_NAMESPACE"))
            .unwrap_or_else(|| "default".into());
        let mut status = StatusOptions::new(&class, &instance);
        status.addresses = AddressSource {
            addresses: args
                .publish_status_address
                .iter()
                .map(|a| a.trim().to_string())
                .collect(),
            service: publish_service.clone(),
        };
        Ok(Self {
            source: ClusterOptions {
                namespaces: namespaces.into_iter().collect(),
                ingress_class: class.clone(),
                publish_service,
                skip_consumer_groups: false,
                skip_upstream_policies: false,
                skip_kong_ingresses: false,
                unserved: Vec::new(),
            },
            lease: LeaseOptions::for_class(&class, &lease_namespace, &instance),
            status,
            debounce: args.serve.debounce(),
            secret_wait: Duration::from_secs(5),
        })
    }
}

/// `kingress run`: validate flags, connect (in-cluster config or
/// `KUBECONFIG`), bind the listeners and reconcile until SIGINT/SIGTERM.
pub async fn run_from_args(args: RunArgs) -> Result<(), RunError> {
    args.serve.validate().map_err(RunError::Usage)?;
    let config = ClusterRunConfig::from_args(&args)?;
    let kube_config = kube::Config::infer()
        .await
        .map_err(|e| RunError::Cluster(format!("cannot configure the Kubernetes client: {e}")))?;
    let client = connect(kube_config)
        .await
        .map_err(|e| RunError::Cluster(e.to_string()))?;
    let metrics = Metrics::new();
    let handle = TableHandle::new();
    let api_keys = super::api_key_digest(&args.serve);
    let mut runtime = runtime(&args.serve, &metrics).await?;
    let options = Options {
        ingress_class: config.source.ingress_class.clone(),
    };
    let mut reconciler = Reconciler::new(handle.clone(), options, metrics.clone());
    if let Some(key) = api_keys {
        runtime = runtime.digest_api_keys(key.clone());
        reconciler = reconciler.digest_api_keys(key);
    }
    let servers = Servers::bind(&args.serve, handle, runtime, metrics.clone()).await?;
    servers.spawn();
    tracing::info!(
        class = %config.source.ingress_class,
        namespaces = ?config.source.namespaces,
        instance = %config.status.instance,
        "watching the cluster"
    );
    tokio::select! {
        _ = run(client, config, metrics, move |objects| reconciler.reconcile(objects).problems) => {}
        _ = shutdown_signal() => {}
    }
    Ok(())
}

/// The control loop. Waits until every kind has listed (and, for at most
/// `secret_wait`, the Secrets they name), then reconciles on every change
/// after `debounce` of quiet and hands the problems to the status task.
/// Runs until dropped.
///
/// Translating thousands of objects takes hundreds of milliseconds of CPU,
/// so the snapshot and `reconcile` run on Tokio's blocking pool, never on an async worker
/// (with one worker the proxy would stop answering for the whole
/// reconcile), as standalone reloads do.
pub async fn run<F>(client: Client, config: ClusterRunConfig, metrics: Metrics, reconcile: F)
where
    F: FnMut(Arc<ObjectSet>) -> Vec<Problem> + Send + 'static,
{
    let mut options = config.source.clone();
    if !options.skip_consumer_groups && !consumer_groups_installed(&client).await {
        tracing::warn!(
            "the KongConsumerGroup CRD (configuration.konghq.com/v1beta1) is not installed: \
             consumer groups are not read (install the CRD and restart kingress)"
        );
        options.skip_consumer_groups = true;
    }
    if !options.skip_upstream_policies && !upstream_policies_installed(&client).await {
        tracing::warn!(
            "the KongUpstreamPolicy CRD (configuration.konghq.com/v1beta1) is not installed: \
             upstream policies are not read (install the CRD and restart kingress)"
        );
        options.skip_upstream_policies = true;
    }
    if !options.skip_kong_ingresses && !kong_ingresses_installed(&client).await {
        tracing::info!(
            "the KongIngress CRD (configuration.konghq.com/v1) is not installed: \
             konghq.com/override names nothing (install the CRD and restart kingress)"
        );
        options.skip_kong_ingresses = true;
    }
    // Reported, not served: watched by metadata where installed.
    options.unserved = unserved_installed(&client).await;
    let mut source = ClusterSource::start(client.clone(), options, metrics.clone());
    let (leader, elector) = Elector::new(client.clone(), config.lease.clone()).spawn();
    let reporter = Reporter::new(client, config.status.clone(), metrics, leader);
    let (status_tx, status_rx) = watch::channel(StatusInput::None);
    // Dropping this loop (shutdown) aborts the elector and status tasks.
    let _tasks = Tasks(vec![
        elector,
        tokio::spawn(report_loop(reporter, status_rx)),
    ]);

    while !source.is_listed() {
        source.changed().await;
    }
    let mut given_up = BTreeSet::new();
    settle(&mut source, &mut given_up, config.secret_wait).await;
    tracing::info!("initial list complete");
    let mut reconcile = Some(reconcile);
    loop {
        let reader = source.reader();
        let Some(mut job) = reconcile.take() else {
            return;
        };
        let done = tokio::task::spawn_blocking(move || {
            // Copying the Arcs of 10,000 objects out of the stores is work
            // too: done here, with the translate.
            let objects = Arc::new(reader.snapshot());
            let problems = job(objects.clone());
            (job, objects, problems)
        });
        let (objects, problems) = match done.await {
            Ok((job, objects, problems)) => {
                reconcile = Some(job);
                (objects, problems)
            }
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Cancelled: the runtime is shutting down.
            Err(_) => return,
        };
        status_tx.send_replace(Some((objects, Arc::new(problems))));
        source.changed().await;
        debounce(&mut source, config.debounce).await;
        settle(&mut source, &mut given_up, config.debounce.quiet * 10).await;
    }
}

/// Coalesces a burst of changes: returns after the quiet time without a
/// change, or at the burst's maximum wait, so constant churn
/// (EndpointSlices) cannot starve reconciles.
async fn debounce(source: &mut ClusterSource, debounce: Debounce) {
    let burst = debounce.start();
    while tokio::time::timeout_at(burst.until(), source.changed())
        .await
        .is_ok()
    {}
}

/// Gives newly referenced Secrets up to `limit` to be read, so a new
/// Ingress' certificate is not reported missing for the few milliseconds
/// its read takes, and longer while reading makes progress: 10,000 Secrets
/// read a few at a time take seconds. Secrets that stay unreadable (no
/// such namespace, no RBAC) are waited for once, not on every reconcile.
async fn settle(source: &mut ClusterSource, given_up: &mut BTreeSet<ObjectKey>, limit: Duration) {
    if source.is_ready() {
        given_up.clear();
        return;
    }
    // Nothing unread yet not ready: the Secrets are being matched to a
    // change of the objects, which takes milliseconds; wait for it.
    let unread = source.unread_secrets();
    if !unread.is_empty() && unread.iter().all(|k| given_up.contains(k)) {
        given_up.retain(|k| unread.contains(k));
        return;
    }
    let mut before = if unread.is_empty() {
        usize::MAX
    } else {
        unread.len()
    };
    loop {
        if tokio::time::timeout(limit, source.wait_ready())
            .await
            .is_ok()
        {
            given_up.clear();
            return;
        }
        let unread = source.unread_secrets();
        if !unread.is_empty() && unread.len() < before {
            before = unread.len();
            continue;
        }
        // Nothing unread: the Secrets are still being matched to objects
        // that keep changing; that is no Secret's fault.
        if !unread.is_empty() {
            let first = &unread[..unread.len().min(10)];
            tracing::warn!(count = unread.len(), first = ?first, "referenced secrets are not readable yet; translating without them");
        }
        *given_up = unread.into_iter().collect();
        return;
    }
}

/// Writes status for the latest input; re-runs on new input, on a change
/// of leadership, after a held-back Event, and once a minute.
async fn report_loop(mut reporter: Reporter, mut input: watch::Receiver<StatusInput>) {
    let mut leader = reporter.leader();
    loop {
        let current = input.borrow_and_update().clone();
        let mut wait = STATUS_RESYNC;
        if let Some((objects, problems)) = current
            && reporter.report(&objects, &problems).await.pending > 0
        {
            wait = STATUS_RETRY;
        }
        tokio::select! {
            changed = input.changed() => if changed.is_err() { return },
            changed = leader.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Background tasks that end with the loop that started them.
struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        self.0.iter().for_each(JoinHandle::abort);
    }
}
