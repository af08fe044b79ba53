//! `jwt` plugin configuration (Kong OSS): every field of Kong's schema with
//! Kong's defaults, types and messages, including its one cross-field rule
//! (`maximum_expiration` > 0 needs `exp` in `claims_to_verify`).

use super::ConfigError;
use super::schema::{self, FormType, Schema};
use crate::model::CredentialType;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Kong's upper bound of `maximum_expiration` (365 days).
const MAX_EXPIRATION: f64 = 31_536_000.0;

/// Parsed `jwt` configuration.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JwtConfig {
    /// Query parameters searched for a token.
    pub uri_param_names: Vec<String>,
    /// Cookies searched for a token.
    pub cookie_names: Vec<String>,
    /// The claim (or, failing that, header member) naming the credential's `key`.
    pub key_claim_name: String,
    /// HMAC secrets are stored base64-encoded.
    pub secret_is_base64: bool,
    /// Registered claims checked after the signature; `None` is Kong's `null`.
    pub claims_to_verify: Option<Vec<Claim>>,
    /// Consumer id or username used when authentication fails.
    pub anonymous: Option<String>,
    /// Authenticate `OPTIONS` requests too.
    pub run_on_preflight: bool,
    /// Longest accepted `exp` from now, in seconds; 0 = no limit.
    pub maximum_expiration: f64,
    /// Headers searched for `Bearer <token>`.
    pub header_names: Vec<String>,
    /// `realm` of `WWW-Authenticate` on failures.
    pub realm: Option<String>,
}

/// A registered claim the plugin can check (RFC 7519 section 4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Claim {
    /// Expiration time: the token is refused at or after it.
    Exp,
    /// Not before: the token is refused before it.
    Nbf,
}

// === impl JwtConfig ===

impl Default for JwtConfig {
    fn default() -> Self {
        Self {
            uri_param_names: vec!["jwt".into()],
            cookie_names: Vec::new(),
            key_claim_name: "iss".into(),
            secret_is_base64: false,
            claims_to_verify: None,
            anonymous: None,
            run_on_preflight: true,
            maximum_expiration: 0.0,
            header_names: vec!["authorization".into()],
            realm: None,
        }
    }
}

impl JwtConfig {
    /// Kong's field rules: non-empty strings, sets without duplicates,
    /// `maximum_expiration` in range and its `exp` requirement.
    fn validate(mut self) -> Result<Self, ConfigError> {
        for (name, set) in [
            ("uri_param_names", &mut self.uri_param_names),
            ("cookie_names", &mut self.cookie_names),
            ("header_names", &mut self.header_names),
        ] {
            if let Some(i) = set.iter().position(String::is_empty) {
                return Err(too_short(&format!("{name}.{}", i + 1)));
            }
            dedup(set);
        }
        if let Some(claims) = &mut self.claims_to_verify {
            dedup(claims);
        }
        for (name, value) in [
            ("key_claim_name", Some(&self.key_claim_name)),
            ("anonymous", self.anonymous.as_ref()),
            ("realm", self.realm.as_ref()),
        ] {
            if value.is_some_and(|v| v.is_empty()) {
                return Err(too_short(name));
            }
        }
        if !(0.0..=MAX_EXPIRATION).contains(&self.maximum_expiration) {
            return Err(ConfigError::field(
                "config.maximum_expiration",
                "value should be between 0 and 31536000",
            ));
        }
        let verifies_exp = self
            .claims_to_verify
            .as_ref()
            .is_some_and(|c| c.contains(&Claim::Exp));
        if self.maximum_expiration > 0.0 && !verifies_exp {
            return Err(ConfigError::field(
                "config.claims_to_verify",
                "expected to contain: exp",
            ));
        }
        Ok(self)
    }

    /// The claims to verify (none when unset).
    pub fn claims(&self) -> &[Claim] {
        self.claims_to_verify.as_deref().unwrap_or_default()
    }
}

fn too_short(field: &str) -> ConfigError {
    ConfigError::field(format!("config.{field}"), "length must be at least 1")
}

/// Kong's sets hold each element once; the first occurrence keeps its place.
fn dedup<T: PartialEq + Clone>(items: &mut Vec<T>) {
    let mut seen: Vec<T> = Vec::with_capacity(items.len());
    items.retain(|item| {
        let new = !seen.contains(item);
        if new {
            seen.push(item.clone());
        }
        new
    });
}

impl Schema for JwtConfig {
    const NAME: &'static str = "jwt";
    const PRIORITY: u32 = 1450;
    const CREDENTIAL: Option<CredentialType> = Some(CredentialType::Jwt);
    const NULL_TYPES: &'static [(&'static str, FormType)] =
        &[("claims_to_verify", FormType::Strings)];

    fn parse(config: &Value) -> Result<Self, ConfigError> {
        schema::read::<JwtConfig>(config)?.validate()
    }

    fn defaults() -> Map<String, Value> {
        match JwtConfig::default().render() {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    fn render(&self) -> Value {
        json!({
            "uri_param_names": self.uri_param_names,
            "cookie_names": self.cookie_names,
            "key_claim_name": self.key_claim_name,
            "secret_is_base64": self.secret_is_base64,
            "claims_to_verify": self.claims_to_verify,
            "anonymous": self.anonymous,
            "run_on_preflight": self.run_on_preflight,
            "maximum_expiration": number(self.maximum_expiration),
            "header_names": self.header_names,
            "realm": self.realm,
        })
    }
}

/// A whole number prints without a fraction, as Kong prints it.
fn number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        json!(value as i64)
    } else {
        json!(value)
    }
}

#[cfg(test)]
mod tests;
