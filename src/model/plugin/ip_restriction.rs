//! `ip-restriction`: Kong's schema (`kong/plugins/ip-restriction/schema.lua`);
//! priority 990, consumer-scoped (Kong's schema has no `no_consumer`).
//! The `allow`/`deny` entries are parsed once, here, into address ranges
//! ([`Ranges`]): requests only compare addresses.

mod ranges;
#[cfg(test)]
mod tests;

use crate::model::plugin::ConfigError;
use crate::model::plugin::schema::{self, FormType, Schema};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use std::net::IpAddr;

pub use ranges::Ranges;

/// The ip-restriction plugin's configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct IpRestrictionConfig {
    /// IPs and CIDR ranges allowed; any other client is refused.
    pub allow: Option<Vec<String>>,
    /// IPs and CIDR ranges refused; checked before `allow`.
    pub deny: Option<Vec<String>>,
    /// Status of a refusal (403 when unset).
    pub status: Option<Number>,
    /// Message of a refusal (`IP address not allowed: <ip>` when unset).
    pub message: Option<String>,
    #[serde(skip)]
    compiled: Compiled,
}

/// `allow`, `deny` and `status` as requests use them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Compiled {
    allow: Option<Ranges>,
    deny: Option<Ranges>,
    status: Option<StatusCode>,
}

/// kong.response.error's range: Kong's schema takes any number, and the
/// handler then fails with a 500 for a status outside it.
const STATUSES: std::ops::RangeInclusive<u64> = 400..=599;

// === impl IpRestrictionConfig ===

impl IpRestrictionConfig {
    /// Whether a client at `ip` is refused, in Kong's order: a `deny` match
    /// refuses, then a non-empty `allow` refuses every address outside it.
    pub fn refuses(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        if self.compiled.deny.as_ref().is_some_and(|d| d.contains(ip)) {
            return true;
        }
        self.compiled
            .allow
            .as_ref()
            .is_some_and(|a| !a.contains(ip))
    }

    /// The refusal's status (`status`, 403 by default).
    pub fn refusal_status(&self) -> StatusCode {
        self.compiled.status.unwrap_or(StatusCode::FORBIDDEN)
    }

    /// The refusal's message (`message`, or Kong's default naming `ip`).
    pub fn refusal_message(&self, ip: IpAddr) -> String {
        match &self.message {
            Some(message) => message.clone(),
            None => format!("IP address not allowed: {}", ip.to_canonical()),
        }
    }
}

/// A list's ranges; `None` when the list is unset or empty (Kong's
/// `isempty`: it then takes no part in the decision).
fn compile(field: &str, list: &Option<Vec<String>>) -> Result<Option<Ranges>, ConfigError> {
    match list {
        Some(entries) if !entries.is_empty() => {
            Ranges::parse(entries).map(Some).map_err(|(i, message)| {
                ConfigError::field(format!("config.{field}.{}", i + 1), message)
            })
        }
        _ => Ok(None),
    }
}

fn status(number: &Number) -> Result<StatusCode, ConfigError> {
    number
        .as_u64()
        .filter(|n| STATUSES.contains(n))
        .and_then(|n| u16::try_from(n).ok())
        .and_then(|n| StatusCode::from_u16(n).ok())
        .ok_or_else(|| {
            ConfigError::field(
                "config.status",
                format!(
                    "{number} cannot be answered: Kong's kong.response.error takes an integer between 400 and 599"
                ),
            )
        })
}

impl Schema for IpRestrictionConfig {
    const NAME: &'static str = "ip-restriction";
    const PRIORITY: u32 = 990;
    const CONSUMER_SCOPED: bool = true;
    const NULL_TYPES: &'static [(&'static str, FormType)] = &[
        ("allow", FormType::Strings),
        ("deny", FormType::Strings),
        ("status", FormType::Number),
    ];

    fn parse(config: &Value) -> Result<Self, ConfigError> {
        let mut parsed: Self = schema::read(config)?;
        let allow = compile("allow", &parsed.allow)?;
        let deny = compile("deny", &parsed.deny)?;
        if allow.is_none() && deny.is_none() {
            return Err(ConfigError::field(
                "@entity",
                "at least one of these fields must be non-empty: 'config.allow', 'config.deny'",
            ));
        }
        let status = parsed.status.as_ref().map(status).transpose()?;
        parsed.compiled = Compiled {
            allow,
            deny,
            status,
        };
        Ok(parsed)
    }

    fn defaults() -> Map<String, Value> {
        schema::defaults_of::<Self>()
    }

    fn render(&self) -> Value {
        schema::render_of(self)
    }
}
