//! Kong's unique constraints across a document: ids, service and route
//! names, consumer usernames and custom_ids, consumer group names,
//! client_ids, and one plugin of a name per scope (Kong's plugin cache key).

use super::{Document, DocumentError};
use std::collections::BTreeMap;

/// Reports every value used twice, naming both holders.
pub(super) fn check(doc: &Document) -> Result<(), DocumentError> {
    let mut errors = Vec::new();
    let mut seen = Seen::default();
    for s in &doc.services {
        seen.add(&mut errors, "services", "id", &s.id);
        if let Some(n) = &s.name {
            seen.add(&mut errors, "services", "name", n);
        }
    }
    for u in &doc.upstreams {
        seen.add(&mut errors, "upstreams", "id", &u.id);
        seen.add(&mut errors, "upstreams", "name", &u.name);
    }
    for t in &doc.targets {
        seen.add(&mut errors, "targets", "id", &t.id);
        let key = format!("{}|{}", t.upstream.id, t.target);
        seen.add(&mut errors, "targets", "target", &key);
    }
    for r in &doc.routes {
        seen.add(&mut errors, "routes", "id", &r.id);
        if let Some(n) = &r.name {
            seen.add(&mut errors, "routes", "name", n);
        }
    }
    for c in &doc.consumers {
        seen.add(&mut errors, "consumers", "id", &c.id);
        if let Some(u) = &c.username {
            seen.add(&mut errors, "consumers", "username", u);
        }
        if let Some(c) = &c.custom_id {
            seen.add(&mut errors, "consumers", "custom_id", c);
        }
    }
    for g in &doc.consumer_groups {
        seen.add(&mut errors, "consumer_groups", "id", &g.id);
        seen.add(&mut errors, "consumer_groups", "name", &g.name);
    }
    for m in &doc.consumer_group_consumers {
        let pair = format!("{} in {}", m.consumer.id, m.consumer_group.id);
        seen.add(&mut errors, "consumer_group_consumers", "consumer", &pair);
    }
    for c in &doc.oauth2_credentials {
        seen.add(&mut errors, "oauth2_credentials", "id", &c.id);
        seen.add(&mut errors, "oauth2_credentials", "client_id", &c.client_id);
    }
    for c in &doc.credentials {
        seen.add(&mut errors, c.kind.table(), "id", &c.id);
        // A key-auth key is a secret: the message names the entity, not it.
        if let Some(key) = c.unique_key() {
            let shown = match c.kind {
                crate::model::CredentialType::KeyAuth => format!("of credential {}", c.id),
                _ => key.replace('\u{0}', " "),
            };
            seen.add_hidden(&mut errors, c.kind.table(), "unique key", &key, &shown);
        }
    }
    for p in &doc.plugins {
        seen.add(&mut errors, "plugins", "id", &p.id);
        if let Some(n) = &p.instance_name {
            seen.add(&mut errors, "plugins", "instance_name", n);
        }
        let scope =
            |f: &Option<crate::kong::Foreign>| f.as_ref().map_or("", |f| f.id.as_str()).to_string();
        let mut key = format!(
            "{} (route '{}', service '{}', consumer '{}'",
            p.name,
            scope(&p.route),
            scope(&p.service),
            scope(&p.consumer)
        );
        if p.consumer_group.is_some() {
            key.push_str(&format!(", consumer_group '{}'", scope(&p.consumer_group)));
        }
        key.push(')');
        seen.add(&mut errors, "plugins", "name and scope", &key);
    }
    DocumentError::check(errors)
}

#[derive(Default)]
struct Seen(BTreeMap<(&'static str, &'static str, String), ()>);

impl Seen {
    /// Like [`Seen::add`], showing `shown` instead of the value.
    fn add_hidden(
        &mut self,
        errors: &mut Vec<String>,
        table: &'static str,
        field: &'static str,
        value: &str,
        shown: &str,
    ) {
        if self
            .0
            .insert((table, field, value.to_string()), ())
            .is_some()
        {
            errors.push(format!(
                "{table}: {field} {shown} is used more than once (UNIQUE violation)"
            ));
        }
    }

    fn add(
        &mut self,
        errors: &mut Vec<String>,
        table: &'static str,
        field: &'static str,
        value: &str,
    ) {
        if self
            .0
            .insert((table, field, value.to_string()), ())
            .is_some()
        {
            errors.push(format!(
                "{table}: {field} '{value}' is used more than once (UNIQUE violation)"
            ));
        }
    }
}
