//! The Secret reference tracking: appear, rotate, disappear, two referrers,
//! unreferenced Secrets dropped, and changes racing a GET.

use super::*;
use crate::objects::Ingress;
use crate::objects::class::ClassFilter;
use crate::source::cluster::refs::wanted_secrets;
use k8s_openapi::api::networking::v1::IngressClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeSet;

fn key(ns: &str, name: &str) -> ObjectKey {
    (ns.to_string(), name.to_string())
}

fn meta(ns: &str, name: &str, rv: &str) -> PartialObjectMeta<K8sSecret> {
    PartialObjectMeta {
        metadata: ObjectMeta {
            namespace: Some(ns.into()),
            name: Some(name.into()),
            resource_version: Some(rv.into()),
            ..ObjectMeta::default()
        },
        ..PartialObjectMeta::default()
    }
}

fn secret(ns: &str, name: &str, rv: &str) -> Secret {
    Secret::new(meta(ns, name, rv).metadata.into(), [])
}

/// A cluster-wide tracker whose watch listed `existing` (name, rv) in `shop`.
fn listed(existing: &[(&str, &str)]) -> Tracker {
    let mut t = Tracker::new([None]);
    t.event(0, Event::Init);
    for (name, rv) in existing {
        t.event(0, Event::InitApply(meta("shop", name, rv)));
    }
    let step = t.event(0, Event::InitDone);
    assert_eq!(step, Step::default(), "nothing wanted yet, nothing read");
    t
}

fn fetch<'a>(keys: impl IntoIterator<Item = &'a ObjectKey>) -> Step {
    Step {
        fetch: keys.into_iter().cloned().collect(),
        changed: false,
    }
}

fn held_rv(t: &Tracker, k: &ObjectKey) -> Option<String> {
    t.secrets()
        .find(|(key, _)| *key == k)
        .and_then(|(_, s)| s.metadata.resource_version.as_deref().map(str::to_string))
}

#[test]
fn a_secret_referenced_before_it_exists_is_read_when_it_appears() {
    let mut t = listed(&[("other", "1")]);
    let k = key("shop", "web-tls");
    // Known absent from the list: read (as missing) without a request.
    let step = t.want([&k]);
    assert_eq!(step.fetch, Vec::<ObjectKey>::new());
    assert!(step.changed && t.is_read(&k));
    assert_eq!(t.held(), 0);

    // cert-manager creates it: one GET, then it is held.
    assert_eq!(
        t.event(0, Event::Apply(meta("shop", "web-tls", "5"))),
        fetch([&k])
    );
    let step = t.fetched(&k, Some(secret("shop", "web-tls", "5")));
    assert_eq!(
        step,
        Step {
            fetch: vec![],
            changed: true
        }
    );
    assert_eq!(held_rv(&t, &k).as_deref(), Some("5"));

    // Unrelated Secrets are never read.
    assert_eq!(
        t.event(0, Event::Apply(meta("shop", "other", "6"))),
        Step::default()
    );
    assert_eq!(t.held(), 1);
    assert_eq!(t.known(), 2);
}

#[test]
fn a_rotation_is_read_once_per_new_version() {
    let mut t = listed(&[("web-tls", "1")]);
    let k = key("shop", "web-tls");
    assert_eq!(
        t.want([&k]),
        fetch([&k]),
        "an existing Secret is read at once"
    );
    assert!(!t.is_read(&k), "not read until the GET answers");
    assert!(!t.all_read());
    assert_eq!(t.unread().collect::<Vec<_>>(), [&k]);
    t.fetched(&k, Some(secret("shop", "web-tls", "1")));

    assert_eq!(
        t.event(0, Event::Apply(meta("shop", "web-tls", "2"))),
        fetch([&k])
    );
    assert!(t.fetched(&k, Some(secret("shop", "web-tls", "2"))).changed);
    assert_eq!(held_rv(&t, &k).as_deref(), Some("2"));
    // The same version again (a bookmark-less re-watch) asks for nothing.
    assert_eq!(
        t.event(0, Event::Apply(meta("shop", "web-tls", "2"))),
        Step::default()
    );
    // A GET that answers what is already held is no change.
    assert_eq!(
        t.event(0, Event::Apply(meta("shop", "web-tls", "3"))),
        fetch([&k])
    );
    assert!(t.fetched(&k, Some(secret("shop", "web-tls", "3"))).changed);
}

#[test]
fn a_deleted_secret_is_dropped_and_read_again_when_recreated() {
    let mut t = listed(&[("web-tls", "1")]);
    let k = key("shop", "web-tls");
    t.want([&k]);
    t.fetched(&k, Some(secret("shop", "web-tls", "1")));
    let step = t.event(0, Event::Delete(meta("shop", "web-tls", "2")));
    assert_eq!(
        step,
        Step {
            fetch: vec![],
            changed: true
        }
    );
    assert_eq!(t.held(), 0);
    assert!(t.is_read(&k), "known absent counts as read");
    assert_eq!(
        t.event(0, Event::Apply(meta("shop", "web-tls", "3"))),
        fetch([&k])
    );
}

#[test]
fn unreferenced_secrets_are_dropped_from_memory() {
    let mut t = listed(&[("a", "1"), ("b", "1")]);
    let (a, b) = (key("shop", "a"), key("shop", "b"));
    t.want([&a, &b]);
    t.fetched(&a, Some(secret("shop", "a", "1")));
    t.fetched(&b, Some(secret("shop", "b", "1")));
    assert_eq!(t.held(), 2);

    let step = t.want([&a]);
    assert_eq!(
        step,
        Step {
            fetch: vec![],
            changed: true
        }
    );
    assert_eq!(t.held(), 1);
    assert!(!t.is_wanted(&b));
    // Its rotation is no longer read.
    assert_eq!(
        t.event(0, Event::Apply(meta("shop", "b", "2"))),
        Step::default()
    );
    // Wanted again: read afresh.
    assert_eq!(t.want([&a, &b]), fetch([&b]));
}

#[test]
fn a_secret_named_by_two_ingresses_stays_until_neither_names_it() {
    let class: IngressClass = serde_yaml::from_str(
        "metadata: {name: kong}\nspec: {controller: ingress-controllers.konghq.com/kong}",
    )
    .unwrap();
    let filter = ClassFilter::new("kong", [&class]);
    let ingress = |name: &str| -> Ingress {
        serde_yaml::from_str(&format!(
            "metadata: {{name: {name}, namespace: shop}}\n\
             spec: {{ingressClassName: kong, tls: [{{secretName: shared-tls}}]}}"
        ))
        .unwrap()
    };
    let (one, two) = (ingress("one"), ingress("two"));
    let wanted = |ings: &[&Ingress]| -> BTreeSet<ObjectKey> {
        wanted_secrets(&filter, ings.iter().copied(), [], [])
    };
    let k = key("shop", "shared-tls");
    let mut t = listed(&[("shared-tls", "1")]);
    assert_eq!(t.want(&wanted(&[&one, &two])), fetch([&k]), "read once");
    t.fetched(&k, Some(secret("shop", "shared-tls", "1")));

    assert_eq!(t.want(&wanted(&[&two])), Step::default(), "still named");
    assert_eq!(t.held(), 1);
    assert!(t.want(&wanted(&[])).changed);
    assert_eq!(t.held(), 0);
}

#[test]
fn a_change_during_a_get_reads_again_and_a_late_answer_for_a_dropped_secret_is_ignored() {
    let mut t = listed(&[("web-tls", "1")]);
    let k = key("shop", "web-tls");
    t.want([&k]);
    // Rotated, then deleted, while the first GET is out: no second GET yet.
    assert_eq!(
        t.event(0, Event::Apply(meta("shop", "web-tls", "2"))),
        Step::default()
    );
    assert_eq!(
        t.event(0, Event::Delete(meta("shop", "web-tls", "3"))),
        Step::default()
    );
    // The GET answers the old version; the deletion is applied after it.
    let step = t.fetched(&k, Some(secret("shop", "web-tls", "1")));
    assert!(step.changed && step.fetch.is_empty());
    assert_eq!(t.held(), 0, "the deletion seen meanwhile wins");

    t.event(0, Event::Apply(meta("shop", "web-tls", "4")));
    t.want([]);
    assert_eq!(
        t.fetched(&k, Some(secret("shop", "web-tls", "4"))),
        Step::default()
    );
    assert_eq!(t.held(), 0);
}

#[test]
fn reads_wait_for_the_first_list_and_a_relist_drops_what_went_meanwhile() {
    let mut t = Tracker::new([Some("shop".to_string())]);
    let (a, b) = (key("shop", "a"), key("shop", "b"));
    assert!(t.covers(&a) && !t.covers(&key("kong", "a")));
    assert_eq!(
        t.want([&a, &b]),
        Step::default(),
        "nothing known before the list"
    );
    t.event(0, Event::Init);
    t.event(0, Event::InitApply(meta("shop", "a", "1")));
    t.event(0, Event::InitApply(meta("shop", "b", "1")));
    let step = t.event(0, Event::InitDone);
    assert_eq!(step, fetch([&a, &b]));
    t.fetched(&a, Some(secret("shop", "a", "1")));
    assert!(!t.all_read());
    // No longer wanted before its GET answered: not waited for.
    t.want([&a]);
    assert!(t.all_read());
    t.want([&a, &b]);
    t.fetched(&b, Some(secret("shop", "b", "1")));
    assert!(t.all_read());

    // The watch was gone too long (410): the relist no longer has `b`.
    t.event(0, Event::Init);
    t.event(0, Event::InitApply(meta("shop", "a", "1")));
    assert_eq!(
        t.held(),
        2,
        "the old state stays until the relist completes"
    );
    let step = t.event(0, Event::InitDone);
    assert_eq!(
        step,
        Step {
            fetch: vec![],
            changed: true
        }
    );
    assert_eq!(t.held(), 1);
    assert_eq!(t.known(), 1);
}
