//! `openid-connect` plugin configuration: every field of Kong's Enterprise
//! plugin's schema is accepted (see [`catalogue`], the one list of fields
//! and of what kingress does with each); the methods kingress runs are
//! [`IMPLEMENTED_METHODS`].
//!
//! Defaults follow Kong's 3.x schema with these deliberate differences:
//! - an absent `auth_methods`, or Kong's default list of all nine, means
//!   the implemented methods; an explicit list naming any other Kong method
//!   is a configuration error, so a route never silently falls through to a
//!   flow kingress does not have (the route then fails closed);
//! - `ssl_verify` defaults to `true` (Kong 3.14+), not `false` (3.4–3.13);
//! - `hide_credentials` defaults to `false` (Kong 3.4–3.13), as it did
//!   before Kong 3.14 changed it for new plugins.
//!
//! A field unknown to Kong is refused, so a misspelt rule such as
//! `scope_required` cannot quietly disable a check.

pub mod catalogue;
mod fields;
mod grants;
mod jwk;
mod read;
mod schema;
#[cfg(test)]
mod tests;
mod values;

use super::ConfigError;
use crate::model::Sensitive;
use fields::*;
use http::HeaderName;
use read::{Fields, field, http_url};

pub use fields::IMPLEMENTED_METHODS;
pub use grants::GrantConfig;
pub use jwk::ClientJwk;
pub use values::{
    AuthMethod, ClaimHeader, ClaimRule, ClientAuth, ConsumerBy, SigningAlg, TokenParam,
    UpstreamTokenHeader,
};

/// Parsed `openid-connect` configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct OidcConfig {
    /// Issuer: discovery URL or issuer id (required).
    pub issuer: String,
    /// Client id used towards the identity provider.
    pub client_id: Option<String>,
    /// Client secret (`client_secret_*` auth, HS* token signatures).
    pub client_secret: Option<Sensitive>,
    /// How to authenticate to the introspection endpoint; `None` means
    /// "as discovered, else `client_secret_basic`".
    pub client_auth: Option<ClientAuth>,
    /// Private key for `private_key_jwt`; `None` means the plugin generates
    /// one per instance when it first needs it.
    pub client_jwk: Option<ClientJwk>,
    /// Assertion algorithm; `None` means HS256 for `client_secret_jwt` and
    /// the key's own algorithm (RS256 for generated keys) for
    /// `private_key_jwt`.
    pub client_alg: Option<SigningAlg>,
    /// Enabled methods, in Kong's search order.
    pub auth_methods: Vec<AuthMethod>,
    /// Where the token is looked for, in this order.
    pub bearer_token_param_type: Vec<TokenParam>,
    /// Cookie holding the token for [`TokenParam::Cookie`].
    pub bearer_token_cookie_name: Option<String>,
    /// Accepted `iss` values; empty means the discovered issuer.
    pub issuers_allowed: Vec<String>,
    /// Additional JWKS URLs trusted for `bearer`.
    pub extra_jwks_uris: Vec<String>,
    /// Overrides the discovered `jwks_uri`.
    pub jwks_endpoint: Option<String>,
    /// Overrides the discovered `introspection_endpoint`.
    pub introspection_endpoint: Option<String>,
    /// Minimum seconds between two rediscoveries (unknown `kid`).
    pub rediscovery_lifetime: u64,
    /// Clock skew allowed for `exp`, `nbf`, `iat`, in seconds.
    pub leeway: u64,
    /// Check JWT signatures (Kong allows turning this off; do not).
    pub verify_signature: bool,
    /// Check `exp`, `nbf`, `iat`, `iss`.
    pub verify_claims: bool,
    /// Accept HS256/384/512 tokens signed with `client_secret`.
    pub enable_hs_signatures: bool,
    /// `scopes_claim` / `scopes_required`.
    pub scopes: ClaimRule,
    /// `audience_claim` / `audience_required`.
    pub audience: ClaimRule,
    /// `groups_claim` / `groups_required`.
    pub groups: ClaimRule,
    /// `roles_claim` / `roles_required`.
    pub roles: ClaimRule,
    /// Claim path whose value names the consumer.
    pub consumer_claim: Option<Vec<String>>,
    /// Consumer fields the claim value is matched against, in order.
    pub consumer_by: Vec<ConsumerBy>,
    /// A consumer that cannot be mapped is not an error.
    pub consumer_optional: bool,
    /// Consumer id or username used when authentication fails.
    pub anonymous: Option<String>,
    /// Remove the token from where it was found before proxying.
    pub hide_credentials: bool,
    /// Header (and scheme) the upstream receives the access token in;
    /// `None` sends nothing extra.
    pub upstream_access_token_header: Option<UpstreamTokenHeader>,
    /// Claim → upstream header pairs.
    pub upstream_headers: Vec<ClaimHeader>,
    /// Header receiving the base64 introspection response.
    pub upstream_introspection_header: Option<HeaderName>,
    /// 401 body message.
    pub unauthorized_error_message: String,
    /// 403 body message.
    pub forbidden_error_message: String,
    /// Add the failure reason to error messages.
    pub display_errors: bool,
    /// Cache introspection results until their `exp`.
    pub cache_introspection: bool,
    /// Verify the identity provider's TLS certificate.
    pub ssl_verify: bool,
    /// Identity-provider request timeout in milliseconds.
    pub timeout_ms: u64,
    /// `password`, `client_credentials` and `userinfo` settings.
    pub grants: GrantConfig,
    /// The fields as given, for printing (secrets are masked then).
    pub given: Given,
}

/// The `config` object as given. Its `Debug` shows field names only: the
/// values include secrets.
#[derive(Clone, Default)]
pub struct Given(pub serde_json::Map<String, serde_json::Value>);

/// Equal when every field prints the same (a field left out equals the
/// same field given at its default).
impl PartialEq for Given {
    fn eq(&self, other: &Self) -> bool {
        catalogue::same_given(&self.0, &other.0)
    }
}

impl std::fmt::Debug for Given {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

// === impl OidcConfig ===

impl OidcConfig {
    /// Parses and validates the `config` object of an `openid-connect`
    /// plugin. Errors name the field as Kong does (`config.leeway`).
    pub fn parse(config: &serde_json::Value) -> Result<Self, ConfigError> {
        let obj = config
            .as_object()
            .ok_or_else(|| ConfigError::field("config", "expected an object"))?;
        catalogue::check(obj)?;
        let f = Fields(obj);

        let issuer = f
            .non_empty("issuer")?
            .ok_or_else(|| field("issuer", "required field missing"))?;
        http_url("issuer", &issuer)?;
        let auth_methods = auth_methods(&f)?;
        let client_auth = f
            .single("client_auth")?
            .map(|v| ClientAuth::parse(&v).ok_or_else(|| field("client_auth", invalid(&v))))
            .transpose()?;
        let client_alg = f
            .single("client_alg")?
            .map(|v| SigningAlg::parse(&v).ok_or_else(|| field("client_alg", invalid(&v))))
            .transpose()?;
        let client_jwk = match f.raw("client_jwk") {
            Some(v) => Some(ClientJwk::parse(v)?),
            None => None,
        };
        let (bearer_token_param_type, bearer_token_cookie_name) = token_location(&f)?;
        let config = OidcConfig {
            issuer,
            client_id: f.single("client_id")?,
            client_secret: f.single("client_secret")?.map(Sensitive::new),
            client_auth,
            client_jwk,
            client_alg,
            auth_methods,
            bearer_token_param_type,
            bearer_token_cookie_name,
            issuers_allowed: f.strings("issuers_allowed")?.unwrap_or_default(),
            extra_jwks_uris: urls(&f, "extra_jwks_uris")?,
            jwks_endpoint: url(&f, "jwks_endpoint")?,
            introspection_endpoint: url(&f, "introspection_endpoint")?,
            rediscovery_lifetime: f.uint_or("rediscovery_lifetime", 30)?,
            leeway: f.uint_or("leeway", 0)?,
            verify_signature: f.bool_or("verify_signature", true)?,
            verify_claims: f.bool_or("verify_claims", true)?,
            enable_hs_signatures: f.bool_or("enable_hs_signatures", false)?,
            scopes: claim_rule(&f, "scopes", "scope")?,
            audience: claim_rule(&f, "audience", "aud")?,
            groups: claim_rule(&f, "groups", "groups")?,
            roles: claim_rule(&f, "roles", "roles")?,
            consumer_claim: consumer_claim(&f)?,
            consumer_by: consumer_by(&f)?,
            consumer_optional: f.bool_or("consumer_optional", false)?,
            anonymous: f.non_empty("anonymous")?,
            hide_credentials: f.bool_or("hide_credentials", false)?,
            upstream_access_token_header: upstream_token_header(&f)?,
            upstream_headers: claim_headers(&f)?,
            upstream_introspection_header: f
                .non_empty("upstream_introspection_header")?
                .map(|h| header_name("upstream_introspection_header", &h))
                .transpose()?,
            unauthorized_error_message: f
                .string("unauthorized_error_message")?
                .unwrap_or_else(|| "Unauthorized".to_string()),
            forbidden_error_message: f
                .string("forbidden_error_message")?
                .unwrap_or_else(|| "Forbidden".to_string()),
            display_errors: f.bool_or("display_errors", false)?,
            cache_introspection: f.bool_or("cache_introspection", true)?,
            ssl_verify: f.bool_or("ssl_verify", true)?,
            timeout_ms: f.uint_or("timeout", 10_000)?,
            grants: GrantConfig::parse(&f)?,
            given: Given(obj.clone()),
        };
        config.check_consistency()?;
        Ok(config)
    }

    /// Whether `method` is enabled.
    pub fn enabled(&self, method: AuthMethod) -> bool {
        self.auth_methods.contains(&method)
    }

    /// The issuer id without a trailing `/.well-known/openid-configuration`.
    pub fn issuer_id(&self) -> &str {
        self.issuer
            .strip_suffix("/.well-known/openid-configuration")
            .unwrap_or(&self.issuer)
            .trim_end_matches('/')
    }

    /// The discovery document's URL.
    pub fn discovery_url(&self) -> String {
        if self.issuer.ends_with("/.well-known/openid-configuration") {
            self.issuer.clone()
        } else {
            format!("{}/.well-known/openid-configuration", self.issuer_id())
        }
    }

    /// The four claim rules, named as in error messages.
    pub fn claim_rules(&self) -> [(&'static str, &ClaimRule); 4] {
        [
            ("scopes", &self.scopes),
            ("audience", &self.audience),
            ("groups", &self.groups),
            ("roles", &self.roles),
        ]
    }

    /// Rules between fields that each parse on their own.
    fn check_consistency(&self) -> Result<(), ConfigError> {
        if self.timeout_ms == 0 {
            return Err(field("timeout", "must be greater than 0"));
        }
        if self.enabled(AuthMethod::Bearer)
            && self.enable_hs_signatures
            && self.client_secret.is_none()
        {
            return Err(field(
                "client_secret",
                "required when enable_hs_signatures is true",
            ));
        }
        if let Some(alg) = self.client_alg {
            match self.client_auth {
                Some(ClientAuth::ClientSecretJwt) if !alg.is_hmac() => {
                    return Err(field(
                        "client_alg",
                        "client_secret_jwt needs HS256, HS384 or HS512",
                    ));
                }
                Some(ClientAuth::PrivateKeyJwt) if alg.is_hmac() => {
                    return Err(field(
                        "client_alg",
                        "private_key_jwt needs an asymmetric algorithm",
                    ));
                }
                _ => {}
            }
            if let Some(jwk) = &self.client_jwk
                && !alg.is_hmac()
                && !jwk.supports(alg)
            {
                return Err(field(
                    "client_alg",
                    format!("{} does not match the client_jwk key type", alg.as_str()),
                ));
            }
        }
        if self.enabled(AuthMethod::Introspection) {
            self.check_introspection_client()?;
        }
        Ok(())
    }

    /// With introspection enabled, the chosen client authentication must
    /// have what it needs; otherwise every introspection would fail.
    fn check_introspection_client(&self) -> Result<(), ConfigError> {
        let Some(auth) = self.client_auth else {
            return Ok(());
        };
        let needs_secret = matches!(
            auth,
            ClientAuth::ClientSecretBasic
                | ClientAuth::ClientSecretPost
                | ClientAuth::ClientSecretJwt
        );
        if auth != ClientAuth::None && self.client_id.is_none() {
            return Err(field(
                "client_id",
                format!("required by client_auth {}", auth.as_str()),
            ));
        }
        if needs_secret && self.client_secret.is_none() {
            return Err(field(
                "client_secret",
                format!("required by client_auth {}", auth.as_str()),
            ));
        }
        Ok(())
    }
}
