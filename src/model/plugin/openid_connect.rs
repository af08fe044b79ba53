//! `openid-connect` plugin configuration (filled in by the openid-connect work).
use super::ConfigError;

/// Parsed `openid-connect` configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct OidcConfig {
    /// Issuer (discovery URL or issuer id).
    pub issuer: String,
}

impl OidcConfig {
    /// Parses and validates.
    pub fn parse(config: &serde_json::Value) -> Result<Self, ConfigError> {
        let issuer = config
            .get("issuer")
            .and_then(|v| v.as_str())
            .ok_or_else(|| ConfigError::field("config.issuer", "required field missing"))?;
        Ok(Self {
            issuer: issuer.to_string(),
        })
    }
}
