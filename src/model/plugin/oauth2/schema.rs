//! `oauth2` in the registry: Kong's name, priority, defaults and how the
//! Admin API prints a parsed config.

use super::{Oauth2Config, Pkce};
use crate::model::CredentialType;
use crate::model::plugin::ConfigError;
use crate::model::plugin::schema::{FormType, Schema, mask};
use serde_json::{Map, Value, json};

impl Schema for Oauth2Config {
    const NAME: &'static str = "oauth2";
    const PRIORITY: u32 = 1400;
    const CREDENTIAL: Option<CredentialType> = Some(CredentialType::Oauth2);
    const NULL_TYPES: &'static [(&'static str, FormType)] = &[("scopes", FormType::Strings)];

    fn parse(config: &Value) -> Result<Self, ConfigError> {
        Oauth2Config::parse(config)
    }

    /// Kong's defaults (`provision_key` stays unset: kingress does not
    /// generate one, see the module docs).
    fn defaults() -> Map<String, Value> {
        let value = json!({
            "scopes": null,
            "mandatory_scope": false,
            "provision_key": null,
            "token_expiration": 7200,
            "enable_authorization_code": false,
            "enable_implicit_grant": false,
            "enable_client_credentials": false,
            "enable_password_grant": false,
            "hide_credentials": false,
            "accept_http_if_already_terminated": false,
            "anonymous": null,
            "global_credentials": false,
            "auth_header_name": "authorization",
            "refresh_token_ttl": 1_209_600,
            "reuse_refresh_token": false,
            "pkce": "lax",
            "realm": null,
            "persistent_refresh_token": false,
        });
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    fn render(&self) -> Value {
        json!({
            "scopes": self.scopes,
            "mandatory_scope": self.mandatory_scope,
            "provision_key": mask(&self.provision_key),
            "token_expiration": self.token_expiration,
            "enable_authorization_code": self.enable_authorization_code,
            "enable_implicit_grant": self.enable_implicit_grant,
            "enable_client_credentials": self.enable_client_credentials,
            "enable_password_grant": self.enable_password_grant,
            "hide_credentials": self.hide_credentials,
            "accept_http_if_already_terminated": self.accept_http_if_already_terminated,
            "anonymous": self.anonymous,
            "global_credentials": self.global_credentials,
            "auth_header_name": self.auth_header_name.as_str(),
            "refresh_token_ttl": self.refresh_token_ttl,
            "reuse_refresh_token": self.reuse_refresh_token,
            "pkce": match self.pkce {
                Pkce::None => "none",
                Pkce::Lax => "lax",
                Pkce::Strict => "strict",
            },
            "realm": self.realm,
        })
    }
}
