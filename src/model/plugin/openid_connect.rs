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

#[cfg(test)]
mod browser_tests;
pub mod catalogue;
mod fields;
mod grants;
mod headers;
mod introspection;
mod jwk;
mod login;
mod logout;
mod provider;
mod read;
mod schema;
mod session;
#[cfg(test)]
mod tests;
mod values;

use super::ConfigError;
use crate::model::Sensitive;
use fields::*;
use http::HeaderName;
use read::{Fields, field, http_url};

pub use fields::{DEFAULT_METHODS, IMPLEMENTED_METHODS};
pub use grants::GrantConfig;
pub use headers::TokenHeaders;
pub use introspection::IntrospectionRequest;
pub use jwk::ClientJwk;
pub use login::{LoginAction, LoginConfig, LoginToken, RedirectMode, ResponseMode};
pub use logout::LogoutConfig;
pub use provider::ProviderCalls;
pub use session::{CookieConfig, SameSite, SessionConfig, SessionRedis, SessionStorage};
pub use values::{
    AuthMethod, ClaimHeader, ClaimRule, ClientAuth, ConsumerBy, Endpoint, SigningAlg, TokenParam,
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
    /// `*_endpoint` fields overriding the discovered endpoints.
    pub endpoints: Vec<(Endpoint, String)>,
    /// `bearer_token_header_name`: the only header a token is read from.
    pub bearer_token_header_name: Option<HeaderName>,
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
    /// `by_username_ignore_case`: usernames match case-insensitively.
    pub by_username_ignore_case: bool,
    /// `credential_claim`: the claim path naming the (virtual) credential.
    pub credential_claim: Vec<String>,
    /// `authenticated_groups_claim`: the claim path of the groups the acl
    /// plugin reads.
    pub authenticated_groups_claim: Option<Vec<String>>,
    /// `claims_forbidden`: claims a token must not carry.
    pub claims_forbidden: Vec<String>,
    /// Consumer id or username used when authentication fails.
    pub anonymous: Option<String>,
    /// Remove the token from where it was found before proxying.
    pub hide_credentials: bool,
    /// What the upstream receives (`upstream_*_header`, claim headers).
    pub upstream: TokenHeaders,
    /// What the client receives (`downstream_*_header`, claim headers).
    pub downstream: TokenHeaders,
    /// The introspection request's own fields.
    pub introspection: IntrospectionRequest,
    /// 401 body message.
    pub unauthorized_error_message: String,
    /// 403 body message.
    pub forbidden_error_message: String,
    /// Add the failure reason to error messages.
    pub display_errors: bool,
    /// Authenticate `OPTIONS` (CORS preflight) requests too.
    pub run_on_preflight: bool,
    /// `introspect_jwt_tokens`: a JWT accepted by `bearer` must also
    /// introspect as active (revocation check).
    pub introspect_jwt_tokens: bool,
    /// `expose_error_code`: RFC 6750 `error` in `WWW-Authenticate`.
    pub expose_error_code: bool,
    /// Cache lifetimes and discovery headers.
    pub provider: ProviderCalls,
    /// Cache introspection results until their `exp`.
    pub cache_introspection: bool,
    /// Verify the identity provider's TLS certificate.
    pub ssl_verify: bool,
    /// Identity-provider request timeout in milliseconds.
    pub timeout_ms: u64,
    /// `password`, `client_credentials` and `userinfo` settings.
    pub grants: GrantConfig,
    /// Sessions (`session_*`, `redis`, `refresh_tokens`).
    pub session: SessionConfig,
    /// The authorization code flow (`login_*`, `authorization_*`, …).
    pub login: LoginConfig,
    /// Logout (`logout_*`).
    pub logout: LogoutConfig,
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
            endpoints: endpoints(&f)?,
            bearer_token_header_name: f
                .non_empty("bearer_token_header_name")?
                .map(|h| header_name("bearer_token_header_name", &h))
                .transpose()?,
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
            by_username_ignore_case: f.bool_or("by_username_ignore_case", false)?,
            credential_claim: claim_path(&f, "credential_claim")?
                .unwrap_or_else(|| vec!["sub".into()]),
            authenticated_groups_claim: claim_path(&f, "authenticated_groups_claim")?,
            claims_forbidden: f.strings("claims_forbidden")?.unwrap_or_default(),
            anonymous: f.non_empty("anonymous")?,
            hide_credentials: f.bool_or("hide_credentials", false)?,
            upstream: headers::token_headers(&f, "upstream")?,
            downstream: headers::token_headers(&f, "downstream")?,
            introspection: introspection::request(&f)?,
            unauthorized_error_message: f
                .string("unauthorized_error_message")?
                .unwrap_or_else(|| "Unauthorized".to_string()),
            forbidden_error_message: f
                .string("forbidden_error_message")?
                .unwrap_or_else(|| "Forbidden".to_string()),
            display_errors: f.bool_or("display_errors", false)?,
            run_on_preflight: f.bool_or("run_on_preflight", true)?,
            expose_error_code: f.bool_or("expose_error_code", true)?,
            introspect_jwt_tokens: f.bool_or("introspect_jwt_tokens", false)?,
            provider: provider::calls(&f)?,
            cache_introspection: f.bool_or("cache_introspection", true)?,
            ssl_verify: f.bool_or("ssl_verify", true)?,
            timeout_ms: f.uint_or("timeout", 10_000)?,
            grants: GrantConfig::parse(&f)?,
            session: session::parse(&f)?,
            login: login::parse(&f)?,
            logout: logout::parse(&f)?,
            given: Given(obj.clone()),
        };
        config.check_consistency()?;
        Ok(config)
    }

    /// The configured override of `endpoint`, if any.
    pub fn endpoint_override(&self, endpoint: Endpoint) -> Option<&str> {
        self.endpoints
            .iter()
            .find(|(e, _)| *e == endpoint)
            .map(|(_, url)| url.as_str())
    }

    /// The client authentication for the introspection endpoint:
    /// `introspection_endpoint_auth_method`, else `client_auth`.
    pub fn introspection_auth(&self) -> Option<ClientAuth> {
        self.introspection.auth_method.or(self.client_auth)
    }

    /// The token endpoint's client authentication:
    /// `token_endpoint_auth_method`, else `client_auth`.
    pub fn token_auth(&self) -> Option<ClientAuth> {
        self.login.token_auth.or(self.client_auth)
    }

    /// The revocation endpoint's client authentication:
    /// `revocation_endpoint_auth_method`, else `client_auth`.
    pub fn revocation_auth(&self) -> Option<ClientAuth> {
        self.logout.revocation_auth.or(self.client_auth)
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
        if self.enabled(AuthMethod::Introspection) || self.introspect_jwt_tokens {
            self.check_introspection_client()?;
        }
        Ok(())
    }

    /// With introspection enabled, the chosen client authentication must
    /// have what it needs; otherwise every introspection would fail.
    fn check_introspection_client(&self) -> Result<(), ConfigError> {
        let Some(auth) = self.introspection_auth() else {
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
