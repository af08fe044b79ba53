//! Unserved Kong kinds in cluster mode, against the fake API server: an
//! installed TCPIngress CRD and object become a problem and an Event; a
//! KongVault of our class also gets `Programmed=False`; no CRD means no
//! watch at all.

use super::super::fake_api::FakeApi;
use super::super::tests::{cluster_fixture, options};
use super::super::{ClusterSource, UNSERVED_KINDS, unserved_installed};
use crate::metrics::Metrics;
use crate::objects::Unserved;
use crate::status::{Reporter, StatusOptions};
use crate::translate::{Options, translate};
use serde_json::json;
use std::time::Duration;

fn tcp_ingress() -> serde_json::Value {
    json!({
        "apiVersion": "configuration.konghq.com/v1beta1", "kind": "TCPIngress",
        "metadata": {"name": "tcp", "namespace": "shop", "uid": "tcp-uid"},
        "spec": {"rules": [{"port": 9000, "backend": {"serviceName": "db", "servicePort": 5432}}]},
    })
}

async fn ready(api: &FakeApi, kinds: Vec<super::UnservedKind>) -> ClusterSource {
    let mut o = options(&[]);
    o.unserved = kinds;
    let mut source = ClusterSource::start(api.client(), o, Metrics::new());
    tokio::time::timeout(Duration::from_secs(20), source.wait_ready())
        .await
        .expect("source becomes ready");
    source
}

#[tokio::test]
async fn an_installed_tcp_ingress_is_reported_with_an_event() {
    let api = FakeApi::start().await;
    cluster_fixture(&api);
    api.apply(tcp_ingress());
    let kinds = unserved_installed(&api.client()).await;
    assert_eq!(
        kinds,
        [UNSERVED_KINDS[0], UNSERVED_KINDS[2]],
        "only TCPIngress and KongVault are served here"
    );
    let mut source = ready(&api, kinds).await;
    // Readiness does not wait for the kinds that are only reported.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while source.snapshot().unserved.is_empty() {
        tokio::time::timeout_at(deadline, source.changed())
            .await
            .expect("the TCPIngress is seen");
    }

    let objects = source.snapshot();
    assert_eq!(
        objects.unserved,
        [Unserved {
            api_version: "configuration.konghq.com/v1beta1".into(),
            kind: "TCPIngress".into(),
            namespace: Some("shop".into()),
            name: "tcp".into(),
            class: None,
            uid: Some("tcp-uid".into()),
            generation: Some(1),
        }]
    );
    assert!(
        api.requests()
            .iter()
            .any(|r| r.contains("/v1beta1/tcpingresses") && r.ends_with("(metadata)")),
        "watched by metadata only: {:?}",
        api.requests()
    );
    let problems = translate(&objects, &Options::default()).problems;
    let problem = problems
        .iter()
        .find(|p| p.object.kind == "TCPIngress")
        .expect("the TCPIngress is a problem");
    assert_eq!(problem.reason, "UnsupportedKind");
    assert!(
        problem
            .message
            .contains("opens no TCP or TLS stream listeners")
    );

    let (_leader, rx) = tokio::sync::watch::channel(true);
    let status = StatusOptions::new("kong", "kingress-0");
    let mut reporter = Reporter::new(api.client(), status, Metrics::new(), rx);
    reporter.report(&objects, &problems).await;
    let events = api.list("events.k8s.io/v1", "Event");
    let event = events
        .iter()
        .find(|e| e["regarding"]["kind"] == "TCPIngress")
        .expect("an Event on the TCPIngress");
    assert_eq!(
        event["regarding"]["apiVersion"],
        "configuration.konghq.com/v1beta1"
    );
    assert_eq!(event["regarding"]["namespace"], "shop");
    assert_eq!(event["type"], "Warning");
    // TCPIngress status has no conditions (only loadBalancer): none written.
    assert!(
        !api.requests()
            .iter()
            .any(|r| r.contains("tcpingresses") && !r.starts_with("GET")),
        "{:?}",
        api.requests()
    );

    // Deleted: no longer reported.
    api.delete(
        "configuration.konghq.com/v1beta1",
        "TCPIngress",
        "shop",
        "tcp",
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !source.snapshot().unserved.is_empty() {
        tokio::time::timeout_at(deadline, source.changed())
            .await
            .expect("the deletion is seen");
    }
}

#[tokio::test]
async fn no_crd_means_no_watch_and_no_errors() {
    let api = FakeApi::start().await;
    cluster_fixture(&api);
    api.uninstall("configuration.konghq.com/v1beta1", "TCPIngress");
    api.uninstall("configuration.konghq.com/v1alpha1", "KongVault");
    let kinds = unserved_installed(&api.client()).await;
    assert!(kinds.is_empty(), "{kinds:?}");
    let source = ready(&api, kinds).await;
    assert!(source.snapshot().unserved.is_empty());
    let asked: Vec<String> = api
        .requests()
        .into_iter()
        .filter(|r| UNSERVED_KINDS.iter().any(|k| r.contains(k.plural)))
        .collect();
    assert!(asked.is_empty(), "no unserved kind is watched: {asked:?}");
}

fn vault(name: &str, class: &str) -> serde_json::Value {
    json!({
        "apiVersion": "configuration.konghq.com/v1alpha1", "kind": "KongVault",
        "metadata": {"name": name, "uid": format!("{name}-uid"), "generation": 2,
                     "annotations": {"kubernetes.io/ingress.class": class}},
        "spec": {"backend": "env", "prefix": name, "config": {"prefix": "SECRET_"}},
        "status": {"conditions": [{"type": "Other", "status": "True", "reason": "Kept",
                   "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]},
    })
}

#[tokio::test]
async fn a_kong_vault_of_our_class_gets_programmed_false_once() {
    let api = FakeApi::start().await;
    cluster_fixture(&api);
    api.apply(vault("ours", "kong"));
    api.apply(vault("theirs", "other"));
    let kinds = unserved_installed(&api.client()).await;
    let mut source = ready(&api, kinds).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while source.snapshot().unserved.len() < 2 {
        tokio::time::timeout_at(deadline, source.changed())
            .await
            .expect("both KongVaults are seen");
    }
    let objects = source.snapshot();
    let ours = objects.unserved.iter().find(|u| u.name == "ours").unwrap();
    assert_eq!(ours.class.as_deref(), Some("kong"));
    assert_eq!(ours.generation, Some(2));
    let problems = translate(&objects, &Options::default()).problems;

    let (_leader, rx) = tokio::sync::watch::channel(true);
    let status = StatusOptions::new("kong", "kingress-0");
    let mut reporter = Reporter::new(api.client(), status, Metrics::new(), rx);
    reporter.report(&objects, &problems).await;
    let v = "configuration.konghq.com/v1alpha1";
    let written = api.get(v, "KongVault", "", "ours").unwrap();
    let conditions = written["status"]["conditions"].as_array().unwrap();
    let programmed = conditions
        .iter()
        .find(|c| c["type"] == "Programmed")
        .expect("Programmed written");
    assert_eq!(programmed["status"], "False");
    assert_eq!(programmed["reason"], "Invalid");
    assert_eq!(programmed["observedGeneration"], 2);
    let message = programmed["message"].as_str().unwrap();
    assert!(message.contains("KongVault"), "{message}");
    assert!(
        conditions.iter().any(|c| c["type"] == "Other"),
        "other conditions kept: {conditions:?}"
    );
    // Not our class: untouched.
    let theirs = api.get(v, "KongVault", "", "theirs").unwrap();
    assert_eq!(theirs["status"]["conditions"].as_array().unwrap().len(), 1);

    // Written once: the next report neither reads nor writes it again.
    let before = api.requests().len();
    reporter.report(&objects, &problems).await;
    let again: Vec<String> = api.requests()[before..]
        .iter()
        .filter(|r| r.contains("kongvaults"))
        .cloned()
        .collect();
    assert!(again.is_empty(), "{again:?}");
}
