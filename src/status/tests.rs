//! Reporter and Elector against the loopback fake API server.

use super::*;
use crate::objects::{KINDS, Object};
use crate::source::cluster::fake_api::FakeApi;
use crate::source::cluster::tests::cluster_fixture;
use serde_json::{Value, json};
use std::time::Duration;

/// What a watch would show right now.
fn objects(api: &FakeApi) -> ObjectSet {
    let mut set = ObjectSet::default();
    for (v, k) in KINDS {
        for o in api.list(v, k) {
            set.apply(Object::from_value(o).unwrap());
        }
    }
    set
}

fn problem(kind: &str, ns: Option<&str>, name: &str, reason: &str) -> Problem {
    let object = match ns {
        Some(ns) => ObjectRef::new(kind, ns, name),
        None => ObjectRef::cluster(kind, name),
    };
    Problem::new(object, reason, format!("{reason} on {name}"))
}

fn programmed(api: &FakeApi, kind: &str, ns: &str, name: &str) -> Value {
    let version = crate::objects::api_version(kind).unwrap();
    let o = api.get(version, kind, ns, name).unwrap();
    let conds = o["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    conds
        .into_iter()
        .find(|c| c["type"] == "Programmed")
        .unwrap_or(Value::Null)
}

fn writes(api: &FakeApi) -> Vec<String> {
    api.requests()
        .into_iter()
        .filter(|r| !r.starts_with("GET"))
        .collect()
}

fn reporter(api: &FakeApi, leading: bool, burst: u32) -> (Reporter, watch::Sender<bool>) {
    let (tx, rx) = watch::channel(leading);
    let mut options = StatusOptions::new("kong", "kingress-0");
    options.event_burst = burst;
    options.addresses = AddressSource {
        addresses: vec!["203.0.113.3".into(), "lb.example.com".into()],
        service: None,
    };
    (Reporter::new(api.client(), options, Metrics::new(), rx), tx)
}

#[tokio::test]
async fn writes_events_conditions_and_ingress_status_once() {
    let api = FakeApi::start().await;
    cluster_fixture(&api);
    let (mut reporter, _leader) = reporter(&api, true, 25);
    let problems = vec![
        problem("KongPlugin", Some("shop"), "oidc", "SecretNotFound"),
        problem("Ingress", Some("shop"), "web", "ServiceNotFound"),
    ];
    let set = objects(&api);
    let first = reporter.report(&set, &problems).await;
    // 2 Events, 4 conditions (plugin, cluster plugin, consumer, consumer
    // group), 1 Ingress.
    assert_eq!(
        first,
        Report {
            leader: true,
            writes: 7,
            pending: 0,
            failed: 0,
        }
    );

    let events = api.list("events.k8s.io/v1", "Event");
    assert_eq!(events.len(), 2);
    let ev = events
        .iter()
        .find(|e| e["regarding"]["kind"] == "KongPlugin")
        .unwrap();
    assert_eq!(ev["type"], "Warning");
    assert_eq!(ev["reason"], "SecretNotFound");
    assert_eq!(ev["note"], "SecretNotFound on oidc");
    assert_eq!(ev["reportingController"], "kingress");
    assert_eq!(ev["reportingInstance"], "kingress-0");
    assert_eq!(ev["metadata"]["namespace"], "shop");
    assert_eq!(
        ev["regarding"]["uid"],
        "uid-apis-configuration.konghq.com-v1-kongplugins-shop-oidc"
    );

    let c = programmed(&api, "KongPlugin", "shop", "oidc");
    assert_eq!(
        (c["status"].as_str(), c["reason"].as_str()),
        (Some("False"), Some("Invalid"))
    );
    assert_eq!(c["message"], "SecretNotFound on oidc");
    assert_eq!(
        programmed(&api, "KongConsumer", "shop", "alice")["status"],
        "True"
    );
    assert_eq!(
        programmed(&api, "KongClusterPlugin", "", "global")["status"],
        "True"
    );
    assert_eq!(
        programmed(&api, "KongConsumerGroup", "shop", "gold")["status"],
        "True"
    );
    let ing = api
        .get("networking.k8s.io/v1", "Ingress", "shop", "web")
        .unwrap();
    assert_eq!(
        ing["status"]["loadBalancer"]["ingress"],
        json!([{"ip": "203.0.113.3"}, {"hostname": "lb.example.com"}])
    );

    // The same input again, before the watch shows the writes: no write.
    let before = writes(&api).len();
    assert_eq!(reporter.report(&set, &problems).await.writes, 0);
    // A fresh reporter (say, a new leader) reading the cluster: no write.
    let (mut fresh, _l) = self::reporter(&api, true, 25);
    let mut again = fresh.report(&objects(&api), &problems).await;
    // It has not emitted these Events itself, so it does once.
    assert_eq!(again.writes, 2);
    again = fresh.report(&objects(&api), &problems).await;
    assert_eq!(again.writes, 0);
    assert_eq!(writes(&api).len(), before + 2);

    // The problem goes away: the condition flips, no Event.
    let fixed = vec![problems[1].clone()];
    assert_eq!(reporter.report(&objects(&api), &fixed).await.writes, 1);
    assert_eq!(
        programmed(&api, "KongPlugin", "shop", "oidc")["status"],
        "True"
    );
    // It comes back: a new Event and the condition flips again.
    assert_eq!(reporter.report(&objects(&api), &problems).await.writes, 2);
    assert_eq!(api.list("events.k8s.io/v1", "Event").len(), 5);

    // A problem on a consumer group: its Event names the v1beta1 object.
    let group = vec![problem(
        "KongConsumerGroup",
        Some("shop"),
        "gold",
        "DuplicateConsumerGroupName",
    )];
    assert_eq!(reporter.report(&objects(&api), &group).await.writes, 3);
    let c = programmed(&api, "KongConsumerGroup", "shop", "gold");
    assert_eq!(
        (c["status"].as_str(), c["reason"].as_str()),
        (Some("False"), Some("Invalid"))
    );
    let events = api.list("events.k8s.io/v1", "Event");
    let ev = events
        .iter()
        .find(|e| e["regarding"]["kind"] == "KongConsumerGroup")
        .unwrap();
    assert_eq!(
        ev["regarding"]["apiVersion"],
        "configuration.konghq.com/v1beta1"
    );
    assert_eq!(
        ev["regarding"]["uid"],
        "uid-apis-configuration.konghq.com-v1beta1-kongconsumergroups-shop-gold"
    );
}

#[tokio::test]
async fn followers_write_nothing() {
    let api = FakeApi::start().await;
    cluster_fixture(&api);
    let (mut reporter, leader) = reporter(&api, false, 25);
    let problems = vec![problem(
        "KongPlugin",
        Some("shop"),
        "oidc",
        "SecretNotFound",
    )];
    let report = reporter.report(&objects(&api), &problems).await;
    assert_eq!(report, Report::default());
    assert!(writes(&api).is_empty());

    leader.send_replace(true);
    assert!(reporter.report(&objects(&api), &problems).await.writes > 0);
}

#[tokio::test]
async fn events_are_rate_limited_and_emitted_later() {
    let api = FakeApi::start().await;
    cluster_fixture(&api);
    let (mut reporter, _leader) = reporter(&api, true, 2);
    let problems: Vec<Problem> = ["a", "b", "c", "d"]
        .iter()
        .map(|n| problem("Service", Some("shop"), n, "PortNotFound"))
        .collect();
    let set = objects(&api);
    let first = reporter.report(&set, &problems).await;
    assert_eq!(first.pending, 2);
    assert_eq!(api.list("events.k8s.io/v1", "Event").len(), 2);
    // Refill is 5 per second in StatusOptions::new.
    tokio::time::sleep(Duration::from_millis(450)).await;
    let second = reporter.report(&set, &problems).await;
    assert_eq!(second.pending, 0);
    assert_eq!(api.list("events.k8s.io/v1", "Event").len(), 4);
}

#[tokio::test]
async fn one_leader_at_a_time_and_takeover_after_expiry() {
    let api = FakeApi::start().await;
    let options = |holder: &str| LeaseOptions {
        duration: Duration::from_millis(300),
        renew: Duration::from_millis(100),
        ..LeaseOptions::for_class("kong", "kingress", holder)
    };
    let mut a = Elector::new(api.client(), options("a"));
    let mut b = Elector::new(api.client(), options("b"));
    assert!(a.step().await, "a free lease is taken");
    assert!(!b.step().await);
    assert!(a.step().await, "the holder renews");
    assert!(!b.step().await, "renewed leases stay taken");

    // `a` stops renewing; `b` waits a full duration from its last sighting.
    assert!(!b.step().await);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(b.step().await, "an expired lease is taken over");
    assert!(!a.step().await, "the old holder sees the new one");
    let lease = api
        .get(
            "coordination.k8s.io/v1",
            "Lease",
            "kingress",
            "kingress-leader-kong",
        )
        .unwrap();
    assert_eq!(lease["spec"]["holderIdentity"], "b");
    assert_eq!(lease["spec"]["leaseTransitions"], 1);
}

#[tokio::test]
async fn leader_steps_down_when_it_cannot_renew() {
    let api = FakeApi::start().await;
    let mut a = Elector::new(
        api.client(),
        LeaseOptions {
            duration: Duration::from_millis(300),
            renew: Duration::from_millis(100),
            ..LeaseOptions::for_class("kong", "kingress", "a")
        },
    );
    assert!(a.step().await);
    api.set_down(true);
    assert!(a.step().await, "a short failure keeps the lead");
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(!a.step().await, "past 2/3 of the duration it steps down");
}

#[tokio::test]
async fn status_writes_are_paced_and_the_latest_state_wins() {
    let api = FakeApi::start().await;
    let names: Vec<String> = (0..10).map(|i| format!("c-{i}")).collect();
    for name in &names {
        api.apply(json!({
            "apiVersion": "configuration.konghq.com/v1", "kind": "KongConsumer",
            "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"),
                         "annotations": {"kubernetes.io/ingress.class": "kong"}},
            "username": name
        }));
    }
    let (tx, rx) = watch::channel(true);
    let mut options = StatusOptions::new("kong", "kingress-0");
    options.write_burst = 3;
    options.writes_per_second = 5.0;
    let mut reporter = Reporter::new(api.client(), options, Metrics::new(), rx);
    let patches = |api: &FakeApi| {
        writes(api)
            .iter()
            .filter(|r| r.starts_with("PATCH") && r.contains("kongconsumers"))
            .count()
    };

    let first = reporter.report(&objects(&api), &[]).await;
    assert_eq!((first.writes, first.pending), (3, 7));
    assert_eq!(patches(&api), 3, "only the burst is written at once");

    // A consumer still waiting gets a problem meanwhile: its one write
    // carries the state current when it is made.
    let problems = vec![problem(
        "KongConsumer",
        Some("shop"),
        "c-9",
        "DuplicateUsername",
    )];
    let mut rounds = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let report = reporter.report(&objects(&api), &problems).await;
        rounds += 1;
        assert!(report.writes <= 2, "{report:?}: at most the refill");
        if report.pending == 0 {
            break;
        }
        assert!(rounds < 20, "all written within 4 s at 5 a second");
    }
    assert!(rounds >= 3, "7 writes at 5 a second take more than 1 s");
    assert_eq!(patches(&api), 10, "each consumer written once");
    assert_eq!(
        programmed(&api, "KongConsumer", "shop", "c-9")["status"],
        "False"
    );
    assert_eq!(
        programmed(&api, "KongConsumer", "shop", "c-0")["status"],
        "True"
    );
    drop(tx);
}
