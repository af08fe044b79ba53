//! Walks a declarative document: builds every entity, hands nested
//! entities their parent, resolves references against what was built.
//! Order matters only for references: services and consumers first, then
//! consumer groups (whose nested members name consumers), routes,
//! credentials and plugins, so a reference may point anywhere in the file.

use super::{Document, DocumentError, GENERIC_TYPES};
use crate::kong::{
    Consumer, ConsumerGroup, ConsumerGroupConsumer, Context, Credential, Foreign, Ids, Kind,
    Oauth2Credential, Plugin, Route, Service, Target, Upstream,
};
use crate::model::CredentialType;
use serde_json::{Map, Value};

/// An entity waiting for its parents to exist.
struct Pending {
    /// `services[0].routes[1]`.
    position: String,
    /// Position plus a name for messages.
    label: String,
    /// The entity's own fields (children removed).
    value: Value,
    /// The entity it is nested under, if any.
    owner: Option<(Kind, String)>,
    /// The credential type, for credentials other than oauth2.
    credential: Option<CredentialType>,
}

/// Builds the flat document from the top-level map.
pub(super) fn flatten(map: &Map<String, Value>, now: i64) -> Result<Document, DocumentError> {
    let mut doc = Document::default();
    let mut errors = Vec::new();
    let mut routes = Vec::new();
    let mut credentials = Vec::new();
    let mut typed = Vec::new();
    let mut plugins = Vec::new();
    let none = |_: Kind, _: &str| None;
    // Kong's `_transform: false`: secrets are already in Kong's stored form.
    let stored = map.get("_transform") == Some(&Value::Bool(false));
    let nested: Vec<&'static str> = ["oauth2_credentials", "plugins"]
        .into_iter()
        .chain(GENERIC_TYPES.iter().map(|t| t.table()))
        .collect();

    for (position, item) in items(map, "services", "") {
        let (value, children) = split(item, &["routes", "plugins"], &position, &mut errors);
        let cx = context(now, &position, &none);
        match Service::from_json(&value, &cx) {
            Ok(service) => {
                for (key, position, child) in children {
                    let owner = Some((Kind::Service, service.id.clone()));
                    let pending = Pending::new(position, child, owner);
                    if key == "routes" {
                        routes.push(pending);
                    } else {
                        plugins.push(pending);
                    }
                }
                doc.services.push(service);
            }
            Err(e) => errors.push(format!("{}: {e}", label(&position, &value))),
        }
    }
    let mut targets = Vec::new();
    for (position, item) in items(map, "upstreams", "") {
        let (value, children) = split(item, &["targets"], &position, &mut errors);
        let cx = context(now, &position, &none);
        match Upstream::from_json(&value, &cx) {
            Ok(upstream) => {
                for (_, position, child) in children {
                    let owner = Some((Kind::Upstream, upstream.id.clone()));
                    targets.push(Pending::new(position, child, owner));
                }
                doc.upstreams.push(upstream);
            }
            Err(e) => errors.push(format!("{}: {e}", label(&position, &value))),
        }
    }
    targets.extend(items(map, "targets", "").map(|(p, v)| Pending::new(p, v.clone(), None)));
    for pending in targets {
        let resolve = |k: Kind, key: &str| doc.resolve(k, key);
        let cx = context(now, &pending.position, &resolve);
        let owner = pending.owner.as_ref().map(|(_, id)| id.as_str());
        match Target::from_json(&pending.value, owner, &cx) {
            Ok(t) => doc.targets.push(t),
            Err(e) => errors.push(format!("{}: {e}", pending.label)),
        }
    }
    for (position, item) in items(map, "consumers", "") {
        let (value, children) = split(item, &nested, &position, &mut errors);
        let cx = context(now, &position, &none);
        match Consumer::from_json(&value, &cx) {
            Ok(consumer) => {
                for (key, position, child) in children {
                    let owner = Some((Kind::Consumer, consumer.id.clone()));
                    let mut pending = Pending::new(position, child, owner);
                    if key == "oauth2_credentials" {
                        credentials.push(pending);
                    } else if let Some(kind) = CredentialType::from_table(key) {
                        pending.credential = Some(kind);
                        typed.push(pending);
                    } else {
                        plugins.push(pending);
                    }
                }
                doc.consumers.push(consumer);
            }
            Err(e) => errors.push(format!("{}: {e}", label(&position, &value))),
        }
    }
    for (position, item) in items(map, "consumer_groups", "") {
        let (value, children) = split(item, &["consumers", "plugins"], &position, &mut errors);
        let cx = context(now, &position, &none);
        match ConsumerGroup::from_json(&value, &cx) {
            Ok(group) => {
                for (key, position, child) in children {
                    if key == "plugins" {
                        let owner = Some((Kind::ConsumerGroup, group.id.clone()));
                        plugins.push(Pending::new(position, child, owner));
                        continue;
                    }
                    match member(&doc, &child) {
                        Some(id) => doc.consumer_group_consumers.push(ConsumerGroupConsumer {
                            consumer_group: Foreign {
                                id: group.id.clone(),
                            },
                            consumer: Foreign { id },
                        }),
                        None => errors.push(format!(
                            "{position}: no consumer with this id or username ({child}) in the \
                             document"
                        )),
                    }
                }
                doc.consumer_groups.push(group);
            }
            Err(e) => errors.push(format!("{}: {e}", label(&position, &value))),
        }
    }
    routes.extend(items(map, "routes", "").map(|(p, v)| Pending::new(p, v.clone(), None)));
    credentials.extend(
        items(map, "oauth2_credentials", "").map(|(p, v)| Pending::new(p, v.clone(), None)),
    );

    let mut built = Vec::new();
    for pending in routes {
        let (mut value, children) =
            split(&pending.value, &["plugins"], &pending.position, &mut errors);
        if let (Some((_, service)), Some(obj)) = (&pending.owner, value.as_object_mut()) {
            obj.insert("service".into(), serde_json::json!({ "id": service }));
        }
        let resolve = |k: Kind, key: &str| doc.resolve(k, key);
        let cx = context(now, &pending.position, &resolve);
        match Route::from_json(&value, &cx) {
            Ok(route) => {
                for (_, position, child) in children {
                    plugins.push(Pending::new(
                        position,
                        child,
                        Some((Kind::Route, route.id.clone())),
                    ));
                }
                built.push(route);
            }
            Err(e) => errors.push(format!("{}: {e}", pending.label)),
        }
    }
    doc.routes = built;

    let mut built = Vec::new();
    for pending in credentials {
        let resolve = |k: Kind, key: &str| doc.resolve(k, key);
        let cx = context(now, &pending.position, &resolve);
        let owner = pending.owner.as_ref().map(|(_, id)| id.as_str());
        match Oauth2Credential::from_json(&pending.value, owner, &cx) {
            Ok(c) => built.push(c),
            Err(e) => errors.push(format!("{}: {e}", pending.label)),
        }
    }
    doc.oauth2_credentials = built;

    for kind in GENERIC_TYPES {
        typed.extend(items(map, kind.table(), "").map(|(p, v)| {
            let mut pending = Pending::new(p, v.clone(), None);
            pending.credential = Some(kind);
            pending
        }));
    }
    let mut built = Vec::new();
    for pending in typed {
        let Some(kind) = pending.credential else {
            continue;
        };
        let resolve = |k: Kind, key: &str| doc.resolve(k, key);
        let mut cx = context(now, &pending.position, &resolve);
        cx.stored = stored;
        let owner = pending.owner.as_ref().map(|(_, id)| id.as_str());
        match Credential::from_json(kind, &pending.value, owner, &cx) {
            Ok(c) => built.push(c),
            Err(e) => errors.push(format!("{}: {e}", pending.label)),
        }
    }
    doc.credentials = built;

    plugins.extend(items(map, "plugins", "").map(|(p, v)| Pending::new(p, v.clone(), None)));
    let mut built = Vec::new();
    for pending in plugins {
        let resolve = |k: Kind, key: &str| doc.resolve(k, key);
        let cx = context(now, &pending.position, &resolve);
        let owner = pending.owner.as_ref().map(|(k, id)| (*k, id.as_str()));
        match Plugin::from_json(&pending.value, owner, &cx) {
            Ok(p) => built.push(p),
            Err(e) => errors.push(format!("{}: {e}", pending.label)),
        }
    }
    doc.plugins = built;

    DocumentError::check(errors)?;
    Ok(doc)
}

/// The consumer a group's nested `consumers` entry names: a string (id or
/// username) or `{id}` / `{username}`, as decK writes them.
fn member(doc: &Document, entry: &Value) -> Option<String> {
    let key = match entry {
        Value::String(s) => s.as_str(),
        Value::Object(map) => ["id", "username"]
            .iter()
            .find_map(|k| map.get(*k).and_then(Value::as_str))?,
        _ => return None,
    };
    doc.resolve(Kind::Consumer, key)
}

fn context<'a>(
    now: i64,
    position: &'a str,
    resolve: &'a dyn Fn(Kind, &str) -> Option<String>,
) -> Context<'a> {
    Context {
        now,
        ids: Ids::Derived,
        position,
        resolve,
        stored: false,
    }
}

/// The entries of list `key` with their positions (`prefix` + `key[i]`).
fn items<'a>(
    map: &'a Map<String, Value>,
    key: &'a str,
    prefix: &'a str,
) -> impl Iterator<Item = (String, &'a Value)> + 'a {
    map.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .map(move |(i, v)| (format!("{prefix}{key}[{i}]"), v))
}

/// Removes the nested lists `keys` from `item`; returns the rest and the
/// children as `(key, position, value)`.
fn split(
    item: &Value,
    keys: &[&'static str],
    position: &str,
    errors: &mut Vec<String>,
) -> (Value, Vec<(&'static str, String, Value)>) {
    let Some(map) = item.as_object() else {
        return (item.clone(), Vec::new());
    };
    let mut rest = map.clone();
    let mut children = Vec::new();
    for key in keys {
        match rest.remove(*key) {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                for (i, child) in list.into_iter().enumerate() {
                    children.push((*key, format!("{position}.{key}[{i}]"), child));
                }
            }
            Some(_) => errors.push(format!("{position}.{key}: expected an array")),
        }
    }
    (Value::Object(rest), children)
}

/// `services[0] (name 'echo')`: the position and whatever names the entity.
fn label(position: &str, value: &Value) -> String {
    let named = [
        "name",
        "username",
        "custom_id",
        "client_id",
        "group",
        "target",
    ]
    .iter()
    .find_map(|k| value.get(*k).and_then(Value::as_str).map(|v| (*k, v)));
    match named {
        Some((k, v)) => format!("{position} ({k} '{v}')"),
        None => position.to_string(),
    }
}

// === impl Pending ===

impl Pending {
    fn new(position: String, value: Value, owner: Option<(Kind, String)>) -> Self {
        Self {
            label: label(&position, &value),
            position,
            value,
            owner,
            credential: None,
        }
    }
}
