//! Credentials of every generic type in the Admin API (`/key-auths`,
//! `/consumers/{c}/key-auth`, `/basic-auths`, `/acls`, `/jwts`, …): one
//! reader for all types, each credential printed by its type's `render`
//! (what Kong prints: key-auth keys, basic-auth hashes). What the Admin
//! API wrote is answered from its document, as stored.

use super::entities::tags;
use crate::admin::page::Page;
use crate::admin::reply;
use crate::kong::{Document, Kind};
use crate::model::{Credential, CredentialType, Table};
use bytes::Bytes;
use http::Response;
use http_body_util::Full;
use serde_json::{Value, json};

type Answer = Option<Response<Full<Bytes>>>;

/// The type whose top-level collection is `segment` (`key-auths`).
pub(crate) fn top(segment: &str) -> Option<CredentialType> {
    generic().find(|t| t.admin_name() == segment)
}

/// The type whose collection under a consumer is `segment` (`key-auth`).
pub(crate) fn nested(segment: &str) -> Option<CredentialType> {
    generic().find(|t| t.nested_name() == segment)
}

fn generic() -> impl Iterator<Item = CredentialType> {
    CredentialType::ALL
        .into_iter()
        .filter(|t| *t != CredentialType::Oauth2)
}

/// Answers a GET of a credential path, or `None` when `segments` is not one.
pub(super) fn get(table: &Table, doc: Option<&Document>, segments: &[&str], page: &Page) -> Answer {
    match segments {
        [collection] => {
            let kind = top(collection)?;
            Some(page.list(all(table, doc, kind, None)))
        }
        [collection, key] => {
            let kind = top(collection)?;
            Some(found(one(table, doc, kind, None, key)))
        }
        ["consumers", consumer, collection, rest @ ..] if rest.len() <= 1 => {
            let kind = nested(collection)?;
            let Some(consumer_id) = consumer_id(table, doc, consumer) else {
                return Some(reply::not_found());
            };
            Some(match rest {
                [] => page.list(all(table, doc, kind, Some(&consumer_id))),
                [key] => found(one(table, doc, kind, Some(&consumer_id), key)),
                _ => reply::not_found(),
            })
        }
        _ => None,
    }
}

fn found(entity: Option<Value>) -> Response<Full<Bytes>> {
    entity.map_or_else(reply::not_found, |e| reply::ok(&e))
}

fn consumer_id(table: &Table, doc: Option<&Document>, key: &str) -> Option<String> {
    doc.and_then(|d| d.resolve(Kind::Consumer, key))
        .or_else(|| table.find_consumer(key).map(|c| c.id.clone()))
}

/// Every credential of `kind` (of one consumer when given): the
/// document's as stored, then the table's that the document does not hold.
fn all(
    table: &Table,
    doc: Option<&Document>,
    kind: CredentialType,
    consumer: Option<&str>,
) -> Vec<Value> {
    let mine = |id: &str| consumer.is_none_or(|c| c == id);
    let declared: Vec<&crate::kong::Credential> = doc
        .into_iter()
        .flat_map(|d| d.credentials.iter())
        .filter(|c| c.kind == kind && mine(&c.consumer.id))
        .collect();
    let mut out: Vec<Value> = declared.iter().map(|c| c.to_value()).collect();
    out.extend(
        table
            .credentials
            .of(kind)
            .filter(|c| mine(c.consumer_id()) && !declared.iter().any(|d| d.id == c.id()))
            .filter_map(entity),
    );
    out
}

/// The credential of `kind` that `key` names: its id or its endpoint key
/// (`key`, `username`, an acl's `group` under its consumer).
fn one(
    table: &Table,
    doc: Option<&Document>,
    kind: CredentialType,
    consumer: Option<&str>,
    key: &str,
) -> Option<Value> {
    let endpoint_key = kind.endpoint_key();
    all(table, doc, kind, consumer)
        .into_iter()
        .find(|v| v["id"] == key || endpoint_key.is_some_and(|f| v[f] == key))
}

/// A table credential in Kong's shape.
pub(super) fn entity(credential: &Credential) -> Option<Value> {
    let base = credential.base()?;
    let mut value = json!({
        "id": base.id,
        "created_at": base.created_at,
        "consumer": { "id": base.consumer_id },
    });
    for (k, v) in credential.render()? {
        value[k] = v;
    }
    let mut all_tags = tags(&base.source);
    if let Some(list) = all_tags.as_array_mut() {
        list.extend(base.tags.iter().map(|t| json!(t)));
    }
    value["tags"] = all_tags;
    Some(value)
}
