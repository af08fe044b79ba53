//! Plugin instances with their parsed, validated configuration.

pub mod acl;
pub mod basic_auth;
pub mod correlation_id;
pub mod cors;
pub mod file_log;
pub mod grpc_web;
pub mod http_log;
pub mod ip_restriction;
pub mod jwt;
pub mod key_auth;
pub mod oauth2;
pub mod openid_connect;
pub mod opentelemetry;
pub mod prometheus;
pub mod proxy_cache;
pub mod queue;
pub mod rate_limiting;
mod registry;
pub mod request_size_limiting;
pub mod request_termination;
pub mod request_transformer;
pub mod response_transformer;
pub mod schema;
mod scope;
pub mod transform;

use super::ObjectRef;
use serde_json::{Map, Value};
use std::sync::Arc;

pub use acl::AclConfig;
pub use basic_auth::BasicAuthConfig;
pub use correlation_id::CorrelationIdConfig;
pub use cors::CorsConfig;
pub use file_log::FileLogConfig;
pub use grpc_web::GrpcWebConfig;
pub use http_log::HttpLogConfig;
pub use ip_restriction::IpRestrictionConfig;
pub use jwt::JwtConfig;
pub use key_auth::KeyAuthConfig;
pub use oauth2::Oauth2Config;
pub use openid_connect::OidcConfig;
pub use opentelemetry::OpentelemetryConfig;
pub use prometheus::PrometheusConfig;
pub use proxy_cache::ProxyCacheConfig;
pub use rate_limiting::RateLimitingConfig;
pub(crate) use registry::plugins as registry;
pub use request_size_limiting::RequestSizeLimitingConfig;
pub use request_termination::RequestTerminationConfig;
pub use request_transformer::RequestTransformerConfig;
pub use response_transformer::ResponseTransformerConfig;
pub use schema::Schema;
pub use scope::{Holder, Scope};

/// Kong's name of the oauth2 plugin.
pub const OAUTH2: &str = <Oauth2Config as Schema>::NAME;
/// Kong's name of the openid-connect plugin.
pub const OPENID_CONNECT: &str = <OidcConfig as Schema>::NAME;

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
    /// Where it is attached; decides which instance of a plugin runs when
    /// several apply.
    pub scope: Scope,
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

/// The registry expanded into the configuration enum and what the rest of
/// the program asks of "every plugin".
macro_rules! config_enum {
    ($($variant:ident => $module:ident :: $config:ident,)*) => {
        /// Parsed configuration of each supported plugin.
        #[derive(Clone, Debug, PartialEq)]
        pub enum PluginConfig {
            $(
                #[doc = concat!("`", stringify!($module), "`")]
                $variant(Arc<$config>),
            )*
        }

        /// Every plugin kingress implements, by Kong name (the Admin API's
        /// `GET /` lists them; the README's plugin table is checked against it).
        pub const AVAILABLE: &[&str] = &[$(<$config as Schema>::NAME),*];

        impl PluginConfig {
            /// Parses and validates `config` for the plugin called `name`.
            pub fn parse(name: &str, config: &Value) -> Result<Self, ConfigError> {
                $(
                    if name == <$config as Schema>::NAME {
                        let parsed = <$config as Schema>::parse(config)?;
                        return Ok(PluginConfig::$variant(Arc::new(parsed)));
                    }
                )*
                Err(ConfigError::UnknownPlugin(name.to_string()))
            }

            /// Kong's plugin name.
            pub fn name(&self) -> &'static str {
                match self {
                    $(PluginConfig::$variant(_) => <$config as Schema>::NAME,)*
                }
            }

            /// Kong's static priority: higher runs first in the access phase.
            pub fn priority(&self) -> u32 {
                match self {
                    $(PluginConfig::$variant(_) => <$config as Schema>::PRIORITY,)*
                }
            }

            /// The configuration as the Admin API prints it, secrets masked.
            pub fn render(&self) -> Value {
                match self {
                    $(PluginConfig::$variant(c) => Schema::render(&**c),)*
                }
            }
        }

        /// Facts about a plugin known by name, before any config is parsed.
        #[derive(Clone, Copy, Debug)]
        pub struct PluginFacts {
            /// Kong's name.
            pub name: &'static str,
            /// Kong's priority.
            pub priority: u32,
            /// May be scoped to a consumer or consumer group.
            pub consumer_scoped: bool,
            /// Types of fields whose default is null (form input).
            pub null_types: &'static [(&'static str, schema::FormType)],
            /// Fields where an explicit `null` is kept when printing.
            pub keep_null: &'static [&'static str],
            defaults: fn() -> Map<String, Value>,
            fold_shorthands: fn(&mut Map<String, Value>),
        }

        impl PluginFacts {
            /// The plugin called `name`, if kingress implements it.
            pub fn of(name: &str) -> Option<Self> {
                $(
                    if name == <$config as Schema>::NAME {
                        return Some(Self {
                            name: <$config as Schema>::NAME,
                            priority: <$config as Schema>::PRIORITY,
                            consumer_scoped: <$config as Schema>::CONSUMER_SCOPED,
                            null_types: <$config as Schema>::NULL_TYPES,
                            keep_null: <$config as Schema>::KEEP_NULL,
                            defaults: <$config as Schema>::defaults,
                            fold_shorthands: <$config as Schema>::fold_shorthands,
                        });
                    }
                )*
                None
            }

            /// Kong's default of every field.
            pub fn defaults(&self) -> Map<String, Value> {
                (self.defaults)()
            }

            /// Deprecated shorthands rewritten into their fields
            /// ([`Schema::fold_shorthands`]).
            pub fn fold_shorthands(&self, config: &mut Map<String, Value>) {
                (self.fold_shorthands)(config)
            }
        }
    };
}

registry!(config_enum);

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
