//! The admin API's read endpoints: lists paginated as Kong's (`page`) and
//! single entities by name or id, in Kong's shapes (`entities`), with what
//! the Admin API wrote answered from its document (`declared`).

pub(crate) mod credentials;
mod declared;
pub mod entities;
mod health;
mod node;
mod oauth2;

pub(super) use node::{Node, hostname};

pub(super) use oauth2::token;

use super::page::Page;
use super::{reply, status};
use crate::kong::Document;
use crate::model::{ConsumerGroup, Route, Service, Table};
use bytes::Bytes;
use http::Response;
use http_body_util::Full;

/// Answers a GET for the path `segments`. Entities the Admin API wrote
/// (`declared`) are answered from its document.
pub(super) fn get(
    state: &Node,
    segments: &[&str],
    declared: Option<&Document>,
    page: &Page,
) -> Response<Full<Bytes>> {
    let published = state.table.load();
    let table = &published.table;
    if let Some(answer) = credentials::get(table, declared, segments, page) {
        return answer;
    }
    if let Some(answer) = declared.and_then(|doc| declared::get(doc, table, segments, page)) {
        return answer;
    }
    match segments {
        [] => reply::ok(&node::info(state, &published)),
        ["status"] => reply::ok(&status::summary(&published, state.started)),
        ["routes"] => page.list(table.routes.iter().map(|r| entities::route(r)).collect()),
        ["routes", key] => found(route(table, key).map(entities::route)),
        ["routes", key, "service"] => found(
            route(table, key)
                .and_then(|r| r.service.as_deref())
                .and_then(|s| table.services.get(s))
                .map(entities::service),
        ),
        ["routes", key, "plugins"] => match route(table, key) {
            Some(r) => page.list(
                r.plugins
                    .iter()
                    .map(|p| entities::plugin(table, p))
                    .collect(),
            ),
            None => reply::not_found(),
        },
        ["services"] => page.list(table.services.values().map(entities::service).collect()),
        ["services", key] => found(service(table, key).map(entities::service)),
        ["services", key, "routes"] => match service(table, key) {
            Some(s) => page.list(
                table
                    .routes
                    .iter()
                    .filter(|r| r.service.as_deref() == Some(s.name.as_str()))
                    .map(|r| entities::route(r))
                    .collect(),
            ),
            None => reply::not_found(),
        },
        ["upstreams"] => page.list(upstreams(table).map(entities::upstream).collect()),
        ["upstreams", key] => found(upstream(table, key).map(entities::upstream)),
        ["upstreams", key, "health"] => match upstream(table, key) {
            Some(s) => reply::ok(&health::targets(&published, s, &state.node_id)),
            None => reply::not_found(),
        },
        ["upstreams", key, "targets"] | ["upstreams", key, "targets", "all"] => {
            match upstream(table, key) {
                Some(s) => page.list(s.targets.iter().map(|t| entities::target(s, t)).collect()),
                None => reply::not_found(),
            }
        }
        ["upstreams", key, "targets", target] => found(upstream(table, key).and_then(|s| {
            s.targets
                .iter()
                .find(|t| {
                    let address = t.to_string();
                    address == *target
                        || entities::target_id(s.upstream_name(), &address) == *target
                })
                .map(|t| entities::target(s, t))
        })),
        ["consumers"] => page.list(
            table
                .consumers
                .values()
                .map(|c| entities::consumer(c))
                .collect(),
        ),
        ["consumers", key] => found(table.find_consumer(key).map(entities::consumer)),
        ["consumers", key, "consumer_groups"] => match table.find_consumer(key) {
            Some(c) => page.list(
                c.groups
                    .iter()
                    .filter_map(|name| table.consumer_groups.get(name))
                    .map(entities::consumer_group)
                    .collect(),
            ),
            None => reply::not_found(),
        },
        ["consumer_groups"] => page.list(
            table
                .consumer_groups
                .values()
                .map(entities::consumer_group)
                .collect(),
        ),
        ["consumer_groups", key] => {
            found(consumer_group(table, key).map(|g| entities::consumer_group_details(table, g)))
        }
        ["consumers", key, "oauth2"] => match table.find_consumer(key) {
            Some(c) => page.list(
                table
                    .credentials
                    .oauth2_all()
                    .filter(|cred| cred.consumer_id == c.id)
                    .map(oauth2::credential)
                    .collect(),
            ),
            None => reply::not_found(),
        },
        ["oauth2"] => page.list(
            table
                .credentials
                .oauth2_all()
                .map(oauth2::credential)
                .collect(),
        ),
        ["oauth2", key] => found(
            table
                .credentials
                .oauth2(key)
                .or_else(|| table.credentials.oauth2_by_id(key))
                .map(oauth2::credential),
        ),
        ["plugins"] => page.list(
            table
                .plugins
                .values()
                .map(|p| entities::plugin(table, p))
                .collect(),
        ),
        ["plugins", id] => found(table.plugins.get(*id).map(|p| entities::plugin(table, p))),
        ["certificates"] => page.list(
            table
                .certificates
                .iter()
                .map(entities::certificate)
                .collect(),
        ),
        ["certificates", id] => found(
            table
                .certificates
                .iter()
                .find(|c| entities::certificate_id(&c.source) == *id)
                .map(entities::certificate),
        ),
        _ => reply::not_found(),
    }
}

fn found(entity: Option<serde_json::Value>) -> Response<Full<Bytes>> {
    entity.map_or_else(reply::not_found, |e| reply::ok(&e))
}

/// A consumer group by name or id.
fn consumer_group<'t>(table: &'t Table, key: &str) -> Option<&'t ConsumerGroup> {
    table
        .consumer_groups
        .get(key)
        .or_else(|| table.consumer_groups.values().find(|g| g.id == key))
}

fn route<'t>(table: &'t Table, key: &str) -> Option<&'t Route> {
    table
        .routes
        .iter()
        .find(|r| r.name == key || entities::route_id(&r.name) == key)
        .map(|r| &**r)
}

fn service<'t>(table: &'t Table, key: &str) -> Option<&'t Service> {
    table.services.get(key).or_else(|| {
        table
            .services
            .values()
            .find(|s| entities::service_id(&s.name) == key)
    })
}

/// The service of the upstream named `key` (its name or id): a kong.yml
/// upstream's first service, or the service of the same name.
pub(super) fn upstream<'t>(table: &'t Table, key: &str) -> Option<&'t Service> {
    upstreams(table).find(|s| {
        let name = s.upstream_name();
        name == key || entities::upstream_id(name) == key
    })
}

/// One service per upstream: services that share a kong.yml upstream
/// show it once.
fn upstreams(table: &Table) -> impl Iterator<Item = &Service> {
    let mut seen = std::collections::BTreeSet::new();
    table
        .services
        .values()
        .filter(move |s| seen.insert(s.upstream_name()))
}
