//! Reads of what the Admin API wrote (standalone mode). The Admin API's
//! declarative document is the state of record of those entities, so reads
//! show them as stored, with the ids and timestamps their writes answered;
//! everything else (manifests, other `kong.yml` files) comes from the
//! published table as before. A table entity that came from the document
//! (same id, or same name, username or client_id) is shown once, from the
//! document.

use super::entities;
use super::oauth2;
use crate::admin::page::Page;
use crate::admin::reply;
use crate::kong::{Document, Foreign, Oauth2Credential};
use crate::model::Table;
use crate::model::is_hashed_secret;
use bytes::Bytes;
use http::Response;
use http_body_util::Full;
use serde_json::Value;

mod upstreams;

type Answer = Option<Response<Full<Bytes>>>;

/// Answers a GET of `segments` from `doc` (merged with `table` for lists),
/// or `None` when the document does not hold what the path names.
pub(super) fn get(doc: &Document, table: &Table, segments: &[&str], page: &Page) -> Answer {
    if segments.first() == Some(&"upstreams") {
        return upstreams::get(doc, table, segments, page);
    }
    match segments {
        ["services"] => Some(
            page.list(chain(
                doc.services.iter().map(json),
                table
                    .services
                    .values()
                    .filter(|s| {
                        !doc.services
                            .iter()
                            .any(|d| shadows(&d.id, &d.name, &s.name))
                    })
                    .map(entities::service),
            )),
        ),
        ["services", key] => found(service(doc, key).map(json)),
        ["services", key, "routes"] => service(doc, key).map(|s| {
            page.list(
                doc.routes
                    .iter()
                    .filter(|r| refers(&r.service, &s.id))
                    .map(json)
                    .collect(),
            )
        }),
        ["services", key, "plugins"] => service(doc, key).map(|s| {
            page.list(
                doc.plugins
                    .iter()
                    .filter(|p| refers(&p.service, &s.id))
                    .map(plugin)
                    .collect(),
            )
        }),
        ["routes"] => Some(
            page.list(chain(
                doc.routes.iter().map(json),
                table
                    .routes
                    .iter()
                    .filter(|r| !doc.routes.iter().any(|d| shadows(&d.id, &d.name, &r.name)))
                    .map(|r| entities::route(r)),
            )),
        ),
        ["routes", key] => found(route(doc, key).map(json)),
        ["routes", key, "service"] => route(doc, key).map(|r| {
            let service = r
                .service
                .as_ref()
                .and_then(|f| doc.services.iter().find(|s| s.id == f.id));
            match service {
                Some(s) => reply::ok(&json(s)),
                None => reply::not_found(),
            }
        }),
        ["routes", key, "plugins"] => route(doc, key).map(|r| {
            page.list(
                doc.plugins
                    .iter()
                    .filter(|p| refers(&p.route, &r.id))
                    .map(plugin)
                    .collect(),
            )
        }),
        ["consumers"] => Some(
            page.list(chain(
                doc.consumers.iter().map(json),
                table
                    .consumers
                    .values()
                    .filter(|c| {
                        !doc.consumers.iter().any(|d| {
                            d.id == c.id || (d.username.is_some() && d.username == c.username)
                        })
                    })
                    .map(|c| entities::consumer(c)),
            )),
        ),
        ["consumers", key] => found(consumer(doc, key).map(json)),
        ["consumers", key, "oauth2"] => consumer(doc, key).map(|c| {
            page.list(
                doc.oauth2_credentials
                    .iter()
                    .filter(|o| o.consumer.id == c.id)
                    .map(credential)
                    .collect(),
            )
        }),
        ["consumers", key, "oauth2", cred] => consumer(doc, key).map(|c| {
            match find_credential(doc, cred).filter(|o| o.consumer.id == c.id) {
                Some(o) => reply::ok(&credential(o)),
                None => reply::not_found(),
            }
        }),
        ["consumers", key, "plugins"] => consumer(doc, key).map(|c| {
            page.list(
                doc.plugins
                    .iter()
                    .filter(|p| refers(&p.consumer, &c.id))
                    .map(plugin)
                    .collect(),
            )
        }),
        ["oauth2"] => Some(
            page.list(chain(
                doc.oauth2_credentials.iter().map(credential),
                table
                    .credentials
                    .oauth2_all()
                    .filter(|t| {
                        !doc.oauth2_credentials
                            .iter()
                            .any(|d| d.id == t.id || d.client_id == t.client_id)
                    })
                    .map(oauth2::credential),
            )),
        ),
        ["oauth2", key] => found(find_credential(doc, key).map(credential)),
        ["plugins"] => Some(
            page.list(chain(
                doc.plugins.iter().map(plugin),
                table
                    .plugins
                    .values()
                    .filter(|p| !doc.plugins.iter().any(|d| d.id == p.id))
                    .map(|p| entities::plugin(table, p)),
            )),
        ),
        ["plugins", key] => found(
            doc.resolve(crate::kong::Kind::Plugin, key)
                .and_then(|id| doc.plugins.iter().find(|p| p.id == id))
                .map(plugin),
        ),
        _ => None,
    }
}

fn found(entity: Option<Value>) -> Answer {
    entity.map(|e| reply::ok(&e))
}

fn chain(a: impl Iterator<Item = Value>, b: impl Iterator<Item = Value>) -> Vec<Value> {
    a.chain(b).collect()
}

fn json<T: serde::Serialize>(entity: &T) -> Value {
    serde_json::to_value(entity).unwrap_or(Value::Null)
}

/// A plugin as reads show it: its configuration rendered by the plugin's
/// schema, secrets masked as for every other plugin (the stored document
/// keeps them, for the routing table). A configuration that no longer
/// parses is not shown at all rather than shown unmasked.
fn plugin(plugin: &crate::kong::Plugin) -> Value {
    let mut value = json(plugin);
    value["config"] = crate::model::PluginConfig::parse(&plugin.name, &plugin.config)
        .map(|c| c.render())
        .unwrap_or_else(|_| "[redacted]".into());
    value
}

/// A credential as reads show it: a hash as it is, a plaintext secret
/// masked (the write's answer was the one time it was shown).
fn credential(credential: &Oauth2Credential) -> Value {
    let mut value = json(credential);
    if !is_hashed_secret(credential.client_secret.expose()) {
        value["client_secret"] = "[redacted]".into();
    }
    value
}

/// Whether a document entity (`id`, `name`) is the table entity `table_name`
/// was translated from.
fn shadows(id: &str, name: &Option<String>, table_name: &str) -> bool {
    id == table_name || name.as_deref() == Some(table_name)
}

fn refers(reference: &Option<Foreign>, id: &str) -> bool {
    reference.as_ref().is_some_and(|f| f.id == id)
}

fn service<'d>(doc: &'d Document, key: &str) -> Option<&'d crate::kong::Service> {
    let id = doc.resolve(crate::kong::Kind::Service, key)?;
    doc.services.iter().find(|s| s.id == id)
}

fn route<'d>(doc: &'d Document, key: &str) -> Option<&'d crate::kong::Route> {
    let id = doc.resolve(crate::kong::Kind::Route, key)?;
    doc.routes.iter().find(|r| r.id == id)
}

fn consumer<'d>(doc: &'d Document, key: &str) -> Option<&'d crate::kong::Consumer> {
    let id = doc.resolve(crate::kong::Kind::Consumer, key)?;
    doc.consumers.iter().find(|c| c.id == id)
}

fn find_credential<'d>(doc: &'d Document, key: &str) -> Option<&'d Oauth2Credential> {
    let id = doc.resolve(crate::kong::Kind::Oauth2Credential, key)?;
    doc.oauth2_credentials.iter().find(|c| c.id == id)
}
