//! The small value types of the configuration: methods, token locations,
//! client authentication, algorithms, claim rules and header specs.

use http::HeaderName;

/// An authentication method (`auth_methods` value), declared in Kong's
/// search order (the derived `Ord` is that order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AuthMethod {
    /// A session cookie from an earlier authentication.
    Session,
    /// JWS access tokens verified with the issuer's keys.
    Bearer,
    /// Tokens issued by kingress's own `oauth2` plugin.
    KongOauth2,
    /// RFC 7662 introspection.
    Introspection,
    /// The userinfo endpoint accepts the token.
    Userinfo,
    /// A refresh token exchanged at the token endpoint.
    RefreshToken,
    /// The password grant with the client's credentials.
    Password,
    /// The client_credentials grant with the client's credentials.
    ClientCredentials,
    /// The browser login (authorization code flow).
    AuthorizationCode,
}

/// Where the token may be found (`bearer_token_param_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenParam {
    /// `Authorization: Bearer`, `access-token`, `x-access-token`.
    Header,
    /// `?access_token=`.
    Query,
    /// `access_token` in a form or JSON body.
    Body,
    /// The cookie named by `bearer_token_cookie_name`.
    Cookie,
}

/// Client authentication towards the identity provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic with id and secret.
    ClientSecretBasic,
    /// Id and secret in the form body.
    ClientSecretPost,
    /// RFC 7523 assertion HMAC-signed with the secret.
    ClientSecretJwt,
    /// RFC 7523 assertion signed with a private key.
    PrivateKeyJwt,
    /// Only `client_id` (if any) in the body.
    None,
}

/// A JWS algorithm name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum SigningAlg {
    HS256,
    HS384,
    HS512,
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    EdDSA,
}

/// Which consumer field a claim value is matched against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumerBy {
    /// `username`.
    Username,
    /// `custom_id`.
    CustomId,
    /// `id`.
    Id,
}

/// One authorization rule: the claim at `claim` (a path into the token's
/// JSON) must satisfy one of `required` (entries OR-ed, space-separated
/// words inside one entry AND-ed). Empty `required` means no rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimRule {
    /// Path of keys into the claims.
    pub claim: Vec<String>,
    /// Alternatives; each is a space-separated list of required values.
    pub required: Vec<String>,
}

/// `upstream_access_token_header`: `header-name[:scheme]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamTokenHeader {
    /// Header name.
    pub name: HeaderName,
    /// Scheme written before the token (`Bearer`), if any.
    pub scheme: Option<String>,
}

/// A claim sent as a header: `*_headers_claims[i]` → `*_headers_names[i]`
/// (a top-level claim) or a `*_headers` record (a path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimHeader {
    /// Path of keys to the claim.
    pub path: Vec<String>,
    /// The header.
    pub header: HeaderName,
}

// === impl AuthMethod ===

impl AuthMethod {
    /// Every method, in Kong's search order.
    pub const ALL: [AuthMethod; 9] = [
        AuthMethod::Session,
        AuthMethod::Bearer,
        AuthMethod::KongOauth2,
        AuthMethod::Introspection,
        AuthMethod::Userinfo,
        AuthMethod::RefreshToken,
        AuthMethod::Password,
        AuthMethod::ClientCredentials,
        AuthMethod::AuthorizationCode,
    ];

    /// Kong's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Session => "session",
            AuthMethod::Bearer => "bearer",
            AuthMethod::KongOauth2 => "kong_oauth2",
            AuthMethod::Introspection => "introspection",
            AuthMethod::Userinfo => "userinfo",
            AuthMethod::RefreshToken => "refresh_token",
            AuthMethod::Password => "password",
            AuthMethod::ClientCredentials => "client_credentials",
            AuthMethod::AuthorizationCode => "authorization_code",
        }
    }

    /// Parses Kong's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Whether kingress runs this method (see [`super::IMPLEMENTED_METHODS`]).
    pub fn implemented(self) -> bool {
        super::IMPLEMENTED_METHODS.contains(&self)
    }
}

// === impl ClientAuth ===

impl ClientAuth {
    pub(super) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "client_secret_basic" => ClientAuth::ClientSecretBasic,
            "client_secret_post" => ClientAuth::ClientSecretPost,
            "client_secret_jwt" => ClientAuth::ClientSecretJwt,
            "private_key_jwt" => ClientAuth::PrivateKeyJwt,
            "none" => ClientAuth::None,
            _ => return None,
        })
    }

    /// Kong's (and RFC 8414's) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuth::ClientSecretBasic => "client_secret_basic",
            ClientAuth::ClientSecretPost => "client_secret_post",
            ClientAuth::ClientSecretJwt => "client_secret_jwt",
            ClientAuth::PrivateKeyJwt => "private_key_jwt",
            ClientAuth::None => "none",
        }
    }

    /// Parses an RFC 8414 `*_auth_methods_supported` entry.
    pub fn from_metadata(s: &str) -> Option<Self> {
        Self::parse(s)
    }
}

// === impl SigningAlg ===

impl SigningAlg {
    /// Every supported algorithm.
    pub const ALL: [SigningAlg; 12] = [
        SigningAlg::HS256,
        SigningAlg::HS384,
        SigningAlg::HS512,
        SigningAlg::RS256,
        SigningAlg::RS384,
        SigningAlg::RS512,
        SigningAlg::PS256,
        SigningAlg::PS384,
        SigningAlg::PS512,
        SigningAlg::ES256,
        SigningAlg::ES384,
        SigningAlg::EdDSA,
    ];

    /// Parses a JWS `alg` name (case-sensitive, as RFC 7518 spells them).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The JWS name.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::HS256 => "HS256",
            SigningAlg::HS384 => "HS384",
            SigningAlg::HS512 => "HS512",
            SigningAlg::RS256 => "RS256",
            SigningAlg::RS384 => "RS384",
            SigningAlg::RS512 => "RS512",
            SigningAlg::PS256 => "PS256",
            SigningAlg::PS384 => "PS384",
            SigningAlg::PS512 => "PS512",
            SigningAlg::ES256 => "ES256",
            SigningAlg::ES384 => "ES384",
            SigningAlg::EdDSA => "EdDSA",
        }
    }

    /// HS256/384/512.
    pub fn is_hmac(self) -> bool {
        matches!(
            self,
            SigningAlg::HS256 | SigningAlg::HS384 | SigningAlg::HS512
        )
    }
}

/// An identity-provider endpoint: discovered, or overridden by its
/// configuration field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `authorization_endpoint`.
    Authorization,
    /// `token_endpoint`.
    Token,
    /// `introspection_endpoint`.
    Introspection,
    /// `userinfo_endpoint`.
    Userinfo,
    /// `end_session_endpoint`.
    EndSession,
    /// `revocation_endpoint`.
    Revocation,
    /// `jwks_endpoint` (discovered as `jwks_uri`).
    Jwks,
}

// === impl Endpoint ===

impl Endpoint {
    /// Every endpoint.
    pub const ALL: [Endpoint; 7] = [
        Endpoint::Authorization,
        Endpoint::Token,
        Endpoint::Introspection,
        Endpoint::Userinfo,
        Endpoint::EndSession,
        Endpoint::Revocation,
        Endpoint::Jwks,
    ];

    /// The configuration field that overrides it.
    pub fn field(self) -> &'static str {
        match self {
            Endpoint::Authorization => "authorization_endpoint",
            Endpoint::Token => "token_endpoint",
            Endpoint::Introspection => "introspection_endpoint",
            Endpoint::Userinfo => "userinfo_endpoint",
            Endpoint::EndSession => "end_session_endpoint",
            Endpoint::Revocation => "revocation_endpoint",
            Endpoint::Jwks => "jwks_endpoint",
        }
    }

    /// Its member in a discovery document (RFC 8414, OpenID Discovery).
    pub fn discovery_key(self) -> &'static str {
        match self {
            Endpoint::Jwks => "jwks_uri",
            other => other.field(),
        }
    }
}
