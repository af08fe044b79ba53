//! The cluster loop against the loopback fake API server: first sync,
//! debounced reconciles, status from problems, and an outage.

use super::*;
use crate::model::ObjectRef;
use crate::source::cluster::fake_api::FakeApi;
use crate::source::cluster::tests::{cluster_fixture, ingress};
use tokio::sync::mpsc;
use tokio::time::Instant;

fn config() -> ClusterRunConfig {
    let mut status = StatusOptions::new("kong", "kingress-0");
    status.addresses.addresses = vec!["203.0.113.9".into()];
    ClusterRunConfig {
        source: ClusterOptions {
            namespaces: vec![],
            ingress_class: "kong".into(),
            publish_service: None,
            skip_consumer_groups: false,
            skip_upstream_policies: false,
            skip_kong_ingresses: false,
            unserved: Vec::new(),
        },
        status,
        lease: LeaseOptions::for_class("kong", "kingress", "kingress-0"),
        debounce: Debounce::new(Duration::from_millis(50), None),
        secret_wait: Duration::from_secs(5),
    }
}

/// What one reconcile saw: (ingresses, secrets).
type Seen = (usize, usize);

fn spawn_loop(api: &FakeApi, problems: Vec<Problem>) -> (mpsc::UnboundedReceiver<Seen>, Tasks) {
    let (tx, rx) = mpsc::unbounded_channel();
    let reconcile = move |objects: Arc<ObjectSet>| {
        let _ = tx.send((objects.ingresses.len(), objects.secrets.len()));
        problems.clone()
    };
    let task = tokio::spawn(run(api.client(), config(), Metrics::new(), reconcile));
    (rx, Tasks(vec![task]))
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("a reconcile")
        .unwrap()
}

#[tokio::test]
async fn first_reconcile_sees_the_full_list_then_bursts_coalesce() {
    let api = FakeApi::start().await;
    cluster_fixture(&api);
    let (mut seen, _tasks) = spawn_loop(&api, vec![]);
    // Everything listed, including the referenced Secrets.
    assert_eq!(next(&mut seen).await, (1, 3));

    // A burst of changes within the debounce is one reconcile.
    for i in 0..5 {
        api.apply(ingress("shop", &format!("burst-{i}"), "web-tls"));
    }
    let mut last = next(&mut seen).await;
    while last.0 < 6 {
        last = next(&mut seen).await;
    }
    assert_eq!(last, (6, 3));
}

/// A slow reconcile (a big translate) must not stall the runtime: on the
/// single-threaded test runtime a ticker keeps ticking while it runs.
#[tokio::test(flavor = "current_thread")]
async fn reconciles_run_off_the_async_runtime() {
    let api = FakeApi::start().await;
    cluster_fixture(&api);
    let (tx, mut done) = mpsc::unbounded_channel();
    let reconcile = move |_objects: Arc<ObjectSet>| {
        std::thread::sleep(Duration::from_millis(1000));
        let _ = tx.send(());
        vec![]
    };
    let longest_gap = Arc::new(parking_lot::Mutex::new(Duration::ZERO));
    let gap = longest_gap.clone();
    let ticker = tokio::spawn(async move {
        loop {
            let before = Instant::now();
            tokio::time::sleep(Duration::from_millis(10)).await;
            let mut g = gap.lock();
            *g = (*g).max(before.elapsed());
        }
    });
    let task = tokio::spawn(run(api.client(), config(), Metrics::new(), reconcile));
    let _tasks = Tasks(vec![task, ticker]);
    tokio::time::timeout(Duration::from_secs(20), done.recv())
        .await
        .expect("a reconcile");
    let gap = *longest_gap.lock();
    assert!(
        gap < Duration::from_millis(500),
        "the runtime stalled for {gap:?} during a 1 s reconcile"
    );
}

#[tokio::test]
async fn problems_become_status_through_the_leader() {
    let api = FakeApi::start().await;
    cluster_fixture(&api);
    let problem = Problem::new(
        ObjectRef::new("KongPlugin", "shop", "oidc"),
        "SecretKeyMissing",
        "key config missing in Secret shop/oidc-config",
    );
    let (mut seen, _tasks) = spawn_loop(&api, vec![problem]);
    next(&mut seen).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let events = api.list("events.k8s.io/v1", "Event");
        let ingress = api
            .get("networking.k8s.io/v1", "Ingress", "shop", "web")
            .unwrap();
        if events.len() == 1 && !ingress["status"]["loadBalancer"]["ingress"].is_null() {
            assert_eq!(events[0]["reason"], "SecretKeyMissing");
            assert_eq!(
                ingress["status"]["loadBalancer"]["ingress"][0]["ip"],
                "203.0.113.9"
            );
            break;
        }
        assert!(Instant::now() < deadline, "status was not written");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let lease = api
        .get(
            "coordination.k8s.io/v1",
            "Lease",
            "kingress",
            "kingress-leader-kong",
        )
        .unwrap();
    assert_eq!(lease["spec"]["holderIdentity"], "kingress-0");
}

#[tokio::test]
async fn publishes_through_the_reconciler_and_survives_an_outage() {
    let api = FakeApi::start().await;
    cluster_fixture(&api);
    let handle = TableHandle::new();
    let mut generations = handle.subscribe();
    let mut reconciler = Reconciler::new(handle.clone(), Options::default(), Metrics::new());
    let (tx, mut seen) = mpsc::unbounded_channel();
    let reconcile = move |objects: Arc<ObjectSet>| {
        let _ = tx.send(objects.ingresses.len());
        reconciler.reconcile(objects).problems
    };
    let _tasks = Tasks(vec![tokio::spawn(run(
        api.client(),
        config(),
        Metrics::new(),
        reconcile,
    ))]);
    tokio::time::timeout(Duration::from_secs(20), generations.wait_for(|g| *g >= 1))
        .await
        .expect("first table published")
        .unwrap();
    assert_eq!(seen.recv().await, Some(1));

    api.set_down(true);
    api.apply(ingress("shop", "while-down", "web-tls"));
    assert_eq!(handle.generation(), 1, "the last table stays");
    api.set_down(false);
    let ingresses = async {
        loop {
            if seen.recv().await == Some(2) {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), ingresses)
        .await
        .expect("caught up after the outage");
}
