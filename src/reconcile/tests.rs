use super::*;
use crate::objects::Object;
use serde_json::json;

fn objects() -> Arc<ObjectSet> {
    let mut objects = ObjectSet::default();
    for value in [
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
               "metadata": {"name": "kong"},
               "spec": {"controller": "ingress-controllers.konghq.com/kong"}}),
        json!({"apiVersion": "configuration.konghq.com/v1", "kind": "KongConsumer",
               "metadata": {"name": "kube-jane", "namespace": "default",
                            "annotations": {"kubernetes.io/ingress.class": "kong"}},
               "username": "jane"}),
    ] {
        objects.apply(Object::from_value(value).unwrap());
    }
    Arc::new(objects)
}

fn consumer(username: &str) -> Change {
    let text = format!("_format_version: '3.0'\nconsumers:\n- username: {username}\n");
    Change::Declarative {
        origin: "admin.kong.yaml".into(),
        document: Arc::new(Document::parse(&text, 0).unwrap()),
    }
}

#[test]
fn check_reports_only_the_problems_a_change_adds_and_publishes_nothing() {
    let handle = TableHandle::new();
    let mut reconciler = Reconciler::new(handle.clone(), Options::default(), Metrics::new());
    let outcome = reconciler.reconcile(objects());
    assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
    let generation = handle.generation();

    let added = reconciler.check(consumer("jane"));
    assert_eq!(added.len(), 1, "{added:?}");
    assert!(added[0].message.contains("already used by"), "{added:?}");
    assert!(added[0].message.contains("kube-jane"), "{added:?}");
    assert!(reconciler.check(consumer("joe")).is_empty());
    assert_eq!(handle.generation(), generation, "a check publishes nothing");

    // Checked against what was reconciled last: once the clash is served,
    // the same change adds nothing new.
    let mut clashing = ObjectSet::clone(&objects());
    consumer("jane").apply(&mut clashing);
    let outcome = reconciler.reconcile(Arc::new(clashing));
    assert_eq!(outcome.problems.len(), 1);
    assert!(reconciler.check(consumer("jane")).is_empty());
}

#[cfg(target_os = "linux")]
#[test]
fn cpu_wait_reads_this_threads_schedstat_and_never_goes_back() {
    let first = cpu_wait().expect("Linux has /proc/thread-self/schedstat");
    std::thread::yield_now();
    let second = cpu_wait().expect("still there");
    assert!(second >= first, "{second:?} < {first:?}");
}
