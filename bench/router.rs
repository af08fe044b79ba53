//! `router::find` over 10,000 routes: hits through an exact host, a wildcard
//! host, a host-less prefix and a regex, and misses by host and by path; the
//! path normalisation the proxy runs before every lookup; and the cost of
//! building the index once per published table; and the same for one Ingress
//! per host (10,000 hosts with one or two paths each).
//!
//! Run: `cargo bench --bench router` (add `-- --quick` for a short run).
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use criterion::{Criterion, criterion_group, criterion_main};
use kingress::model::normalise::normalise;
use kingress::model::{HostMatch, ObjectRef, PathMatch, PathRegex, Route, Shared, Table};
use kingress::router::{RequestInfo, Router, find};
use std::hint::black_box;

/// 8,000 routes on 400 exact hosts, 1,000 on 100 wildcard hosts and 1,000
/// without hosts (50 of them regex, 100 limited to POST).
fn table() -> Table {
    let mut routes = Vec::with_capacity(10_000);
    for h in 0..400 {
        let host = format!("svc{h}.example.com");
        for k in 0..20 {
            let path = match k % 4 {
                0 => PathMatch::Prefix(format!("/api/v{}/resource{k}", k % 3)),
                1 => PathMatch::Plain(format!("/static{k}/")),
                2 => PathMatch::Exact(format!("/health{k}")),
                _ => PathMatch::Prefix(format!("/app{k}")),
            };
            routes.push(route(&[&host], path, &[]));
        }
    }
    for w in 0..100 {
        let host = format!("*.team{w}.example.net");
        for k in 0..10 {
            routes.push(route(&[&host], PathMatch::Prefix(format!("/t{k}")), &[]));
        }
    }
    for k in 0..1000 {
        let (path, methods): (PathMatch, &[&str]) = match k % 20 {
            0 => (regex(&format!(r"/legacy/{k}/\d+$")), &[]),
            1 | 2 => (PathMatch::Prefix(format!("/shared/{k}")), &["POST"]),
            _ => (PathMatch::Prefix(format!("/shared/{k}")), &[]),
        };
        routes.push(route(&[], path, methods));
    }
    Table {
        routes: routes.into_iter().map(Shared::new).collect(),
        ..Table::default()
    }
}

fn route(hosts: &[&str], path: PathMatch, methods: &[&str]) -> Route {
    Route {
        name: format!("{hosts:?}{path}"),
        source: ObjectRef::new("Ingress", "bench", "bench"),
        hosts: hosts.iter().map(|h| HostMatch::parse(h)).collect(),
        paths: vec![path],
        methods: methods.iter().map(|m| m.to_string()).collect(),
        headers: Vec::new(),
        snis: Vec::new(),
        protocols: Vec::new(),
        https_redirect_status_code: 426,
        strip_path: false,
        path_handling: Default::default(),
        preserve_host: true,
        regex_priority: 0,
        service: None,
        plugins: Vec::new(),
        scoped: Vec::new(),
        fault: None,
    }
}

fn regex(pattern: &str) -> PathMatch {
    PathMatch::Regex(PathRegex::new(pattern).expect("bench regex compiles"))
}

/// Requests without headers: no bench route has header conditions.
static NO_HEADERS: std::sync::LazyLock<http::HeaderMap> =
    std::sync::LazyLock::new(http::HeaderMap::new);

fn get<'a>(host: &'a str, path: &'a str) -> RequestInfo<'a> {
    RequestInfo {
        method: "GET",
        host,
        path,
        https: false,
        sni: None,
        headers: &NO_HEADERS,
    }
}

fn bench_find(c: &mut Criterion) {
    let table = table();
    assert_eq!(table.routes.len(), 10_000);
    let router = Router::new(&table);
    let cases = [
        (
            "hit/exact-host-prefix",
            get("svc123.example.com", "/api/v1/resource4/items/42"),
            true,
        ),
        (
            "hit/exact-host-exact",
            get("svc7.example.com", "/health6"),
            true,
        ),
        (
            "hit/wildcard-host",
            get("web.team42.example.net", "/t3/index.html"),
            true,
        ),
        (
            "hit/no-host-prefix",
            get("other.example.org", "/shared/503/x"),
            true,
        ),
        (
            "hit/no-host-regex",
            get("other.example.org", "/legacy/40/1234"),
            true,
        ),
        (
            "miss/unknown-host",
            get("nowhere.example.org", "/api/v1/resource4"),
            false,
        ),
        (
            "miss/known-host-path",
            get("svc123.example.com", "/nothing/here/at/all"),
            false,
        ),
    ];
    let mut group = c.benchmark_group("find_10k_routes");
    for (name, req, hit) in cases {
        assert_eq!(find(&table, &router, &req).is_some(), hit, "{name}");
        group.bench_function(name, |b| {
            b.iter(|| find(black_box(&table), black_box(&router), black_box(&req)))
        });
    }
    group.finish();
}

/// A canonical path costs one scan and no allocation; a path to rewrite
/// costs a decode and a rebuild.
fn bench_normalise(c: &mut Criterion) {
    let mut group = c.benchmark_group("normalise");
    for (name, path, borrowed) in [
        ("canonical", "/api/v1/resource4/items/42", true),
        ("rewritten", "/api//v1/./%72esource4/x/../items/42", false),
    ] {
        let cow = normalise(path).expect("bench path is valid");
        assert_eq!(
            matches!(cow, std::borrow::Cow::Borrowed(_)),
            borrowed,
            "{name}"
        );
        group.bench_function(name, |b| b.iter(|| normalise(black_box(path))));
    }
    group.finish();
}

/// One Ingress per host, as most clusters and `bench/scale` have it:
/// 10,000 hosts, each with a `Prefix /` route, every fifth also with an
/// `Exact /healthz` route.
fn per_host_table() -> Table {
    let mut routes = Vec::with_capacity(12_000);
    for h in 0..10_000 {
        let host = format!("app-{h}.scale.test");
        routes.push(route(&[&host], PathMatch::Prefix("/".into()), &[]));
        if h % 5 == 0 {
            routes.push(route(&[&host], PathMatch::Exact("/healthz".into()), &[]));
        }
    }
    Table {
        routes: routes.into_iter().map(Shared::new).collect(),
        ..Table::default()
    }
}

fn bench_build(c: &mut Criterion) {
    let table = table();
    c.bench_function("router_new_10k_routes", |b| {
        b.iter(|| Router::new(black_box(&table)))
    });
    let per_host = per_host_table();
    c.bench_function("router_new_10k_hosts", |b| {
        b.iter(|| Router::new(black_box(&per_host)))
    });
    let router = Router::new(&per_host);
    let mut group = c.benchmark_group("find_10k_hosts");
    for (name, req) in [
        ("hit/prefix", get("app-4321.scale.test", "/orders/42")),
        ("hit/exact", get("app-4320.scale.test", "/healthz")),
    ] {
        assert!(find(&per_host, &router, &req).is_some(), "{name}");
        group.bench_function(name, |b| {
            b.iter(|| find(black_box(&per_host), black_box(&router), black_box(&req)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_find, bench_normalise, bench_build);
criterion_main!(benches);
