//! Kong's declarative configuration (`kong.yml`, `_format_version: "3.0"`):
//! services with nested routes, top-level routes (with or without a
//! service), consumers with nested oauth2 credentials, consumer groups
//! with nested member references and plugins, top-level credentials, and
//! plugins that are global or scoped by nesting or by a reference (name or
//! id). Keys starting with `_` (`_transform`,
//! `_comment`, `_info`, …) are ignored, as decK and Kong do.
//!
//! [`Document::parse`] flattens everything into lists whose references are
//! ids; [`Document::to_value`] writes them back flat (every entity with its
//! id, so a re-read gives the same document), except a group's members,
//! which stay nested under it as `{id}` references.

mod flatten;
mod unique;

use super::{
    Consumer, ConsumerGroup, ConsumerGroupConsumer, Credential, Kind, Oauth2Credential, Plugin,
    Route, Service, Target, Upstream,
};
use crate::model::CredentialType;
use serde_json::{Map, Value};
use std::fmt;

/// The format version read and written.
pub const FORMAT_VERSION: &str = "3.0";

/// A parsed declarative document, references resolved to ids.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Document {
    /// Services.
    pub services: Vec<Service>,
    /// Routes, nested ones included (their `service` set).
    pub routes: Vec<Route>,
    /// Consumers.
    pub consumers: Vec<Consumer>,
    /// Consumer groups.
    pub consumer_groups: Vec<ConsumerGroup>,
    /// Group memberships, in document order.
    pub consumer_group_consumers: Vec<ConsumerGroupConsumer>,
    /// oauth2 credentials, nested ones included.
    pub oauth2_credentials: Vec<Oauth2Credential>,
    /// Credentials of every other type (`keyauth_credentials`, `acls`, …),
    /// nested ones included.
    pub credentials: Vec<Credential>,
    /// Plugins, nested ones included (their scope set).
    pub plugins: Vec<Plugin>,
    /// Upstreams.
    pub upstreams: Vec<Upstream>,
    /// Targets, nested ones included (their upstream set).
    pub targets: Vec<Target>,
}

/// Why a document was refused: every problem found, each naming the entity
/// (`services[0].routes[1] (name 'mock'): schema violation (…)`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct DocumentError {
    /// One line per problem.
    pub errors: Vec<String>,
}

// === impl Document ===

impl Document {
    /// Parses YAML (or JSON, which is YAML). `now` stamps entities without
    /// `created_at`; missing ids are derived from names, so re-reading an
    /// unchanged file gives the same ids.
    pub fn parse(text: &str, now: i64) -> Result<Self, DocumentError> {
        let value: Value = serde_yaml::from_str(text)
            .map_err(|e| DocumentError::one(format!("invalid YAML: {e}")))?;
        Self::from_value(&value, now)
    }

    /// Reads a decoded document.
    pub fn from_value(value: &Value, now: i64) -> Result<Self, DocumentError> {
        let Some(map) = value.as_object() else {
            return Err(DocumentError::one("expected a map at the top level"));
        };
        // Report the top level and the entities together, so one read of
        // the error shows everything to fix.
        let top = check_top_level(map);
        let doc = flatten::flatten(map, now);
        match (top, doc) {
            (Ok(()), Ok(doc)) => {
                unique::check(&doc)?;
                Ok(doc)
            }
            (Err(mut a), Err(b)) => {
                a.errors.extend(b.errors);
                Err(a)
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    }

    /// The document as Kong declarative JSON: `_format_version` and the
    /// entity lists, flat, references as `{"id": …}`; a group's members are
    /// nested under it (`consumers: [{"id": …}]`).
    pub fn to_value(&self) -> Value {
        fn list<T: serde::Serialize>(items: &[T]) -> Value {
            Value::Array(
                items
                    .iter()
                    .map(|i| serde_json::to_value(i).unwrap_or(Value::Null))
                    .collect(),
            )
        }
        let mut map = Map::new();
        map.insert("_format_version".into(), FORMAT_VERSION.into());
        // Passwords read in Kong's stored form are written back in it.
        if self.credentials.iter().any(|c| c.stored) {
            map.insert("_transform".into(), false.into());
        }
        map.insert("services".into(), list(&self.services));
        map.insert("routes".into(), list(&self.routes));
        map.insert("consumers".into(), list(&self.consumers));
        let groups = self.consumer_groups.iter().map(|g| {
            let mut value = serde_json::to_value(g).unwrap_or(Value::Null);
            let members: Vec<Value> = self
                .consumer_group_consumers
                .iter()
                .filter(|m| m.consumer_group.id == g.id)
                .map(|m| serde_json::json!({ "id": m.consumer.id }))
                .collect();
            if let Some(map) = value.as_object_mut()
                && !members.is_empty()
            {
                map.insert("consumers".into(), Value::Array(members));
            }
            value
        });
        let groups: Vec<Value> = groups.collect();
        // Written only when there are groups, so documents without any
        // read and write as before.
        if !groups.is_empty() {
            map.insert("consumer_groups".into(), Value::Array(groups));
        }
        map.insert("oauth2_credentials".into(), list(&self.oauth2_credentials));
        for kind in GENERIC_TYPES {
            let of_kind: Vec<&Credential> =
                self.credentials.iter().filter(|c| c.kind == kind).collect();
            if !of_kind.is_empty() {
                map.insert(kind.table().into(), list(&of_kind));
            }
        }
        map.insert("plugins".into(), list(&self.plugins));
        // Written only when there are upstreams, so documents without any
        // read and write as before.
        if !self.upstreams.is_empty() || !self.targets.is_empty() {
            map.insert("upstreams".into(), list(&self.upstreams));
            map.insert("targets".into(), list(&self.targets));
        }
        Value::Object(map)
    }

    /// [`Document::to_value`] as YAML, for writing a `kong.yml`.
    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(&self.to_value()).unwrap_or_default()
    }

    /// Whether the document holds no entity.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
            && self.routes.is_empty()
            && self.consumers.is_empty()
            && self.consumer_groups.is_empty()
            && self.oauth2_credentials.is_empty()
            && self.credentials.is_empty()
            && self.plugins.is_empty()
            && self.upstreams.is_empty()
            && self.targets.is_empty()
    }

    /// The id of the entity of `kind` that `key` names (an id, a name, or a
    /// consumer's username), as references are resolved.
    pub fn resolve(&self, kind: Kind, key: &str) -> Option<String> {
        fn find<'a, T>(
            items: &'a [T],
            id: impl Fn(&'a T) -> &'a str,
            name: impl Fn(&'a T) -> Option<&'a str>,
            key: &str,
        ) -> Option<String> {
            items
                .iter()
                .find(|i| id(i) == key)
                .or_else(|| items.iter().find(|i| name(i) == Some(key)))
                .map(|i| id(i).to_string())
        }
        match kind {
            Kind::Service => find(&self.services, |s| &s.id, |s| s.name.as_deref(), key),
            Kind::Route => find(&self.routes, |r| &r.id, |r| r.name.as_deref(), key),
            Kind::Consumer => find(&self.consumers, |c| &c.id, |c| c.username.as_deref(), key),
            Kind::ConsumerGroup => find(
                &self.consumer_groups,
                |g| &g.id,
                |g| Some(g.name.as_str()),
                key,
            ),
            Kind::Oauth2Credential => find(
                &self.oauth2_credentials,
                |c| &c.id,
                |c| Some(c.client_id.as_str()),
                key,
            ),
            Kind::Credential(t) => {
                let endpoint_key = t.endpoint_key();
                let of_kind: Vec<&Credential> =
                    self.credentials.iter().filter(|c| c.kind == t).collect();
                of_kind
                    .iter()
                    .find(|c| c.id == key)
                    .or_else(|| {
                        of_kind.iter().find(|c| {
                            endpoint_key
                                .and_then(|f| c.fields.get(f))
                                .and_then(serde_json::Value::as_str)
                                == Some(key)
                        })
                    })
                    .map(|c| c.id.clone())
            }
            Kind::Plugin => find(
                &self.plugins,
                |p| &p.id,
                |p| p.instance_name.as_deref(),
                key,
            ),
            Kind::Upstream => find(&self.upstreams, |u| &u.id, |u| Some(u.name.as_str()), key),
            Kind::Target => find(&self.targets, |t| &t.id, |t| Some(t.target.as_str()), key),
        }
    }
}

/// The credential types kept in [`Document::credentials`] (oauth2 has its
/// own list).
pub(crate) const GENERIC_TYPES: [CredentialType; 4] = [
    CredentialType::KeyAuth,
    CredentialType::BasicAuth,
    CredentialType::Jwt,
    CredentialType::Acl,
];

/// `_format_version` and the entity lists kingress reads.
fn check_top_level(map: &Map<String, Value>) -> Result<(), DocumentError> {
    let mut errors = Vec::new();
    match map.get("_format_version") {
        Some(Value::String(v)) if v == FORMAT_VERSION => {}
        Some(v) => errors.push(format!(
            "_format_version: expected \"{FORMAT_VERSION}\", got {v}"
        )),
        None => errors.push("_format_version: required field missing".to_string()),
    }
    for (key, value) in map {
        if key.starts_with('_') {
            continue;
        }
        match key.as_str() {
            "services" | "routes" | "consumers" | "consumer_groups" | "oauth2_credentials"
            | "plugins" | "upstreams" | "targets" => {
                if !value.is_array() && !value.is_null() {
                    errors.push(format!("{key}: expected an array"));
                }
            }
            other if CredentialType::from_table(other).is_some() => {
                if !value.is_array() && !value.is_null() {
                    errors.push(format!("{key}: expected an array"));
                }
            }
            other => errors.push(format!(
                "{other}: entity type not supported by kingress (it reads services, routes, \
                 upstreams, targets, consumers, consumer_groups, plugins, oauth2_credentials, \
                 keyauth_credentials, basicauth_credentials, jwt_secrets and acls)"
            )),
        }
    }
    DocumentError::check(errors)
}

// === impl DocumentError ===

impl DocumentError {
    fn one(message: impl Into<String>) -> Self {
        Self {
            errors: vec![message.into()],
        }
    }

    fn check(errors: Vec<String>) -> Result<(), Self> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Self { errors })
        }
    }
}

impl fmt::Display for DocumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.errors.join("; "))
    }
}

#[cfg(test)]
mod tests;
