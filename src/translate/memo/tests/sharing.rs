//! Full re-translates share what came out the same with the table served.

use super::super::{Memo, Reused};
use super::{PLUGIN, consumers, ingress, service, step, write};
use crate::model::Shared;
use crate::source::files::Loader;
use crate::translate::{Options, translate, translate_cached};

/// Something every share reads changed but the answer did not (here an
/// IngressClass edit, as `bench/scale/cluster` makes to force full
/// re-translates): nothing is reused, yet the new table holds the serving
/// table's very routes, services and consumers rather than equal copies,
/// so a re-translate of ten thousand Ingresses does not hold two tables.
#[test]
fn a_full_retranslate_that_changes_nothing_shares_the_last_table() {
    let class = |note: &str| {
        format!(
            "apiVersion: networking.k8s.io/v1\nkind: IngressClass\n\
             metadata: {{name: kong, annotations: {{bench/note: '{note}'}}}}\n\
             spec: {{controller: ingress-controllers.konghq.com/kong}}\n"
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "class.yaml", &class("1"));
    write(d, "a.yaml", &ingress("a", "/a", true));
    write(d, "b.yaml", &ingress("b", "/b", false));
    write(d, "service.yaml", &service("abc"));
    write(d, "plugin.yaml", PLUGIN);
    write(d, "consumers.yaml", &consumers("john"));
    let mut loader = Loader::new(d);
    let mut memo = Memo::default();
    let options = Options::default();
    let before = translate_cached(&loader.load().unwrap(), &options, &mut memo);

    write(d, "class.yaml", &class("2"));
    let objects = loader.load().unwrap();
    let after = translate_cached(&objects, &options, &mut memo);
    assert_eq!(after, translate(&objects, &options));
    assert_eq!(
        memo.reused(),
        Reused {
            ingresses: 0,
            consumers: false,
            tls_checks: 0,
        },
        "a class edit translates everything again"
    );
    assert_eq!(before.table.routes.len(), after.table.routes.len());
    for (old, new) in before.table.routes.iter().zip(&after.table.routes) {
        // The default backend's route is built afresh every time.
        if new.name != "team.a" {
            assert!(Shared::ptr_eq(old, new), "route {} copied", new.name);
        }
    }
    assert!(Shared::ptr_eq(
        &before.table.services,
        &after.table.services
    ));
    assert!(Shared::ptr_eq(
        &before.table.consumers,
        &after.table.consumers
    ));

    // One consumer renamed: the consumers are translated again, and the
    // other consumer and both credentials are the very ones served before.
    let before = after;
    write(d, "consumers.yaml", &consumers("johnny"));
    let objects = loader.load().unwrap();
    let after = translate_cached(&objects, &options, &mut memo);
    assert_eq!(after, translate(&objects, &options));
    assert!(!memo.reused().consumers);
    let consumer = |t: &crate::translate::Translation, name: &str| {
        t.table
            .consumers
            .values()
            .find(|c| c.source.name == name)
            .cloned()
            .unwrap_or_else(|| panic!("consumer {name}"))
    };
    assert!(std::sync::Arc::ptr_eq(
        &consumer(&before, "jane"),
        &consumer(&after, "jane")
    ));
    assert!(!std::sync::Arc::ptr_eq(
        &consumer(&before, "john"),
        &consumer(&after, "john")
    ));
    let kind = crate::model::CredentialType::Oauth2;
    for client in ["jane-client", "john-client"] {
        let (old, new) = (
            before.table.credentials.shared(kind, client),
            after.table.credentials.shared(kind, client),
        );
        assert!(
            std::sync::Arc::ptr_eq(old.unwrap(), new.unwrap()),
            "credential {client} copied"
        );
    }

    // An answer that does change is new, and the memo goes on from it.
    write(d, "b.yaml", &ingress("b", "/b2", false));
    write(d, "class.yaml", &class("3"));
    step(&mut loader, &mut memo, "a class edit with an Ingress edit");
    write(d, "class.yaml", &class("4"));
    step(&mut loader, &mut memo, "another class edit");
}
