//! The kept shares follow the store when Ingresses come and go in one
//! edit, and what consumers hold stays applied while they are reused.

use super::super::Memo;
use super::{PLUGIN, consumers, ingress, service, step, write};
use crate::source::files::Loader;
use crate::translate::{Options, translate, translate_cached};

#[test]
fn ingresses_added_and_removed_in_one_edit_keep_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for name in ["a", "c", "e"] {
        write(d, &format!("{name}.yaml"), &ingress(name, "/x", false));
    }
    write(d, "service.yaml", &service("abc"));
    write(d, "plugin.yaml", PLUGIN);
    let mut loader = Loader::new(d);
    let mut memo = Memo::new();
    step(&mut loader, &mut memo, "the first load");

    std::fs::remove_file(d.join("c.yaml")).unwrap();
    write(d, "b.yaml", &ingress("b", "/x", false));
    write(d, "d.yaml", &ingress("d", "/x", true));
    let between = step(&mut loader, &mut memo, "c gone, b and d new");
    assert_eq!(between.ingresses, 2, "a and e are kept");

    std::fs::remove_file(d.join("a.yaml")).unwrap();
    std::fs::remove_file(d.join("e.yaml")).unwrap();
    write(d, "f.yaml", &ingress("f", "/x", false));
    let ends = step(&mut loader, &mut memo, "the first and last gone, f new");
    assert_eq!(ends.ingresses, 2, "b and d are kept");

    std::fs::remove_file(d.join("b.yaml")).unwrap();
    std::fs::remove_file(d.join("d.yaml")).unwrap();
    std::fs::remove_file(d.join("f.yaml")).unwrap();
    let none = step(&mut loader, &mut memo, "every Ingress gone");
    assert_eq!(none.ingresses, 0);
}

#[test]
fn a_plugin_a_consumer_holds_stays_while_the_consumers_are_reused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "a.yaml", &ingress("a", "/a", false));
    write(d, "service.yaml", &service("abc"));
    write(d, "plugin.yaml", PLUGIN);
    let limit = "apiVersion: configuration.konghq.com/v1\nkind: KongPlugin\n\
        metadata: {name: limit, namespace: team}\nplugin: rate-limiting\n\
        config: {minute: 5, policy: local}\n";
    write(d, "limit.yaml", limit);
    let held = consumers("john").replace(
        "metadata: {name: jane, namespace: team, annotations: {",
        "metadata: {name: jane, namespace: team, annotations: {konghq.com/plugins: limit, ",
    );
    assert_ne!(held, consumers("john"), "the annotation is in place");
    write(d, "consumers.yaml", &held);
    let mut loader = Loader::new(d);
    let mut memo = Memo::new();
    let options = Options::default();
    let first = translate_cached(&loader.load().unwrap(), &options, &mut memo);
    assert_eq!(first.table.holder_plugins.len(), 1, "jane's own instance");

    write(d, "a.yaml", &ingress("a", "/a2", false));
    let objects = loader.load().unwrap();
    let edited = translate_cached(&objects, &options, &mut memo);
    assert!(memo.reused().consumers);
    assert_eq!(edited, translate(&objects, &options));
    assert_eq!(edited.table.holder_plugins, first.table.holder_plugins);

    std::fs::remove_file(d.join("limit.yaml")).unwrap();
    let objects = loader.load().unwrap();
    let gone = translate_cached(&objects, &options, &mut memo);
    assert!(
        memo.reused().consumers,
        "a KongPlugin is not the consumers' input"
    );
    assert_eq!(gone, translate(&objects, &options));
    assert!(gone.table.holder_plugins.is_empty());
}
