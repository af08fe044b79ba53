//! A write applied to the Admin API's [`Document`], with Kong's rules
//! (`kong/api/endpoints.lua`, `kong/db/dao`): `POST` inserts (201), `PUT`
//! upserts by id or endpoint key, the path's key winning over the body
//! (200), `PATCH` merges the body into the stored entity (200, `config`
//! merged field by field), `DELETE` removes the entity and what Kong
//! cascades (a consumer's credentials and plugins, a route's or service's
//! plugins) and refuses to orphan routes of a service (204). Unique fields
//! are checked here (409); everything else by the `kong` constructors.

use super::endpoint::{Action, Collection, Endpoint};
use super::entity::{self, Entity, belongs_to, by_id};
use super::error::WriteError;
use crate::kong::{Context, Document, Foreign, Ids, Kind};
use http::StatusCode;
use serde_json::{Map, Value, json};
use unique::unique;

/// What a write did.
#[derive(Debug)]
pub(super) struct Change {
    /// 200, 201 or 204.
    pub status: StatusCode,
    /// The written entity's collection and id (none for a delete).
    pub written: Option<(Collection, String)>,
}

/// Applies the write `endpoint` asks for with `body` to `doc`.
pub(super) fn apply(
    doc: &mut Document,
    endpoint: &Endpoint,
    mut body: Map<String, Value>,
    now: i64,
) -> Result<Change, WriteError> {
    let collection = endpoint.collection;
    // The parent must exist (404), and scopes what the path names.
    let parent = match &endpoint.parent {
        Some(p) => Some((
            p.collection,
            doc.resolve(p.collection.kind(), &p.key)
                .ok_or(WriteError::NotFound)?,
        )),
        None => None,
    };
    if endpoint.via_route {
        return route_service(doc, endpoint, parent, body, now);
    }
    let parent_id = parent.as_ref().map(|(_, id)| id.as_str());
    let scoped = |e: &Entity| parent.as_ref().is_none_or(|(c, id)| belongs_to(e, *c, id));
    match &endpoint.action {
        Action::Create => {
            scope_body(&mut body, collection, parent.as_ref());
            let entity = build(doc, collection, &body, parent.as_ref(), now)?;
            insert(doc, entity, None, StatusCode::CREATED)
        }
        Action::Upsert(key) => {
            let existing = entity::find(doc, collection, key, parent_id).filter(|e| scoped(e));
            let key_field = if is_uuid(key) {
                "id"
            } else {
                collection.endpoint_key()
            };
            body.insert(key_field.into(), Value::String(key.clone()));
            if let Some(e) = &existing {
                body.insert("id".into(), e.id().into());
                body.insert(
                    "created_at".into(),
                    e.to_map().remove("created_at").unwrap_or(Value::Null),
                );
            }
            scope_body(&mut body, collection, parent.as_ref());
            let entity = build(doc, collection, &body, parent.as_ref(), now)?;
            let replaces = existing.map(|e| e.id().to_string());
            insert(doc, entity, replaces, StatusCode::OK)
        }
        Action::Update(key) => {
            let existing = entity::find(doc, collection, key, parent_id)
                .filter(|e| scoped(e))
                .ok_or(WriteError::NotFound)?;
            if collection == Collection::Oauth2
                && body.contains_key("client_secret") != body.contains_key("hash_secret")
            {
                return Err(WriteError::entity(
                    "all or none of these fields must be set: 'hash_secret', 'client_secret'",
                ));
            }
            let mut merged = existing.to_map();
            merged.remove("updated_at");
            merge(&mut merged, body);
            scope_body(&mut merged, collection, parent.as_ref());
            let entity = build(doc, collection, &merged, parent.as_ref(), now)?;
            let id = existing.id().to_string();
            insert(doc, entity, Some(id), StatusCode::OK)
        }
        Action::Delete(key) => {
            match entity::find(doc, collection, key, parent_id) {
                Some(e) if scoped(&e) => delete(doc, collection, e.id())?,
                // Kong: a nested entity that is not there is 404, a
                // top-level one already gone is 204.
                _ if parent.is_some() => return Err(WriteError::NotFound),
                _ => {}
            }
            Ok(Change {
                status: StatusCode::NO_CONTENT,
                written: None,
            })
        }
    }
}

/// `/routes/{r}/service`: `PATCH` updates the route's service; `PUT`
/// replaces it, or creates one and points the route at it.
fn route_service(
    doc: &mut Document,
    endpoint: &Endpoint,
    parent: Option<(Collection, String)>,
    mut body: Map<String, Value>,
    now: i64,
) -> Result<Change, WriteError> {
    let route_id = parent.map(|(_, id)| id).ok_or(WriteError::NotFound)?;
    let service_id = doc
        .routes
        .iter()
        .find(|r| r.id == route_id)
        .and_then(|r| r.service.as_ref())
        .map(|f| f.id.clone());
    let existing = service_id
        .as_deref()
        .and_then(|id| by_id(doc, Collection::Services, id));
    let entity = match (&endpoint.action, existing) {
        (Action::Update(_), None) => return Err(WriteError::NotFound),
        (Action::Update(_), Some(e)) => {
            let mut merged = e.to_map();
            merged.remove("updated_at");
            merge(&mut merged, body);
            build(doc, Collection::Services, &merged, None, now)?
        }
        (_, existing) => {
            if let Some(e) = &existing {
                body.insert("id".into(), e.id().into());
            }
            build(doc, Collection::Services, &body, None, now)?
        }
    };
    let id = entity.id().to_string();
    let change = insert(doc, entity, service_id, StatusCode::OK)?;
    if let Some(route) = doc.routes.iter_mut().find(|r| r.id == route_id) {
        route.service = Some(Foreign { id });
    }
    Ok(change)
}

/// Sets the reference a nested path implies (`/services/{s}/routes` →
/// `service`), overriding the body as Kong does. Credentials and plugins
/// get their owner through the constructor instead.
fn scope_body(
    body: &mut Map<String, Value>,
    collection: Collection,
    parent: Option<&(Collection, String)>,
) {
    if let (Collection::Routes, Some((Collection::Services, id))) = (collection, parent) {
        body.insert("service".into(), json!({ "id": id }));
    }
}

fn build(
    doc: &Document,
    collection: Collection,
    body: &Map<String, Value>,
    parent: Option<&(Collection, String)>,
    now: i64,
) -> Result<Entity, WriteError> {
    let resolve = |kind: Kind, key: &str| doc.resolve(kind, key);
    let cx = Context {
        now,
        ids: Ids::Random,
        position: collection.name(),
        resolve: &resolve,
        stored: false,
    };
    let owner = parent.map(|(c, id)| (c.kind(), id.as_str()));
    let value = Value::Object(body.clone());
    Ok(Entity::build(collection, &value, owner, &cx)?)
}

/// Checks unique fields against every other entity, then stores `entity`
/// (replacing the one with id `replaces`, if any).
fn insert(
    doc: &mut Document,
    entity: Entity,
    replaces: Option<String>,
    status: StatusCode,
) -> Result<Change, WriteError> {
    unique(doc, &entity, replaces.as_deref())?;
    if let Some(old) = replaces.as_deref().filter(|old| *old != entity.id()) {
        remove(doc, old);
    }
    let written = (collection_of(&entity), entity.id().to_string());
    entity.store(doc);
    Ok(Change {
        status,
        written: Some(written),
    })
}

fn collection_of(entity: &Entity) -> Collection {
    match entity {
        Entity::Service(_) => Collection::Services,
        Entity::Route(_) => Collection::Routes,
        Entity::Consumer(_) => Collection::Consumers,
        Entity::Oauth2(_) => Collection::Oauth2,
        Entity::Plugin(_) => Collection::Plugins,
        Entity::Credential(c) => Collection::Credentials(c.kind),
        Entity::Upstream(_) => Collection::Upstreams,
        Entity::Target(_) => Collection::Targets,
    }
}

/// Deletes the entity `id` of `collection` with Kong's cascades.
fn delete(doc: &mut Document, collection: Collection, id: &str) -> Result<(), WriteError> {
    let is = |f: &Option<Foreign>| f.as_ref().is_some_and(|f| f.id == id);
    match collection {
        Collection::Services => {
            if doc.routes.iter().any(|r| is(&r.service)) {
                return Err(WriteError::Referenced {
                    child: "routes",
                    parent: "services",
                });
            }
            doc.plugins.retain(|p| !is(&p.service));
        }
        Collection::Routes => doc.plugins.retain(|p| !is(&p.route)),
        Collection::Consumers => {
            doc.oauth2_credentials.retain(|c| c.consumer.id != id);
            doc.credentials.retain(|c| c.consumer.id != id);
            doc.plugins.retain(|p| !is(&p.consumer));
        }
        // Kong cascades an upstream's delete to its targets.
        Collection::Upstreams => doc.targets.retain(|t| t.upstream.id != id),
        Collection::Oauth2
        | Collection::Plugins
        | Collection::Credentials(_)
        | Collection::Targets => {}
    }
    remove(doc, id);
    Ok(())
}

/// Removes whatever entity has `id`.
fn remove(doc: &mut Document, id: &str) {
    doc.services.retain(|e| e.id != id);
    doc.routes.retain(|e| e.id != id);
    doc.consumers.retain(|e| e.id != id);
    doc.oauth2_credentials.retain(|e| e.id != id);
    doc.plugins.retain(|e| e.id != id);
    doc.credentials.retain(|e| e.id != id);
    doc.upstreams.retain(|e| e.id != id);
    doc.targets.retain(|e| e.id != id);
}

/// A PATCH body over the stored entity: fields replace, except `config`,
/// whose fields replace one by one (Kong merges records).
fn merge(stored: &mut Map<String, Value>, body: Map<String, Value>) {
    for (key, value) in body {
        match (stored.get_mut(&key), value) {
            (Some(Value::Object(old)), Value::Object(new)) if key == "config" => {
                for (k, v) in new {
                    old.insert(k, v);
                }
            }
            (_, value) => {
                stored.insert(key, value);
            }
        }
    }
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::parse_str(s).is_ok()
}

#[cfg(test)]
mod tests;
mod unique;
