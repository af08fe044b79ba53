//! One entity of any collection, built by the `kong` constructors, and the
//! lookups the Admin API needs on a [`Document`]: by id or endpoint key
//! (service and route `name`, consumer `username`, credential `client_id`,
//! plugin `instance_name`), and whether an entity sits under a parent.

use super::endpoint::Collection;
use crate::kong::{
    Consumer, Context, Credential, Document, FieldErrors, Kind, Oauth2Credential, Plugin, Route,
    Service, Target, Upstream,
};
use serde_json::{Map, Value};

/// An entity of one of the collections written.
#[derive(Clone, Debug)]
pub(super) enum Entity {
    /// A service.
    Service(Service),
    /// A route.
    Route(Route),
    /// A consumer.
    Consumer(Consumer),
    /// An oauth2 credential.
    Oauth2(Oauth2Credential),
    /// A plugin.
    Plugin(Plugin),
    /// A credential of a generic type.
    Credential(Credential),
    /// An upstream (boxed: its health checks make it the largest).
    Upstream(Box<Upstream>),
    /// A target of an upstream.
    Target(Target),
}

// === impl Collection ===

impl Collection {
    /// The `kong` kind of this collection.
    pub(super) fn kind(self) -> Kind {
        match self {
            Collection::Services => Kind::Service,
            Collection::Routes => Kind::Route,
            Collection::Consumers => Kind::Consumer,
            Collection::Oauth2 => Kind::Oauth2Credential,
            Collection::Plugins => Kind::Plugin,
            Collection::Upstreams => Kind::Upstream,
            Collection::Targets => Kind::Target,
            Collection::Credentials(t) => Kind::Credential(t),
        }
    }

    /// The field a non-UUID path key names (Kong's `endpoint_key`).
    pub(super) fn endpoint_key(self) -> &'static str {
        match self {
            Collection::Services | Collection::Routes | Collection::Upstreams => "name",
            Collection::Targets => "target",
            Collection::Consumers => "username",
            Collection::Oauth2 => "client_id",
            Collection::Plugins => "instance_name",
            Collection::Credentials(t) => t.endpoint_key().unwrap_or("id"),
        }
    }
}

// === impl Entity ===

impl Entity {
    /// Builds an entity of `collection` from `value`; `owner` is the
    /// consumer (credentials) or scope (plugins) a nested path names.
    pub(super) fn build(
        collection: Collection,
        value: &Value,
        owner: Option<(Kind, &str)>,
        cx: &Context<'_>,
    ) -> Result<Self, FieldErrors> {
        Ok(match collection {
            Collection::Services => Entity::Service(Service::from_json(value, cx)?),
            Collection::Routes => Entity::Route(Route::from_json(value, cx)?),
            Collection::Consumers => Entity::Consumer(Consumer::from_json(value, cx)?),
            Collection::Oauth2 => Entity::Oauth2(Oauth2Credential::from_json(
                value,
                owner.map(|(_, id)| id),
                cx,
            )?),
            Collection::Plugins => Entity::Plugin(Plugin::from_json(value, owner, cx)?),
            Collection::Upstreams => Entity::Upstream(Box::new(Upstream::from_json(value, cx)?)),
            Collection::Targets => {
                Entity::Target(Target::from_json(value, owner.map(|(_, id)| id), cx)?)
            }
            Collection::Credentials(t) => Entity::Credential(Credential::from_json(
                t,
                value,
                owner.map(|(_, id)| id),
                cx,
            )?),
        })
    }

    /// The entity's id.
    pub(super) fn id(&self) -> &str {
        match self {
            Entity::Service(e) => &e.id,
            Entity::Route(e) => &e.id,
            Entity::Consumer(e) => &e.id,
            Entity::Oauth2(e) => &e.id,
            Entity::Plugin(e) => &e.id,
            Entity::Credential(e) => &e.id,
            Entity::Upstream(e) => &e.id,
            Entity::Target(e) => &e.id,
        }
    }

    /// Kong's JSON shape (a credential shows its secret or its hash).
    pub(super) fn to_value(&self) -> Value {
        let value = match self {
            Entity::Service(e) => serde_json::to_value(e),
            Entity::Route(e) => serde_json::to_value(e),
            Entity::Consumer(e) => serde_json::to_value(e),
            Entity::Oauth2(e) => serde_json::to_value(e),
            Entity::Plugin(e) => serde_json::to_value(e),
            Entity::Credential(e) => serde_json::to_value(e),
            Entity::Upstream(e) => serde_json::to_value(e),
            Entity::Target(e) => serde_json::to_value(e),
        };
        value.unwrap_or(Value::Null)
    }

    /// The entity's JSON as an object, for merging a PATCH into it.
    pub(super) fn to_map(&self) -> Map<String, Value> {
        match self.to_value() {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    /// Puts the entity into `doc`, replacing the one with the same id.
    pub(super) fn store(self, doc: &mut Document) {
        fn put<T>(list: &mut Vec<T>, item: T, id: impl Fn(&T) -> &str) {
            let key = id(&item).to_string();
            match list.iter_mut().find(|i| id(i) == key) {
                Some(slot) => *slot = item,
                None => list.push(item),
            }
        }
        match self {
            Entity::Service(e) => put(&mut doc.services, e, |s| &s.id),
            Entity::Route(e) => put(&mut doc.routes, e, |r| &r.id),
            Entity::Consumer(e) => put(&mut doc.consumers, e, |c| &c.id),
            Entity::Oauth2(e) => put(&mut doc.oauth2_credentials, e, |c| &c.id),
            Entity::Plugin(e) => put(&mut doc.plugins, e, |p| &p.id),
            Entity::Credential(e) => put(&mut doc.credentials, e, |c| &c.id),
            Entity::Upstream(e) => put(&mut doc.upstreams, *e, |u| &u.id),
            Entity::Target(e) => put(&mut doc.targets, e, |t| &t.id),
        }
    }
}

/// The entity of `collection` that `key` names (its id, or its endpoint
/// key). A target's address is unique only within its upstream, so a
/// target is looked up under `parent` (the upstream's id).
pub(super) fn find(
    doc: &Document,
    collection: Collection,
    key: &str,
    parent: Option<&str>,
) -> Option<Entity> {
    if let (Collection::Targets, Some(upstream)) = (collection, parent) {
        return doc
            .targets
            .iter()
            .find(|t| t.upstream.id == upstream && (t.id == key || t.target == key))
            .cloned()
            .map(Entity::Target);
    }
    let id = doc.resolve(collection.kind(), key)?;
    by_id(doc, collection, &id)
}

/// The entity of `collection` with `id`.
pub(super) fn by_id(doc: &Document, collection: Collection, id: &str) -> Option<Entity> {
    match collection {
        Collection::Services => doc
            .services
            .iter()
            .find(|e| e.id == id)
            .cloned()
            .map(Entity::Service),
        Collection::Routes => doc
            .routes
            .iter()
            .find(|e| e.id == id)
            .cloned()
            .map(Entity::Route),
        Collection::Consumers => doc
            .consumers
            .iter()
            .find(|e| e.id == id)
            .cloned()
            .map(Entity::Consumer),
        Collection::Oauth2 => doc
            .oauth2_credentials
            .iter()
            .find(|e| e.id == id)
            .cloned()
            .map(Entity::Oauth2),
        Collection::Plugins => doc
            .plugins
            .iter()
            .find(|e| e.id == id)
            .cloned()
            .map(Entity::Plugin),
        Collection::Credentials(t) => doc
            .credentials
            .iter()
            .find(|e| e.id == id && e.kind == t)
            .cloned()
            .map(Entity::Credential),
        Collection::Upstreams => doc
            .upstreams
            .iter()
            .find(|e| e.id == id)
            .cloned()
            .map(|u| Entity::Upstream(Box::new(u))),
        Collection::Targets => doc
            .targets
            .iter()
            .find(|e| e.id == id)
            .cloned()
            .map(Entity::Target),
    }
}

/// Whether `entity` refers to the parent entity with id `parent_id`.
pub(super) fn belongs_to(entity: &Entity, parent: Collection, parent_id: &str) -> bool {
    let is = |f: &Option<crate::kong::Foreign>| f.as_ref().is_some_and(|f| f.id == parent_id);
    match (entity, parent) {
        (Entity::Route(r), Collection::Services) => is(&r.service),
        (Entity::Plugin(p), Collection::Services) => is(&p.service),
        (Entity::Plugin(p), Collection::Routes) => is(&p.route),
        (Entity::Plugin(p), Collection::Consumers) => is(&p.consumer),
        (Entity::Oauth2(c), Collection::Consumers) => c.consumer.id == parent_id,
        (Entity::Credential(c), Collection::Consumers) => c.consumer.id == parent_id,
        (Entity::Target(t), Collection::Upstreams) => t.upstream.id == parent_id,
        _ => false,
    }
}
