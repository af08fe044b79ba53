//! `openid-connect` in the registry: Kong's name, priority, defaults and
//! how the Admin API prints a parsed config.
//!
//! The defaults are kingress's effective ones where they differ from Kong's
//! (`auth_methods`, `hide_credentials`; see the module docs), so what is
//! printed is what runs.

use super::OidcConfig;
use crate::model::plugin::ConfigError;
use crate::model::plugin::schema::{MASK, Schema};
use serde_json::{Map, Value, json};

impl Schema for OidcConfig {
    const NAME: &'static str = "openid-connect";
    const PRIORITY: u32 = 1050;
    // `upstream_access_token_header: null` turns the header off.
    const KEEP_NULL: &'static [&'static str] = super::catalogue::KEEP_NULL;

    fn parse(config: &Value) -> Result<Self, ConfigError> {
        OidcConfig::parse(config)
    }

    /// Every field of Kong's schema at the default kingress applies.
    fn defaults() -> Map<String, Value> {
        super::catalogue::defaults()
    }

    /// Every field, as given or defaulted, secrets masked.
    fn render(&self) -> Value {
        let mut out = super::catalogue::render(&self.given.0);
        out["issuer"] = json!(without_userinfo(&self.issuer));
        out
    }
}

/// A URL with any `user:password@` part masked.
fn without_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{MASK}@{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_masked() {
        assert_eq!(
            without_userinfo("https://u:p@idp.example/realms/x"),
            "https://[redacted]@idp.example/realms/x"
        );
        assert_eq!(
            without_userinfo("https://idp.example/a@b"),
            "https://idp.example/a@b"
        );
    }
}
