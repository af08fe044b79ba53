//! Kong `plugins`: an instance of a plugin, global or scoped to a service,
//! route or consumer. `config` is checked by the same parsers translate
//! uses (`model::plugin`) and printed with Kong's defaults filled in.

mod defaults;

use super::read::{Reader, object};
use super::{Context, FieldErrors, Foreign, Kind};
use crate::model::plugin::{ConfigError, PluginConfig, PluginFacts};
use serde::Serialize;
use serde_json::Value;
use std::fmt;

pub use defaults::{coerce_config, defaulted_config};

/// Kong's default (and allowed) protocols of HTTP plugins.
const PROTOCOLS: [&str; 4] = ["grpc", "grpcs", "http", "https"];

/// A plugin instance, serialized as the Admin API prints it. `Debug` shows
/// only the names of `config` fields (values may be secrets).
#[derive(Clone, PartialEq, Serialize)]
pub struct Plugin {
    /// UUID.
    pub id: String,
    /// Seconds since the epoch.
    pub created_at: i64,
    /// Seconds since the epoch.
    pub updated_at: i64,
    /// Plugin name (`oauth2`, `openid-connect`).
    pub name: String,
    /// Optional unique instance name.
    pub instance_name: Option<String>,
    /// Configuration with defaults filled in.
    pub config: Value,
    /// Disabled instances do not run.
    pub enabled: bool,
    /// Protocols it runs on.
    pub protocols: Vec<String>,
    /// Scoped to this route.
    pub route: Option<Foreign>,
    /// Scoped to this service.
    pub service: Option<Foreign>,
    /// Scoped to this consumer (refused for authentication plugins, as
    /// Kong's schemas do).
    pub consumer: Option<Foreign>,
    /// Scoped to this consumer group (refused for authentication plugins
    /// as `consumer` is). Left out of the JSON when unset, as Kong
    /// Gateway OSS has no such field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer_group: Option<Foreign>,
    /// Dynamic ordering, `{"before": {"access": [...]}, "after": {...}}`.
    pub ordering: Option<Value>,
    /// Tags.
    pub tags: Option<Vec<String>>,
}

// === impl Plugin ===

impl Plugin {
    /// Builds a plugin from its JSON object. `owner` is the entity it is
    /// nested under (declarative nesting, or `/routes/{r}/plugins`); other
    /// references resolve through `cx`.
    pub fn from_json(
        value: &Value,
        owner: Option<(Kind, &str)>,
        cx: &Context<'_>,
    ) -> Result<Self, FieldErrors> {
        let mut r = Reader::new(object(value)?);
        let name = r.required_string("name").unwrap_or_default();
        let facts = PluginFacts::of(&name);
        let known = facts.is_some();
        if !name.is_empty() && !known {
            r.errors.field(
                "name",
                format!(
                    "plugin '{name}' not enabled; add it to the 'plugins' configuration property"
                ),
            );
        }
        let scope = |r: &mut Reader<'_>, key: &'static str, kind: Kind| match owner {
            Some((k, id)) if k == kind => {
                r.accept(key);
                Some(Foreign { id: id.to_string() })
            }
            _ => r.foreign(key, kind, cx),
        };
        let route = scope(&mut r, "route", Kind::Route);
        let service = scope(&mut r, "service", Kind::Service);
        let consumer = scope(&mut r, "consumer", Kind::Consumer);
        let consumer_group = scope(&mut r, "consumer_group", Kind::ConsumerGroup);
        // Kong's `no_consumer`: an authentication plugin cannot be scoped
        // to the consumer (or group) it is meant to find.
        if facts.is_some_and(|f| !f.consumer_scoped) {
            for (key, scoped) in [("consumer", &consumer), ("consumer_group", &consumer_group)] {
                if scoped.is_some() {
                    r.errors.field(key, "value must be null");
                }
            }
        }
        let instance_name = r.name("instance_name");
        let config = config(&mut r, &name, known);
        let protocols = r
            .set("protocols")
            .unwrap_or_else(|| PROTOCOLS.map(String::from).to_vec());
        if let Some(p) = protocols.iter().find(|p| !PROTOCOLS.contains(&p.as_str())) {
            r.errors.field(
                "protocols",
                format!("expected one of: grpc, grpcs, http, https (got '{p}')"),
            );
        }
        let ordering = ordering(&mut r);
        let id_of = |f: &Option<Foreign>| f.as_ref().map_or(String::new(), |f| f.id.clone());
        let mut key = format!(
            "{name}|{}|{}|{}|{}",
            id_of(&route),
            id_of(&service),
            id_of(&consumer),
            instance_name.as_deref().unwrap_or_default(),
        );
        // Appended only when set, so ids of existing plugins do not move.
        if let Some(group) = &consumer_group {
            key.push_str(&format!("|group:{}", group.id));
        }
        let plugin = Plugin {
            id: r.id(cx, Kind::Plugin, Some(&key)),
            created_at: r.timestamp("created_at", cx.now),
            updated_at: r.timestamp("updated_at", cx.now),
            name,
            instance_name,
            config,
            enabled: r.boolean("enabled", true),
            protocols,
            route,
            service,
            consumer,
            consumer_group,
            ordering,
            tags: r.tags(),
        };
        r.finish()?;
        Ok(plugin)
    }

    /// The parsed configuration (the same parser as Kubernetes plugins).
    pub fn parsed_config(&self) -> Result<PluginConfig, ConfigError> {
        PluginConfig::parse(&self.name, &self.config)
    }

    /// `ordering.before.access` and `ordering.after.access`.
    pub fn access_ordering(&self) -> (Vec<String>, Vec<String>) {
        let list = |dir: &str| {
            self.ordering
                .as_ref()
                .and_then(|o| o.pointer(&format!("/{dir}/access")))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default()
        };
        (list("before"), list("after"))
    }
}

/// Reads `config`: coerced, checked by the plugin's parser, defaulted.
fn config(r: &mut Reader<'_>, name: &str, known: bool) -> Value {
    let mut config = r
        .get("config")
        .cloned()
        .unwrap_or(Value::Object(Default::default()));
    if !config.is_object() {
        r.errors.field("config", "expected a record");
        return config;
    }
    if !known {
        return config;
    }
    coerce_config(name, &mut config);
    match PluginConfig::parse(name, &config) {
        Ok(_) => defaulted_config(name, &config),
        Err(ConfigError::Field { field, message }) => {
            let path = if field == "config" || field.starts_with("config.") {
                field
            } else {
                format!("config.{field}")
            };
            // A plugin names an array element as `<field>.<n>` (from 1, as
            // Kong's summary does); Kong's body lists it per element.
            let element = path.rsplit_once('.').and_then(|(array, n)| {
                let n = n.parse::<usize>().ok().filter(|n| *n >= 1)?;
                let len = array_len(&config, array)?;
                Some((array.to_string(), n - 1, len))
            });
            match element {
                Some((array, index, len)) => r.errors.element(&array, index, len, message),
                None => r.errors.field(&path, message),
            }
            config
        }
        Err(e @ ConfigError::UnknownPlugin(_)) => {
            r.errors.field("name", e.to_string());
            config
        }
    }
}

/// The length of the array at the dotted `path` (`config.…`) of `config`.
fn array_len(config: &Value, path: &str) -> Option<usize> {
    let mut value = config;
    for key in path.split('.').skip(1) {
        value = value.get(key)?;
    }
    value.as_array().map(Vec::len)
}

/// `ordering`: `before`/`after`, each `{access: [plugin names]}`.
fn ordering(r: &mut Reader<'_>) -> Option<Value> {
    let value = r.get("ordering")?.clone();
    let valid = value.as_object().is_some_and(|o| {
        o.iter().all(|(dir, phases)| {
            matches!(dir.as_str(), "before" | "after")
                && phases.as_object().is_some_and(|p| {
                    p.iter().all(|(phase, names)| {
                        phase == "access"
                            && names
                                .as_array()
                                .is_some_and(|a| a.iter().all(Value::is_string))
                    })
                })
        })
    });
    if !valid {
        r.errors.field(
            "ordering",
            "expected {before|after: {access: [plugin names]}}",
        );
        return None;
    }
    Some(value)
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&String> = self
            .config
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        f.debug_struct("Plugin")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("instance_name", &self.instance_name)
            .field("config_fields", &keys)
            .field("enabled", &self.enabled)
            .field("protocols", &self.protocols)
            .field("route", &self.route)
            .field("service", &self.service)
            .field("consumer", &self.consumer)
            .field("consumer_group", &self.consumer_group)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
