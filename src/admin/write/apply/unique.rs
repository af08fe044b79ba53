//! Kong's unique constraints (409), checked before an entity is stored.

use super::super::entity::Entity;
use super::super::error::WriteError;
use crate::kong::{Document, Foreign};
use serde_json::{Map, Value, json};

/// Kong's unique constraints (409): ids, names, usernames, custom_ids,
/// client_ids, instance names, and one plugin of a name per scope.
pub(super) fn unique(
    doc: &Document,
    entity: &Entity,
    replaces: Option<&str>,
) -> Result<(), WriteError> {
    let other = |id: &str| Some(id) != replaces && id != entity.id();
    let id = entity.id();
    let taken_id = doc
        .services
        .iter()
        .any(|e| e.id == id && Some(id) != replaces)
        || doc
            .routes
            .iter()
            .any(|e| e.id == id && Some(id) != replaces)
        || doc
            .consumers
            .iter()
            .any(|e| e.id == id && Some(id) != replaces)
        || doc
            .oauth2_credentials
            .iter()
            .any(|e| e.id == id && Some(id) != replaces)
        || doc
            .plugins
            .iter()
            .any(|e| e.id == id && Some(id) != replaces)
        || doc
            .credentials
            .iter()
            .any(|e| e.id == id && Some(id) != replaces)
        || doc
            .upstreams
            .iter()
            .any(|e| e.id == id && Some(id) != replaces)
        || doc
            .targets
            .iter()
            .any(|e| e.id == id && Some(id) != replaces);
    if taken_id {
        return Err(WriteError::unique("id", id));
    }
    let clash = |field: &str, value: &Option<String>, taken: bool| match value {
        Some(v) if taken => Err(WriteError::unique(field, v.as_str())),
        _ => Ok(()),
    };
    match entity {
        Entity::Service(s) => clash(
            "name",
            &s.name,
            doc.services
                .iter()
                .any(|o| other(&o.id) && o.name.is_some() && o.name == s.name),
        ),
        Entity::Upstream(u) => clash(
            "name",
            &Some(u.name.clone()),
            doc.upstreams
                .iter()
                .any(|o| other(&o.id) && o.name == u.name),
        ),
        // An address once per upstream; Kong names both fields.
        Entity::Target(t) => {
            let taken = doc
                .targets
                .iter()
                .any(|o| other(&o.id) && o.upstream.id == t.upstream.id && o.target == t.target);
            if !taken {
                return Ok(());
            }
            let mut fields = Map::new();
            fields.insert("target".into(), t.target.clone().into());
            fields.insert("upstream".into(), json!({ "id": t.upstream.id }));
            Err(WriteError::Unique { fields })
        }
        Entity::Route(r) => clash(
            "name",
            &r.name,
            doc.routes
                .iter()
                .any(|o| other(&o.id) && o.name.is_some() && o.name == r.name),
        ),
        Entity::Consumer(c) => {
            clash(
                "username",
                &c.username,
                doc.consumers
                    .iter()
                    .any(|o| other(&o.id) && o.username.is_some() && o.username == c.username),
            )?;
            clash(
                "custom_id",
                &c.custom_id,
                doc.consumers
                    .iter()
                    .any(|o| other(&o.id) && o.custom_id.is_some() && o.custom_id == c.custom_id),
            )
        }
        Entity::Oauth2(c) => clash(
            "client_id",
            &Some(c.client_id.clone()),
            doc.oauth2_credentials
                .iter()
                .any(|o| other(&o.id) && o.client_id == c.client_id),
        ),
        Entity::Credential(c) => {
            let key = c.unique_key();
            let taken = doc.credentials.iter().any(|o| {
                other(&o.id) && o.kind == c.kind && key.is_some() && o.unique_key() == key
            });
            if !taken {
                return Ok(());
            }
            // Kong names the unique field (`key`, `username`), or the
            // cache key of an acl.
            match c
                .kind
                .endpoint_key()
                .filter(|_| c.kind != crate::model::CredentialType::Acl)
            {
                Some(field) => Err(WriteError::unique(
                    field,
                    c.fields.get(field).cloned().unwrap_or(Value::Null),
                )),
                None => {
                    let mut fields = Map::new();
                    fields.insert("consumer".into(), json!({ "id": c.consumer.id }));
                    fields.insert(
                        "group".into(),
                        c.fields.get("group").cloned().unwrap_or(Value::Null),
                    );
                    Err(WriteError::Unique { fields })
                }
            }
        }
        Entity::Plugin(p) => {
            clash(
                "instance_name",
                &p.instance_name,
                doc.plugins.iter().any(|o| {
                    other(&o.id) && o.instance_name.is_some() && o.instance_name == p.instance_name
                }),
            )?;
            let same_scope = doc.plugins.iter().any(|o| {
                other(&o.id)
                    && o.name == p.name
                    && o.route == p.route
                    && o.service == p.service
                    && o.consumer == p.consumer
            });
            if same_scope {
                let scope =
                    |f: &Option<Foreign>| f.as_ref().map_or(Value::Null, |f| json!({ "id": f.id }));
                let mut fields = Map::new();
                fields.insert("name".into(), p.name.clone().into());
                fields.insert("route".into(), scope(&p.route));
                fields.insert("service".into(), scope(&p.service));
                fields.insert("consumer".into(), scope(&p.consumer));
                return Err(WriteError::Unique { fields });
            }
            Ok(())
        }
    }
}
