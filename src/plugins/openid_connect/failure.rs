//! Why a request was refused, and how that becomes a [`PluginError`].
//!
//! Reasons are fixed phrases: safe to show a client (with `display_errors`)
//! because they never carry a token, a key, an identity-provider URL or an
//! upstream error text. Details go to the log at debug level instead.
//!
//! `WWW-Authenticate` follows RFC 6750 §3 with `, ` between parameters
//! (RFC 7235, as Kong's current master does):
//! - no token at all: `Bearer realm="…"` without an error code (§3.1: a
//!   request without credentials should not get one);
//! - a token that failed: `error="invalid_token"`;
//! - a token that lacks scopes/audience/groups/roles: 403 with
//!   `error="insufficient_scope"`;
//! - with `expose_error_code: false`, only `Bearer realm="…"`.

use crate::model::plugin::OidcConfig;
use crate::plugins::PluginError;

/// A refusal reason shown with `display_errors`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(super) enum Reason {
    /// No token in any configured place.
    #[error("no access token")]
    NoToken,
    /// Not a well-formed JWT, or claims that are not a JSON object.
    #[error("malformed token")]
    Malformed,
    /// `alg` is `none`, unknown, HS* without `enable_hs_signatures`, or
    /// the header has `crit` extensions.
    #[error("signing algorithm not allowed")]
    AlgorithmNotAllowed,
    /// The key named by `kid` (or every candidate) has another type.
    #[error("signing key does not match the algorithm")]
    KeyMismatch,
    /// No key with this `kid`, even after rediscovery.
    #[error("unknown signing key")]
    UnknownKey,
    /// The signature did not verify.
    #[error("invalid signature")]
    BadSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `exp` is missing from a JWT access token.
    #[error("token has no expiry")]
    NoExpiry,
    /// `nbf` is in the future.
    #[error("token not yet valid")]
    NotYetValid,
    /// `iat` is in the future.
    #[error("token issued in the future")]
    IssuedInFuture,
    /// `iss` is missing or not allowed.
    #[error("issuer not allowed")]
    Issuer,
    /// Introspection said `active: false`.
    #[error("token inactive")]
    Inactive,
    /// Not in the token store and not accepted by any other method.
    #[error("unknown token")]
    Unknown,
    /// The identity provider (discovery, JWKS, introspection) failed;
    /// answered 503 like a token store outage.
    #[error("identity provider unavailable")]
    IdpUnavailable,
    /// The token store failed; answered 503 like the oauth2 plugin.
    #[error("token store unavailable")]
    StoreUnavailable,
    /// The token endpoint refused a grant (a used or unknown code, an
    /// expired refresh token, wrong client credentials).
    #[error("the identity provider refused the grant")]
    GrantRefused,
    /// A login callback whose authorization cookie is missing, does not
    /// open, is too old, or whose `state` differs.
    #[error("login state missing, expired or not matching")]
    LoginState,
    /// The identity provider answered the login with an error.
    #[error("the identity provider denied the login")]
    LoginDenied,
    /// The ID token is missing where `openid` was asked for.
    #[error("no ID token")]
    NoIdToken,
    /// The ID token's `aud`/`azp` do not name this client.
    #[error("ID token not issued to this client")]
    IdTokenAudience,
    /// The ID token's `nonce` is not this login's.
    #[error("ID token nonce mismatch")]
    Nonce,
    /// The client's own credentials (jwk) could not be used.
    #[error("client authentication not possible")]
    ClientAuth,
    /// `scopes_required` not met.
    #[error("required scopes missing")]
    Scopes,
    /// `audience_required` not met.
    #[error("audience not allowed")]
    Audience,
    /// `groups_required` not met.
    #[error("required groups missing")]
    Groups,
    /// `roles_required` not met.
    #[error("required roles missing")]
    Roles,
    /// The token carries a claim of `claims_forbidden`.
    #[error("token carries a forbidden claim")]
    ForbiddenClaim,
    /// `consumer_claim` did not name a known consumer.
    #[error("consumer not found")]
    ConsumerNotFound,
    /// The userinfo endpoint refused the token (401/403).
    #[error("the userinfo endpoint refused the token")]
    UserinfoRefused,
    /// `userinfo` is enabled but the provider names no userinfo endpoint
    /// (and none is configured): the method cannot accept any token.
    #[error("no userinfo endpoint")]
    NoUserinfoEndpoint,
}

// === impl Reason ===

impl Reason {
    /// Whether the token could not be checked at all (a dependency is
    /// down): such a request is answered 503, never 401.
    pub(super) fn is_outage(self) -> bool {
        matches!(self, Reason::IdpUnavailable | Reason::StoreUnavailable)
    }
}

/// The outcome of a failed verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Failure {
    /// 401: not authenticated.
    Unauthorized(Reason),
    /// 403: authenticated, not authorized.
    Forbidden(Reason),
}

// === impl Failure ===

impl Failure {
    /// The `PluginError` the proxy turns into a response; `realm` is the
    /// request's host (or the issuer).
    pub(super) fn into_error(self, config: &OidcConfig, realm: &str) -> PluginError {
        let realm = realm.replace(['"', '\\'], "");
        let detail = |base: &str, reason: Reason| {
            if config.display_errors {
                format!("{base} ({reason})")
            } else {
                base.to_string()
            }
        };
        let description = |reason: Reason| {
            if config.display_errors {
                format!(", error_description=\"{reason}\"")
            } else {
                String::new()
            }
        };
        match self {
            Failure::Unauthorized(Reason::NoToken) => PluginError::Unauthorized {
                message: detail(&config.unauthorized_error_message, Reason::NoToken),
                www_authenticate: format!("Bearer realm=\"{realm}\""),
            },
            // `expose_error_code: false`: the challenge names no error.
            Failure::Unauthorized(reason) if !config.expose_error_code => {
                PluginError::Unauthorized {
                    message: detail(&config.unauthorized_error_message, reason),
                    www_authenticate: format!("Bearer realm=\"{realm}\""),
                }
            }
            Failure::Forbidden(reason) if !config.expose_error_code => PluginError::Forbidden {
                message: detail(&config.forbidden_error_message, reason),
                www_authenticate: Some(format!("Bearer realm=\"{realm}\"")),
            },
            Failure::Unauthorized(reason) => PluginError::Unauthorized {
                message: detail(&config.unauthorized_error_message, reason),
                www_authenticate: format!(
                    "Bearer realm=\"{realm}\", error=\"invalid_token\"{}",
                    description(reason)
                ),
            },
            Failure::Forbidden(reason) => PluginError::Forbidden {
                message: detail(&config.forbidden_error_message, reason),
                www_authenticate: Some(format!(
                    "Bearer realm=\"{realm}\", error=\"insufficient_scope\"{}",
                    description(reason)
                )),
            },
        }
    }
}

impl From<Reason> for Failure {
    fn from(reason: Reason) -> Self {
        Failure::Unauthorized(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(display: bool) -> OidcConfig {
        OidcConfig::parse(&serde_json::json!({
            "issuer": "https://idp.test/realm", "display_errors": display,
            "unauthorized_error_message": "Nope",
        }))
        .unwrap()
    }

    #[test]
    fn no_token_has_no_error_code() {
        let e = Failure::Unauthorized(Reason::NoToken).into_error(&config(false), "api.test");
        let PluginError::Unauthorized {
            message,
            www_authenticate,
        } = e
        else {
            panic!()
        };
        assert_eq!(message, "Nope");
        assert_eq!(www_authenticate, "Bearer realm=\"api.test\"");
    }

    #[test]
    fn error_codes_are_hidden_when_told() {
        let mut c = config(true);
        c.expose_error_code = false;
        let e = Failure::Unauthorized(Reason::Expired).into_error(&c, "h");
        let PluginError::Unauthorized {
            www_authenticate, ..
        } = e
        else {
            panic!()
        };
        assert_eq!(www_authenticate, "Bearer realm=\"h\"");
        let e = Failure::Forbidden(Reason::Scopes).into_error(&c, "h");
        let PluginError::Forbidden {
            www_authenticate, ..
        } = e
        else {
            panic!()
        };
        assert_eq!(www_authenticate.as_deref(), Some("Bearer realm=\"h\""));
    }

    #[test]
    fn display_errors_adds_the_reason() {
        let e = Failure::Unauthorized(Reason::Expired).into_error(&config(true), "a\"b");
        let PluginError::Unauthorized {
            message,
            www_authenticate,
        } = e
        else {
            panic!()
        };
        assert_eq!(message, "Nope (token expired)");
        assert_eq!(
            www_authenticate,
            "Bearer realm=\"ab\", error=\"invalid_token\", error_description=\"token expired\""
        );
        let e = Failure::Forbidden(Reason::Scopes).into_error(&config(false), "h");
        let PluginError::Forbidden {
            message,
            www_authenticate,
        } = e
        else {
            panic!()
        };
        assert_eq!(message, "Forbidden");
        assert_eq!(
            www_authenticate.as_deref(),
            Some("Bearer realm=\"h\", error=\"insufficient_scope\"")
        );
    }
}
