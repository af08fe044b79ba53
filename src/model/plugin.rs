//! Plugin instances with their parsed, validated configuration.

pub mod oauth2;
pub mod openid_connect;

use super::ObjectRef;
use std::sync::Arc;

pub use oauth2::Oauth2Config;
pub use openid_connect::OidcConfig;

/// Kong's name of the oauth2 plugin.
pub const OAUTH2: &str = "oauth2";
/// Kong's name of the openid-connect plugin.
pub const OPENID_CONNECT: &str = "openid-connect";
/// Every plugin kingress implements (the Admin API's `GET /` lists them).
pub const AVAILABLE: [&str; 2] = [OAUTH2, OPENID_CONNECT];

/// A plugin attached to a route: which plugin, with which config, from where.
#[derive(Clone, Debug, PartialEq)]
pub struct PluginInstance {
    /// Stable id (UUID derived from the source object and attachment).
    pub id: String,
    /// Kong plugin name (`oauth2`, `openid-connect`).
    pub name: String,
    /// `instance_name` if set.
    pub instance_name: Option<String>,
    /// The KongPlugin/KongClusterPlugin (or declarative entity) it came from.
    pub source: ObjectRef,
    /// Protocols it runs on; empty means all.
    pub protocols: Vec<String>,
    /// Dynamic ordering (`ordering.before.access` / `ordering.after.access`).
    pub ordering: PluginOrdering,
    /// The parsed configuration.
    pub config: PluginConfig,
}

/// Enterprise-style dynamic ordering for the access phase: plugin names this
/// instance must run before or after.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PluginOrdering {
    /// Run before these plugins.
    pub before: Vec<String>,
    /// Run after these plugins.
    pub after: Vec<String>,
}

/// Parsed configuration of each supported plugin.
#[derive(Clone, Debug, PartialEq)]
pub enum PluginConfig {
    /// Kong's `oauth2`.
    Oauth2(Arc<Oauth2Config>),
    /// Kong's `openid-connect`.
    OpenidConnect(Arc<OidcConfig>),
}

/// Why a plugin configuration was refused; `field` names the offending field
/// with Kong's spelling (`config.token_expiration`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The plugin name is not one kingress implements.
    #[error("plugin '{0}' is not supported by kingress")]
    UnknownPlugin(String),
    /// A field is missing, of the wrong type or out of range.
    #[error("{field}: {message}")]
    Field {
        /// Field path, e.g. `config.pkce`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

// === impl PluginConfig ===

impl PluginConfig {
    /// Parses and validates `config` for the plugin called `name`.
    pub fn parse(name: &str, config: &serde_json::Value) -> Result<Self, ConfigError> {
        match name {
            OAUTH2 => Oauth2Config::parse(config).map(|c| PluginConfig::Oauth2(Arc::new(c))),
            OPENID_CONNECT => {
                OidcConfig::parse(config).map(|c| PluginConfig::OpenidConnect(Arc::new(c)))
            }
            other => Err(ConfigError::UnknownPlugin(other.to_string())),
        }
    }

    /// Kong's static priority: higher runs first in the access phase.
    pub fn priority(&self) -> u32 {
        match self {
            PluginConfig::Oauth2(_) => 1400,
            PluginConfig::OpenidConnect(_) => 1050,
        }
    }
}

// === impl ConfigError ===

impl ConfigError {
    /// A field error.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Field {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Orders plugins by Kong priority (highest first), then applies `ordering`
/// constraints; ties keep their input order.
pub fn order_plugins(plugins: &mut Vec<PluginInstance>) {
    plugins.sort_by_key(|p| std::cmp::Reverse(p.config.priority()));
    // Dynamic ordering: move an instance just before the first plugin it must
    // precede, or just after the last one it must follow. A few passes settle
    // any consistent set of constraints; cycles stop after the bound.
    for _ in 0..plugins.len() {
        let mut moved = false;
        for i in 0..plugins.len() {
            let before = &plugins[i].ordering.before;
            if let Some(j) = (0..i).find(|&j| before.contains(&plugins[j].name)) {
                let p = plugins.remove(i);
                plugins.insert(j, p);
                moved = true;
                break;
            }
            let after = &plugins[i].ordering.after;
            if let Some(j) = (i + 1..plugins.len())
                .rev()
                .find(|&j| after.contains(&plugins[j].name))
            {
                let p = plugins.remove(i);
                plugins.insert(j, p);
                moved = true;
                break;
            }
        }
        if !moved {
            break;
        }
    }
}
