//! A memo never changes the answer: after every edit, `translate_cached`
//! gives exactly what `translate` gives, problems included, while the
//! parts that did not change are reused.

use super::super::{Options, translate, translate_cached};
use super::{Memo, Reused};
use crate::model::Shared;
use crate::source::files::Loader;
use std::path::Path;

fn ingress(name: &str, path: &str, default_backend: bool) -> String {
    let default = if default_backend {
        "  defaultBackend: {service: {name: shared, port: {number: 80}}}\n"
    } else {
        ""
    };
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\n\
         metadata: {{name: {name}, namespace: team, annotations: {{konghq.com/plugins: auth}}}}\n\
         spec:\n  ingressClassName: kong\n{default}  rules:\n  - host: {name}.example\n    http:\n      paths:\n\
         \x20     - {{path: '{path}', pathType: ImplementationSpecific, \
         backend: {{service: {{name: shared, port: {{number: 80}}}}}}}}\n"
    )
}

fn service(timeout: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: shared\n  namespace: team\n  annotations:\n\
         \x20   konghq.com/plugins: missing\n    konghq.com/connect-timeout: '{timeout}'\n\
         spec: {{ports: [{{name: http, port: 80, targetPort: 8080}}]}}\n---\n\
         apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n\
         metadata: {{name: shared-1, namespace: team, labels: {{kubernetes.io/service-name: shared}}}}\n\
         addressType: IPv4\nports: [{{name: http, port: 8080}}]\n\
         endpoints: [{{addresses: [10.0.0.1]}}]\n"
    )
}

const PLUGIN: &str = "apiVersion: configuration.konghq.com/v1\nkind: KongPlugin\n\
    metadata: {name: auth, namespace: team}\nplugin: oauth2\n\
    config: {enable_client_credentials: true}\n";

fn consumers(second_username: &str) -> String {
    let consumer = |name: &str, username: &str| {
        format!(
            "apiVersion: configuration.konghq.com/v1\nkind: KongConsumer\n\
             metadata: {{name: {name}, namespace: team, annotations: {{kubernetes.io/ingress.class: kong}}}}\n\
             username: {username}\ncredentials: [{name}-oauth2]\n---\n\
             apiVersion: v1\nkind: Secret\n\
             metadata: {{name: {name}-oauth2, namespace: team, labels: {{konghq.com/credential: oauth2}}}}\n\
             stringData: {{name: app, client_id: {name}-client, client_secret: s3cret, hash_secret: 'true'}}\n---\n"
        )
    };
    consumer("jane", "jane") + &consumer("john", second_username)
}

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).unwrap();
}

/// Loads `dir` again and checks the memo's answer against a fresh one.
fn step(loader: &mut Loader, memo: &mut Memo, what: &str) -> Reused {
    let objects = loader.load().unwrap();
    let options = Options::default();
    let cached = translate_cached(&objects, &options, memo);
    let fresh = translate(&objects, &options);
    assert_eq!(cached, fresh, "after {what}");
    memo.reused()
}

#[test]
fn every_edit_gives_what_a_fresh_translation_gives() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "a.yaml", &ingress("a", "/a", true));
    write(d, "b.yaml", &ingress("b", "/b", false));
    write(d, "c.yaml", &ingress("c", "/~/c(", true));
    write(d, "service.yaml", &service("abc"));
    write(d, "plugin.yaml", PLUGIN);
    write(d, "consumers.yaml", &consumers("jane"));
    let mut loader = Loader::new(d);
    let mut memo = Memo::new();

    let first = step(&mut loader, &mut memo, "the first load");
    assert_eq!(first.ingresses, 0);
    let objects = loader.load().unwrap();
    let t = translate(&objects, &Options::default());
    let reasons: Vec<&str> = t.problems.iter().map(|p| p.reason.as_str()).collect();
    for reason in [
        "PluginNotFound",
        "InvalidAnnotation",
        "InvalidPath",
        "DefaultBackendConflict",
        "DuplicateUsername",
    ] {
        assert!(reasons.contains(&reason), "{reason} in {reasons:?}");
    }

    let same = step(&mut loader, &mut memo, "nothing changed");
    assert_eq!(
        same,
        Reused {
            ingresses: 3,
            consumers: true
        }
    );

    write(d, "a.yaml", &ingress("a", "/a2", true));
    let edit = step(&mut loader, &mut memo, "an edited Ingress");
    assert_eq!(
        edit,
        Reused {
            ingresses: 2,
            consumers: true
        }
    );

    // An edit that keeps the Ingress's Service shares the services with
    // the last table instead of copying them.
    let options = Options::default();
    let before = translate_cached(&loader.load().unwrap(), &options, &mut memo);
    write(d, "b.yaml", &ingress("b", "/b2", false));
    let objects = loader.load().unwrap();
    let after = translate_cached(&objects, &options, &mut memo);
    assert_eq!(after, translate(&objects, &options), "after an edit of b");
    assert!(Shared::ptr_eq(
        &before.table.services,
        &after.table.services
    ));
    // The routes of an Ingress that did not change are the very routes of
    // the last table; the edited one's are new.
    let route = |t: &crate::translate::Translation, ingress: &str| {
        t.table
            .routes
            .iter()
            .find(|r| r.name.starts_with(&format!("team.{ingress}.")))
            .cloned()
            .unwrap_or_else(|| panic!("a route of {ingress}"))
    };
    assert!(Shared::ptr_eq(&route(&before, "a"), &route(&after, "a")));
    assert!(!Shared::ptr_eq(&route(&before, "b"), &route(&after, "b")));

    // `a` resolved the shared Service first; its problems must stay.
    std::fs::remove_file(d.join("a.yaml")).unwrap();
    step(&mut loader, &mut memo, "the first Ingress removed");

    write(d, "service.yaml", &service("1000"));
    let service = step(&mut loader, &mut memo, "an edited Service");
    assert_eq!(service.ingresses, 0);
    assert!(service.consumers);

    write(d, "consumers.yaml", &consumers("john"));
    let consumers = step(&mut loader, &mut memo, "an edited KongConsumer");
    assert!(!consumers.consumers);
    assert_eq!(consumers.ingresses, 0, "credential Secrets changed too");

    write(d, "a.yaml", &ingress("a", "/a", true));
    let back = step(&mut loader, &mut memo, "the first Ingress back");
    assert_eq!(back.ingresses, 2);
    std::fs::remove_file(d.join("plugin.yaml")).unwrap();
    step(&mut loader, &mut memo, "the plugin removed");
    let other = Options {
        ingress_class: "other".into(),
    };
    let objects = loader.load().unwrap();
    assert_eq!(
        translate_cached(&objects, &other, &mut memo),
        translate(&objects, &other),
        "other options"
    );
    assert_eq!(memo.reused().ingresses, 0);
}

#[test]
fn consumer_groups_are_read_again_when_a_group_changes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "consumer.yaml",
        "apiVersion: configuration.konghq.com/v1\nkind: KongConsumer\n\
         metadata: {name: jane, namespace: team, annotations: {kubernetes.io/ingress.class: kong}}\n\
         username: jane\nconsumerGroups: [gold]\n",
    );
    let group = |name: &str| {
        format!(
            "apiVersion: configuration.konghq.com/v1beta1\nkind: KongConsumerGroup\n\
             metadata: {{name: gold, namespace: team, annotations: {{kubernetes.io/ingress.class: kong}}}}\n\
             spec: {{name: {name}}}\n"
        )
    };
    let mut loader = Loader::new(d);
    let mut memo = Memo::new();
    let groups = |memo: &mut Memo, loader: &mut Loader| {
        let objects = loader.load().unwrap();
        let t = translate_cached(&objects, &Options::default(), memo);
        let jane = t.table.consumers.values().next().cloned().unwrap();
        let missing = t
            .problems
            .iter()
            .any(|p| p.reason == "NonexistentConsumerGroup");
        (jane.groups.clone(), missing)
    };
    assert_eq!(groups(&mut memo, &mut loader), (vec![], true));
    step(&mut loader, &mut memo, "nothing changed");
    assert!(memo.reused().consumers);

    write(d, "group.yaml", &group("gold-tier"));
    assert_eq!(
        groups(&mut memo, &mut loader),
        (vec!["gold".to_string()], false)
    );
    assert!(!memo.reused().consumers, "a new group is read");
    write(d, "group.yaml", &group("platinum"));
    assert_eq!(
        groups(&mut memo, &mut loader),
        (vec!["gold".to_string()], false)
    );
    assert!(!memo.reused().consumers, "a changed group is read again");
    step(&mut loader, &mut memo, "a changed group");
}
