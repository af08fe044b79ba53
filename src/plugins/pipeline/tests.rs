use super::*;
use crate::model::plugin::{Holder, Scope};
use crate::model::{ObjectRef, PluginConfig};
use serde_json::json;

/// An instance of `name` (oauth2: priority 1400, openid-connect: 1050)
/// with `scope`, told apart by `id`.
fn instance(id: &str, name: &str, scope: Scope) -> PluginInstance {
    let config = match name {
        "oauth2" => json!({"enable_client_credentials": true}),
        _ => json!({"issuer": "http://idp.test/realms/x"}),
    };
    PluginInstance {
        id: id.to_string(),
        name: name.to_string(),
        instance_name: None,
        source: ObjectRef::new("KongPlugin", "default", id),
        protocols: Vec::new(),
        ordering: Default::default(),
        config: PluginConfig::parse(name, &config).unwrap(),
        scope,
    }
}

fn scope(holder: Option<Holder>, route: bool, service: bool) -> Scope {
    Scope {
        route,
        service,
        holder,
    }
}

fn consumer(id: &str) -> Option<Holder> {
    Some(Holder::Consumer(id.to_string()))
}

fn route() -> Route {
    Route {
        name: "r".into(),
        source: ObjectRef::new("Ingress", "default", "r"),
        hosts: Vec::new(),
        paths: Vec::new(),
        methods: Vec::new(),
        headers: Vec::new(),
        snis: Vec::new(),
        protocols: Vec::new(),
        https_redirect_status_code: 426,
        strip_path: false,
        path_handling: Default::default(),
        preserve_host: false,
        regex_priority: 0,
        service: None,
        plugins: Vec::new(),
        scoped: Vec::new(),
        fault: None,
    }
}

fn ids(list: &[&PluginInstance]) -> Vec<String> {
    list.iter().map(|p| p.id.clone()).collect()
}

#[test]
fn a_consumer_and_route_instance_replaces_the_route_one() {
    let auth = instance("auth", "oauth2", scope(None, true, false));
    let route = instance("route", "openid-connect", scope(None, true, false));
    let mine = instance("mine", "openid-connect", scope(consumer("c"), true, false));
    let merged = merge(vec![&route], vec![&mine], &[&auth]);
    assert_eq!(ids(&merged), ["mine"]);
}

#[test]
fn route_and_service_outranks_the_consumer_alone() {
    let auth = instance("auth", "oauth2", scope(None, true, false));
    let both = instance("both", "openid-connect", scope(None, true, true));
    let wide = instance("wide", "openid-connect", scope(consumer("c"), false, false));
    assert_eq!(ids(&merge(vec![&both], vec![&wide], &[&auth])), ["both"]);
    // ...while the consumer alone outranks a route instance.
    let route = instance("route", "openid-connect", scope(None, true, false));
    assert_eq!(ids(&merge(vec![&route], vec![&wide], &[&auth])), ["wide"]);
}

#[test]
fn a_consumer_only_plugin_joins_at_its_priority_unless_its_turn_passed() {
    let auth = instance("auth", "oauth2", scope(None, true, false));
    let later = instance(
        "later",
        "openid-connect",
        scope(consumer("c"), false, false),
    );
    assert_eq!(ids(&merge(Vec::new(), vec![&later], &[&auth])), ["later"]);
    // A plugin of higher priority than the one that found the consumer had
    // its turn already: Kong does not go back for it.
    let oidc = instance("oidc", "openid-connect", scope(None, true, false));
    let earlier = instance("earlier", "oauth2", scope(consumer("c"), false, false));
    assert!(merge(Vec::new(), vec![&earlier], &[&oidc]).is_empty());
    // Nor does a plugin run twice.
    let again = instance("again", "oauth2", scope(consumer("c"), true, false));
    assert!(merge(Vec::new(), vec![&again], &[&auth]).is_empty());
}

#[test]
fn the_best_ranked_instance_the_consumer_or_its_groups_hold_is_chosen() {
    let mut route = route();
    route.scoped = vec![
        instance(
            "other",
            "openid-connect",
            scope(consumer("someone"), true, false),
        ),
        instance(
            "group",
            "openid-connect",
            scope(Some(Holder::Group("gold".into())), true, false),
        ),
    ];
    let mut table = Table::default();
    table.holder_plugins.insert(
        Holder::Consumer("c".into()),
        vec![instance(
            "wide",
            "openid-connect",
            scope(consumer("c"), false, false),
        )],
    );
    // Group+route (5) beats the consumer alone (8).
    let gold = vec!["gold".to_string()];
    let chosen = holder_instances(&table, &route, "c", &gold, false);
    assert_eq!(ids(&chosen), ["group"]);
    // Out of the group, the consumer-wide instance is what is left.
    let chosen = holder_instances(&table, &route, "c", &[], false);
    assert_eq!(ids(&chosen), ["wide"]);
    // Another consumer's instance never applies.
    assert!(holder_instances(&table, &route, "nobody", &[], false).is_empty());
}

#[test]
fn protocols_limit_scoped_instances_too() {
    let mut route = route();
    let mut https_only = instance("tls", "openid-connect", scope(consumer("c"), true, false));
    https_only.protocols = vec!["https".into()];
    route.scoped = vec![https_only];
    let table = Table::default();
    assert!(holder_instances(&table, &route, "c", &[], false).is_empty());
    assert_eq!(
        ids(&holder_instances(&table, &route, "c", &[], true)),
        ["tls"]
    );
}

#[test]
fn a_group_wide_instance_applies_to_members_only_and_yields_to_the_consumer() {
    let route = route();
    let mut table = Table::default();
    let gold = Holder::Group("gold".into());
    table.holder_plugins.insert(
        gold.clone(),
        vec![instance(
            "group",
            "openid-connect",
            scope(Some(gold), false, false),
        )],
    );
    let members = vec!["gold".to_string()];
    // A member of gold gets the group's instance; a non-member does not.
    assert_eq!(
        ids(&holder_instances(&table, &route, "c", &members, false)),
        ["group"]
    );
    assert!(holder_instances(&table, &route, "c", &["silver".to_string()], false).is_empty());
    assert!(holder_instances(&table, &route, "c", &[], false).is_empty());
    // The consumer's own instance (rank 8) beats its group's (rank 9).
    table.holder_plugins.insert(
        Holder::Consumer("c".into()),
        vec![instance(
            "own",
            "openid-connect",
            scope(consumer("c"), false, false),
        )],
    );
    assert_eq!(
        ids(&holder_instances(&table, &route, "c", &members, false)),
        ["own"]
    );
    // ...and joins the run after the plugin that found the consumer.
    let auth = instance("auth", "oauth2", scope(None, true, false));
    let chosen = holder_instances(&table, &route, "d", &members, false);
    assert_eq!(ids(&merge(Vec::new(), chosen, &[&auth])), ["group"]);
}
