//! The cap on label sets and Kong's names and types in the exposition.

use super::*;

#[test]
fn label_sets_past_the_cap_share_the_overflow_set() {
    let series = KongSeries::register(&mut Registry::default());
    for i in 0..MAX_LABEL_SETS {
        let set = series.label_set("svc", &format!("route-{i}"), "");
        assert_eq!((set.service.as_str(), set.consumer.as_str()), ("svc", ""));
        assert_eq!(set.route, format!("route-{i}"));
    }
    // Known sets keep their labels; a new one overflows, and counts
    // under the overflow labels.
    assert_eq!(series.label_set("svc", "route-0", "").route, "route-0");
    let over = series.label_set("svc", "route-new", "bob");
    let labels = [&over.service, &over.route, &over.consumer];
    assert!(labels.iter().all(|l| l.as_str() == OVERFLOW));
    over.requests(&series, 200, true).inc();
    let again = series.label_set("other", "route-other", "");
    assert_eq!(again.requests(&series, 200, true).get(), 1);
    assert_eq!(
        series
            .http_requests
            .get_or_create(&StatusLabels {
                service: OVERFLOW.into(),
                route: OVERFLOW.into(),
                code: "200".into(),
                source: "service".into(),
                workspace: WORKSPACE.into(),
                consumer: OVERFLOW.into(),
            })
            .get(),
        1
    );
}

#[test]
fn names_and_types_are_kong_s() {
    let mut registry = Registry::default();
    let series = KongSeries::register(&mut registry);
    let labels = BandwidthLabels {
        service: "s".into(),
        route: "r".into(),
        direction: "egress".into(),
        workspace: "default".into(),
        consumer: String::new(),
    };
    series.bandwidth.get_or_create(&labels).inc_by(42);
    let latency = LatencyLabels {
        service: "s".into(),
        route: "r".into(),
        workspace: "default".into(),
    };
    series.kong_latency.get_or_create(&latency).observe(3.0);
    series
        .http_requests
        .get_or_create(&StatusLabels {
            service: "s".into(),
            route: "r".into(),
            code: "200".into(),
            source: "service".into(),
            workspace: "default".into(),
            consumer: String::new(),
        })
        .inc();
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
    assert!(out.contains("# TYPE kong_http_requests counter"), "{out}");
    assert!(
        out.contains("\nkong_http_requests_total{service=\"s\""),
        "{out}"
    );
    assert!(
        out.contains("kong_kong_latency_ms_bucket{le=\"7.0\",service=\"s\""),
        "{out}"
    );
    assert!(
        out.contains("# TYPE kong_kong_latency_ms histogram"),
        "{out}"
    );
    assert!(out.contains("# TYPE kong_bandwidth_bytes unknown"), "{out}");
    assert!(
        out.contains(
            "kong_bandwidth_bytes{service=\"s\",route=\"r\",direction=\"egress\",workspace=\"default\",consumer=\"\"} 42"
        ),
        "{out}"
    );
    assert!(out.contains("kong_datastore_reachable 1"), "{out}");
}
