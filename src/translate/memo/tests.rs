//! A memo never changes the answer: after every edit, `translate_cached`
//! gives exactly what `translate` gives, problems included, while the
//! parts that did not change are reused.

use super::super::{Options, translate, translate_cached};
use super::{Memo, Reused};
use crate::model::Shared;
use crate::source::files::Loader;
use std::path::Path;

mod sharing;
mod walk;

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
            consumers: true,
            tls_checks: 0,
        }
    );

    write(d, "a.yaml", &ingress("a", "/a2", true));
    let edit = step(&mut loader, &mut memo, "an edited Ingress");
    assert_eq!(
        edit,
        Reused {
            ingresses: 2,
            consumers: true,
            tls_checks: 0,
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
    assert_eq!(
        consumers.ingresses, 2,
        "credential Secrets changed too, but no Ingress reads them"
    );

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
fn a_status_write_keeps_what_the_memo_holds() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "a.yaml", &ingress("a", "/a", false));
    write(d, "b.yaml", &ingress("b", "/b", false));
    write(d, "service.yaml", &service("abc"));
    write(d, "plugin.yaml", PLUGIN);
    // The consumer apart from its credential: a file is read whole, and
    // a credential read again is a change.
    let (consumer, credential) = consumers("jane")
        .split_once("---\n")
        .map(|(c, rest)| {
            (
                c.to_string(),
                rest.split("---\n").next().unwrap_or_default().to_string(),
            )
        })
        .unwrap();
    write(d, "consumer.yaml", &consumer);
    write(d, "credential.yaml", &credential);
    let mut loader = Loader::new(d);
    let mut memo = Memo::new();
    step(&mut loader, &mut memo, "the first load");

    // What kingress writes: an Ingress's address, a consumer's condition.
    let address = "status: {loadBalancer: {ingress: [{ip: 10.0.0.9}]}}\n";
    write(d, "a.yaml", &(ingress("a", "/a", false) + address));
    let programmed = "status: {conditions: [{type: Programmed, status: 'True', reason: Programmed, \
        message: ok, lastTransitionTime: '2026-01-01T00:00:00Z'}]}\n";
    write(d, "consumer.yaml", &(consumer.clone() + programmed));
    let written = step(&mut loader, &mut memo, "status writes");
    assert_eq!(written.ingresses, 2);
    assert!(written.consumers);

    // The same objects with another spec are translated again.
    write(d, "a.yaml", &(ingress("a", "/a2", false) + address));
    write(
        d,
        "consumer.yaml",
        &(consumer.replace("username: jane", "username: janet") + programmed),
    );
    let edited = step(&mut loader, &mut memo, "spec edits");
    assert_eq!(edited.ingresses, 1);
    assert!(!edited.consumers);
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

fn tls_ingress(name: &str, secret: &str, plugin: bool) -> String {
    let plugins = if plugin {
        ", annotations: {konghq.com/plugins: configured}"
    } else {
        ""
    };
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\n\
         metadata: {{name: {name}, namespace: team{plugins}}}\n\
         spec:\n  ingressClassName: kong\n  tls: [{{hosts: [{name}.example], secretName: {secret}}}]\n\
         \x20 rules:\n  - host: {name}.example\n    http:\n      paths:\n\
         \x20     - {{path: /, pathType: Prefix, backend: {{service: {{name: shared, port: {{number: 80}}}}}}}}\n"
    )
}

/// A TLS Secret `name` for `hosts`, with a fresh key pair.
fn tls_secret(name: &str, hosts: &[&str]) -> String {
    let pair =
        rcgen::generate_simple_self_signed(hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>())
            .unwrap();
    let indent = |pem: String| pem.trim_end().replace('\n', "\n    ");
    format!(
        "apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\n\
         metadata: {{name: {name}, namespace: team}}\nstringData:\n  tls.crt: |\n    {}\n  tls.key: |\n    {}\n",
        indent(pair.cert.pem()),
        indent(pair.signing_key.serialize_pem())
    )
}

/// The certificate PEM served for `host`.
fn served(t: &crate::translate::Translation, host: &str) -> String {
    t.table
        .certificates
        .iter()
        .find(|c| c.hosts.iter().any(|h| h == host))
        .map(|c| c.cert_pem.clone())
        .unwrap_or_else(|| panic!("a certificate for {host}"))
}

#[test]
fn a_rotated_secret_translates_again_only_what_read_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "a.yaml", &tls_ingress("a", "one", false));
    write(d, "b.yaml", &tls_ingress("b", "one", false));
    write(d, "c.yaml", &tls_ingress("c", "two", true));
    write(
        d,
        "one.yaml",
        &tls_secret("one", &["a.example", "b.example"]),
    );
    write(d, "two.yaml", &tls_secret("two", &["c.example"]));
    write(d, "service.yaml", &service("abc"));
    write(d, "consumers.yaml", &consumers("jane"));
    // The plugin's config is in a Secret that does not exist yet.
    write(
        d,
        "plugin.yaml",
        "apiVersion: configuration.konghq.com/v1\nkind: KongPlugin\n\
         metadata: {name: configured, namespace: team}\nplugin: oauth2\n\
         configFrom: {secretKeyRef: {name: plugin-config, key: config}}\n",
    );
    let mut loader = Loader::new(d);
    let mut memo = Memo::new();
    let options = Options::default();
    let translate = |loader: &mut Loader, memo: &mut Memo, what: &str| {
        let objects = loader.load().unwrap();
        let cached = translate_cached(&objects, &options, memo);
        assert_eq!(cached, translate(&objects, &options), "after {what}");
        cached
    };
    let first = translate(&mut loader, &mut memo, "the first load");
    assert!(
        first.problems.iter().any(|p| p.reason == "SecretNotFound"),
        "{:?}",
        first.problems
    );

    write(
        d,
        "one.yaml",
        &tls_secret("one", &["a.example", "b.example"]),
    );
    let rotated = translate(&mut loader, &mut memo, "a rotated TLS Secret");
    assert_eq!(
        memo.reused(),
        Reused {
            ingresses: 3,
            consumers: true,
            tls_checks: 1,
        },
        "only the rotated Secret is checked again"
    );
    for host in ["a.example", "b.example"] {
        assert_ne!(served(&first, host), served(&rotated, host), "{host}");
    }
    assert_eq!(served(&first, "c.example"), served(&rotated, "c.example"));
    assert_eq!(served(&rotated, "a.example"), served(&rotated, "b.example"));

    // The Secret the plugin read, missing until now, appears: the
    // Ingresses are translated again (the consumers did not read it).
    write(
        d,
        "plugin-config.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: plugin-config, namespace: team}\n\
         stringData: {config: '{\"enable_client_credentials\": true}'}\n",
    );
    let configured = translate(&mut loader, &mut memo, "the plugin's Secret created");
    assert_eq!(memo.reused().ingresses, 0);
    assert!(memo.reused().consumers);
    assert!(
        !configured
            .problems
            .iter()
            .any(|p| p.reason == "SecretNotFound"),
        "{:?}",
        configured.problems
    );
    let fault = |t: &crate::translate::Translation| {
        let route = t
            .table
            .routes
            .iter()
            .find(|r| r.name.starts_with("team.c."));
        route.unwrap().fault.clone().unwrap_or_default()
    };
    assert!(fault(&first).contains("plugin-config"), "{}", fault(&first));
    assert!(!fault(&configured).contains("plugin-config"));

    // A TLS Secret that goes away is reported again; the other is kept.
    std::fs::remove_file(d.join("two.yaml")).unwrap();
    let gone = translate(&mut loader, &mut memo, "a TLS Secret removed");
    assert_eq!(memo.reused().ingresses, 3);
    assert_eq!(memo.reused().tls_checks, 1);
    assert!(
        gone.table
            .certificates
            .iter()
            .all(|c| !c.hosts.contains(&"c.example".to_string()))
    );
}
