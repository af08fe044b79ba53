use super::*;
use crate::model::{HashOn, ObjectRef, Thresholds};

fn service(targets: usize, balance: Option<Balance>) -> Service {
    let mut s = Service::new("ns.svc.80", ObjectRef::new("Service", "ns", "svc"));
    s.targets = (0..targets)
        .map(|i| Target::new(format!("10.0.0.{i}"), 80))
        .collect();
    s.balance = balance.map(Arc::new);
    s
}

fn policy(algorithm: Algorithm) -> Balance {
    let mut b = Balance::new("ns/p");
    b.algorithm = algorithm;
    b
}

fn table(service: Service) -> Table {
    Table {
        services: [(service.name.clone(), service)].into_iter().collect(),
        ..Table::default()
    }
}

fn only(balancers: &Balancers) -> &Arc<Balancer> {
    balancers.get("ns.svc.80").expect("the service's balancer")
}

fn picked(b: &Balancer, hash: Option<u32>) -> usize {
    match b.pick(hash, &[]) {
        Pick::Target(i) => i,
        other => panic!("no target: {other:?}"),
    }
}

#[test]
fn round_robin_takes_each_target_in_turn_and_retries_skip_tried_ones() {
    for balance in [None, Some(policy(Algorithm::RoundRobin))] {
        let balancers = Balancers::build(&table(service(3, balance)), None);
        let b = only(&balancers);
        let mut seen = [0; 3];
        for _ in 0..30 {
            seen[picked(b, None)] += 1;
        }
        assert_eq!(seen, [10, 10, 10]);
        assert_eq!(b.pick(None, &[0, 1, 2]), Pick::Exhausted);
        let Pick::Target(i) = b.pick(None, &[0, 2]) else {
            panic!()
        };
        assert_eq!(i, 1);
    }
}

#[test]
fn least_connections_prefers_the_target_with_fewest_in_flight() {
    let balancers = Balancers::build(
        &table(service(3, Some(policy(Algorithm::LeastConnections)))),
        None,
    );
    let b = only(&balancers);
    let _a = b.start(0);
    let _b = b.start(0);
    let c = b.start(1);
    for _ in 0..5 {
        assert_eq!(picked(b, None), 2);
    }
    drop(c);
    let next = picked(b, None);
    assert!(next == 1 || next == 2, "{next}");
    assert_eq!(b.state(0).map(|s| s.in_flight()), Some(2));
}

#[test]
fn consistent_hashing_is_sticky_spreads_keys_and_moves_only_a_lost_targets_keys() {
    let mut p = policy(Algorithm::ConsistentHashing);
    p.hash_on = HashOn::Header("x-user".into());
    p.healthchecks.passive.unhealthy.tcp_failures = 1;
    let balancers = Balancers::build(&table(service(4, Some(p))), None);
    let b = only(&balancers);
    let mut spread = [0usize; 4];
    let keys: Vec<u32> = (0..4000)
        .map(|k| crc32fast::hash(format!("user-{k}").as_bytes()))
        .collect();
    let first: Vec<usize> = keys.iter().map(|h| picked(b, Some(*h))).collect();
    for (h, t) in keys.iter().zip(&first) {
        assert_eq!(picked(b, Some(*h)), *t, "same key, same target");
        spread[*t] += 1;
    }
    for n in spread {
        assert!((700..=1300).contains(&n), "uneven spread {spread:?}");
    }
    assert!(b.report(3, Source::Passive, Verdict::TcpFailure));
    for (h, t) in keys.iter().zip(&first) {
        let now = picked(b, Some(*h));
        if *t == 3 {
            assert_ne!(now, 3);
        } else {
            assert_eq!(now, *t, "keys of healthy targets stay");
        }
    }
}

#[test]
fn health_flips_at_thresholds_in_a_row_and_survives_a_rebuild() {
    let mut p = policy(Algorithm::RoundRobin);
    p.healthchecks.passive.unhealthy.http_failures = 2;
    p.healthchecks.active.healthy = Thresholds {
        interval_ms: 1_000,
        successes: 2,
        statuses: vec![200],
        ..Thresholds::default()
    };
    let t = table(service(2, Some(p.clone())));
    let balancers = Balancers::build(&t, None);
    let b = only(&balancers);
    // A success between failures clears the failure count.
    assert!(!b.report(0, Source::Passive, Verdict::Status(500)));
    assert!(!b.report(0, Source::Passive, Verdict::Status(200)));
    assert!(!b.report(0, Source::Passive, Verdict::Status(500)));
    assert!(b.state(0).is_some_and(|s| s.health.is_healthy()));
    assert!(b.report(0, Source::Passive, Verdict::Status(500)));
    assert!(!b.is_healthy(0));
    for _ in 0..4 {
        assert_eq!(picked(b, None), 1, "an unhealthy target gets no traffic");
    }
    assert_eq!(balancers.changes(), 1);

    // Another table with one more target keeps target 0's state.
    let mut grown = service(3, Some(p));
    grown.retries = 2;
    let rebuilt = Balancers::build(&table(grown), Some(&balancers));
    let r = only(&rebuilt);
    assert!(!Arc::ptr_eq(r, b));
    assert!(!r.is_healthy(0) && r.is_healthy(2));
    assert!(Arc::ptr_eq(r.state(0).unwrap(), b.state(0).unwrap()));

    // Recovery: active successes in a row.
    assert!(!r.report(0, Source::Active, Verdict::Status(200)));
    assert!(r.report(0, Source::Active, Verdict::Status(200)));
    assert!(r.is_healthy(0));
    assert_eq!(rebuilt.changes(), 2);

    // An unchanged service keeps its very balancer.
    let same = Balancers::build(&table(service(3, None)), Some(&rebuilt));
    let again = Balancers::build(&table(service(3, None)), Some(&same));
    assert!(Arc::ptr_eq(only(&same), only(&again)));
}

#[test]
fn all_unhealthy_or_under_the_threshold_is_no_peer() {
    let mut p = policy(Algorithm::LeastConnections);
    p.healthchecks.passive.unhealthy.timeouts = 1;
    p.healthchecks.threshold = 50;
    let balancers = Balancers::build(&table(service(4, Some(p))), None);
    let b = only(&balancers);
    assert!(b.report(0, Source::Passive, Verdict::Timeout));
    assert!(b.report(1, Source::Passive, Verdict::Timeout));
    assert!(matches!(b.pick(None, &[]), Pick::Target(2 | 3)));
    assert!(b.report(2, Source::Passive, Verdict::Timeout));
    assert_eq!(b.pick(None, &[]), Pick::NoneHealthy, "25% < threshold 50%");
    assert!(b.set_health(0, true));
    assert!(b.report(3, Source::Passive, Verdict::Timeout) || !b.is_healthy(3));
    assert_eq!(b.pick(None, &[]), Pick::NoneHealthy);
}

fn weighted(weights: &[u32], balance: Option<Balance>) -> Service {
    let mut s = service(weights.len(), balance);
    for (t, w) in s.targets.iter_mut().zip(weights) {
        t.weight = *w;
    }
    s
}

#[test]
fn round_robin_follows_the_weights_turn_by_turn_and_skips_weight_zero() {
    for balance in [None, Some(policy(Algorithm::RoundRobin))] {
        let balancers = Balancers::build(&table(weighted(&[1, 3, 0], balance)), None);
        let b = only(&balancers);
        let mut seen = [0; 3];
        for n in 1..=400 {
            seen[picked(b, None)] += 1;
            if n % 4 == 0 {
                // Every turn of the wheel (4 slots) gives exactly 1:3.
                assert_eq!(seen[0] * 3, seen[1], "after {n} picks: {seen:?}");
            }
        }
        assert_eq!(seen, [100, 300, 0]);
        // A retry after the heavy target goes to the light one, never to 0.
        assert_eq!(b.pick(None, &[1]), Pick::Target(0));
        assert_eq!(b.pick(None, &[0, 1]), Pick::Exhausted);
    }
}

#[test]
fn least_connections_divides_in_flight_requests_by_weight() {
    let p = policy(Algorithm::LeastConnections);
    let balancers = Balancers::build(&table(weighted(&[1, 3, 0], Some(p))), None);
    let b = only(&balancers);
    let held: Vec<InFlight> = (0..400)
        .map(|_| b.start(picked(b, None)).expect("a policy counts requests"))
        .collect();
    let counts: Vec<u32> = (0..3).map(|i| b.state(i).unwrap().in_flight()).collect();
    assert_eq!(counts, [100, 300, 0], "in flight held 1:3");
    drop(held);
    assert_eq!(b.state(1).unwrap().in_flight(), 0);
}

#[test]
fn consistent_hashing_gives_each_target_points_by_weight() {
    let mut p = policy(Algorithm::ConsistentHashing);
    p.hash_on = HashOn::Header("x-user".into());
    let balancers = Balancers::build(&table(weighted(&[1, 3, 0], Some(p))), None);
    let b = only(&balancers);
    let mut spread = [0usize; 3];
    for k in 0..4000 {
        spread[picked(b, Some(crc32fast::hash(format!("user-{k}").as_bytes())))] += 1;
    }
    assert_eq!(spread[2], 0, "weight 0 gets no key");
    assert!((800..=1200).contains(&spread[0]), "about 1:3, {spread:?}");
    // Without a key, the round-robin wheel.
    let mut seen = [0; 3];
    for _ in 0..40 {
        seen[picked(b, None)] += 1;
    }
    assert_eq!(seen, [10, 30, 0]);
}

#[test]
fn a_weight_change_rebuilds_the_balancer_but_keeps_target_health() {
    let mut p = policy(Algorithm::RoundRobin);
    p.healthchecks.passive.unhealthy.tcp_failures = 1;
    let balancers = Balancers::build(&table(weighted(&[100, 100], Some(p.clone()))), None);
    let b = only(&balancers);
    assert!(b.report(0, Source::Passive, Verdict::TcpFailure));
    let rebuilt = Balancers::build(&table(weighted(&[50, 100], Some(p))), Some(&balancers));
    let r = only(&rebuilt);
    assert!(!Arc::ptr_eq(r, b));
    assert!(!r.is_healthy(0), "the address's health stays");
}

#[test]
fn services_of_one_upstream_share_one_balancer_position_and_health() {
    let mut p = policy(Algorithm::RoundRobin);
    p.healthchecks.passive.unhealthy.tcp_failures = 1;
    let of_upstream = |name: &str| {
        let mut s = service(2, Some(p.clone()));
        s.name = name.to_string();
        s.upstream = Some("shop.upstream".to_string());
        s
    };
    let mut t = table(of_upstream("a"));
    let mut own = service(2, Some(p.clone()));
    own.name = "c".into();
    t.services = [of_upstream("a"), of_upstream("b"), own]
        .into_iter()
        .map(|s| (s.name.clone(), s))
        .collect::<std::collections::BTreeMap<_, _>>()
        .into();
    let balancers = Balancers::build(&t, None);
    let (a, b, c) = (
        balancers.get("a").unwrap(),
        balancers.get("b").unwrap(),
        balancers.get("c").unwrap(),
    );
    assert!(Arc::ptr_eq(a, b), "one balancer for the upstream");
    assert!(!Arc::ptr_eq(a, c), "a service's own upstream is its own");
    assert_eq!(a.upstream(), "shop.upstream");
    let listed: Vec<&str> = balancers.iter().map(|(name, _)| name).collect();
    assert_eq!(listed, ["a", "c"], "each balancer listed once");
    let shared = |b: &Balancer| b.upstream() == "shop.upstream";
    let listed: Vec<&str> = balancers.iter_where(shared).map(|(n, _)| n).collect();
    assert_eq!(listed, ["a"], "only the accepted ones, each once");
    let own = |b: &Balancer| b.upstream() != "shop.upstream";
    let listed: Vec<&str> = balancers.iter_where(own).map(|(n, _)| n).collect();
    assert_eq!(listed, ["c"]);
    // One round-robin position: alternating services alternate targets.
    let first = picked(a, None);
    assert_eq!(picked(b, None), 1 - first);
    // One health state: what `a` saw takes the target out for `b` too.
    assert!(a.report(0, Source::Passive, Verdict::TcpFailure));
    for _ in 0..4 {
        assert_eq!(picked(b, None), 1);
    }
    assert!(c.is_healthy(0));
    // Kept whole across a rebuild.
    let again = Balancers::build(&t, Some(&balancers));
    assert!(Arc::ptr_eq(again.get("b").unwrap(), a));

    // Alike names of different upstreams (two kong.yml documents) share
    // nothing.
    let mut other = of_upstream("d");
    other.targets.pop();
    let mut services: std::collections::BTreeMap<String, Service> = t
        .services
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    services.insert("d".into(), other);
    t.services = services.into();
    let apart = Balancers::build(&t, None);
    assert!(Arc::ptr_eq(
        apart.get("a").unwrap(),
        apart.get("b").unwrap()
    ));
    assert!(!Arc::ptr_eq(
        apart.get("a").unwrap(),
        apart.get("d").unwrap()
    ));
    assert_eq!(apart.get("d").unwrap().targets().len(), 1);
}

#[test]
fn the_very_same_services_get_the_last_balancers_and_a_copy_does_not() {
    let first = table(service(2, None));
    let built = Balancers::build(&first, None);
    // Translate hands an unchanged table's next generation the same map.
    let next = Table {
        services: first.services.clone(),
        ..Table::default()
    };
    let again = Balancers::build(&next, Some(&built));
    assert!(Arc::ptr_eq(&again.by_service, &built.by_service));
    // An equal map of its own is looked at service by service: the
    // balancer is kept, the map is built anew.
    let copy = table(service(2, None));
    let rebuilt = Balancers::build(&copy, Some(&again));
    assert!(!Arc::ptr_eq(&rebuilt.by_service, &again.by_service));
    assert!(Arc::ptr_eq(only(&rebuilt), only(&built)));
    // A changed service gets a balancer of its own.
    let changed = Balancers::build(&table(service(3, None)), Some(&rebuilt));
    assert!(!Arc::ptr_eq(only(&changed), only(&built)));
    assert_eq!(only(&changed).targets().len(), 3);
}
