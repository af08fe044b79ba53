//! Kong 3's deprecated flat `redis_*` fields, folded into the `redis`
//! record as Kong's schema does before defaults: the `redis.*` value wins,
//! and both given with different values is an error on the shorthand.

use crate::model::plugin::ConfigError;
use crate::model::plugin::schema::MASK;
use serde_json::{Map, Value};

/// (shorthand, field of `redis` it sets).
const SHORTHANDS: [(&str, &str); 9] = [
    ("redis_host", "host"),
    ("redis_port", "port"),
    ("redis_password", "password"),
    ("redis_username", "username"),
    ("redis_ssl", "ssl"),
    ("redis_ssl_verify", "ssl_verify"),
    ("redis_server_name", "server_name"),
    ("redis_timeout", "timeout"),
    ("redis_database", "database"),
];

/// Folds every shorthand present; the first conflict is returned and it
/// and the later shorthands are left in place.
pub(super) fn fold(config: &mut Map<String, Value>) -> Result<(), ConfigError> {
    for (old, new) in SHORTHANDS {
        let Some(value) = config.get(old).filter(|v| !v.is_null()).cloned() else {
            config.remove(old);
            continue;
        };
        let redis = config
            .entry("redis")
            .or_insert_with(|| Value::Object(Map::new()));
        if redis.is_null() {
            *redis = Value::Object(Map::new());
        }
        let Some(redis) = redis.as_object_mut() else {
            // `redis` of the wrong type: serde reports it.
            return Ok(());
        };
        match redis.get(new).filter(|v| !v.is_null()) {
            Some(current) if *current != value => {
                // Kong prints both values; a password is never echoed.
                let (shown_old, shown_new) = if old == "redis_password" {
                    (MASK.to_string(), MASK.to_string())
                } else {
                    (plain(&value), plain(current))
                };
                return Err(ConfigError::field(
                    format!("config.{old}"),
                    format!(
                        "both deprecated and new field are used but their values mismatch: \
                         {old} = {shown_old} vs redis.{new} = {shown_new}"
                    ),
                ));
            }
            Some(_) => {}
            None => {
                redis.insert(new.to_string(), value);
            }
        }
        config.remove(old);
    }
    Ok(())
}

/// Lua's `tostring`: strings without quotes.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
