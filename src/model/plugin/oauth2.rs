//! `oauth2` plugin configuration (filled in by the oauth2 work).
use super::ConfigError;

/// Parsed `oauth2` configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Oauth2Config {
    /// Accept client_credentials.
    pub enable_client_credentials: bool,
}

impl Oauth2Config {
    /// Parses and validates.
    pub fn parse(config: &serde_json::Value) -> Result<Self, ConfigError> {
        Ok(Self {
            enable_client_credentials: config
                .get("enable_client_credentials")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
        })
    }
}
