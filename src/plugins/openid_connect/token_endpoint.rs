//! The identity provider's token endpoint (RFC 6749 §3.2): the one client
//! every grant goes through — `authorization_code` (with the PKCE
//! verifier), `refresh_token`, `client_credentials` and `password`.
//!
//! The endpoint is the configured `token_endpoint`, else the discovered
//! one. The client authenticates per `token_endpoint_auth_method`, else
//! `client_auth`, else one the provider advertises in
//! `token_endpoint_auth_methods_supported` (see `client_auth`). Kong's
//! static `token_post_args_*` and `token_headers_*` are added. Calls use
//! the plugin's `timeout` and `ssl_verify`, never follow redirects and
//! read at most 1 MiB.
//!
//! Failures are split as `failure` does: the provider answering 400, 401 or
//! 403 refuses the grant ([`Reason::GrantRefused`], a 401 for the caller);
//! anything else (unreachable, timeout, 5xx, a 2xx without an access token)
//! is an outage ([`Reason::IdpUnavailable`], a 503), because the client's
//! credentials may well be valid. Tokens never reach a log line: the
//! response's fields are [`Sensitive`].

use super::Ctx;
use super::client_auth::{Call, credentials_for};
use super::discovery::{Document, Want, endpoint};
use super::failure::Reason;
use super::fetch::FetchError;
use crate::model::Sensitive;
use crate::model::plugin::openid_connect::Endpoint;
use serde_json::Value;
use std::sync::Arc;

/// A grant sent to the token endpoint, with its grant-specific parameters.
#[derive(Debug)]
pub(super) enum Grant {
    /// RFC 6749 §4.1.3, plus the RFC 7636 `code_verifier`.
    AuthorizationCode {
        /// The code the callback received.
        code: Sensitive,
        /// The `redirect_uri` sent in the authorization request.
        redirect_uri: String,
        /// The PKCE verifier whose S256 digest was the `code_challenge`
        /// (`None` when PKCE is off: a verifier without a challenge is an
        /// error at some providers).
        code_verifier: Option<Sensitive>,
    },
    /// RFC 6749 §6.
    RefreshToken {
        /// The refresh token.
        refresh_token: Sensitive,
    },
    /// RFC 6749 §4.4: the client's own credentials are the grant.
    // Built by the `client_credentials` method (another branch).
    #[allow(dead_code)]
    ClientCredentials,
    /// RFC 6749 §4.3.
    // Built by the `password` method (another branch).
    #[allow(dead_code)]
    Password {
        /// The resource owner's username.
        username: String,
        /// The resource owner's password.
        password: Sensitive,
    },
}

/// One token request.
#[derive(Debug)]
pub(super) struct TokenRequest {
    /// What is exchanged.
    pub(super) grant: Grant,
    /// Space-separated scopes to ask for; `None` sends no `scope`.
    pub(super) scope: Option<String>,
    /// Client credentials the request presented (Kong's
    /// `client_credentials` method), instead of the configured client.
    pub(super) presented: Option<(String, Sensitive)>,
    /// Extra form arguments (Kong's `token_post_args_*`).
    pub(super) args: Vec<(String, String)>,
    /// Extra request headers (Kong's `token_headers_*`).
    pub(super) headers: Vec<(http::HeaderName, http::HeaderValue)>,
}

/// A successful token response (RFC 6749 §5.1). `Debug` shows no token.
#[derive(Clone, Debug)]
pub(super) struct TokenResponse {
    /// `access_token`.
    pub(super) access_token: Sensitive,
    /// `token_type` (`Bearer` when the provider sent none).
    pub(super) token_type: String,
    /// `expires_in`, in seconds.
    pub(super) expires_in: Option<u64>,
    /// `refresh_token`.
    pub(super) refresh_token: Option<Sensitive>,
    /// `id_token` (OpenID Connect Core §3.1.3.3).
    pub(super) id_token: Option<Sensitive>,
    /// `scope`, when the granted scope differs from the requested one.
    pub(super) scope: Option<String>,
    /// When the response was received (Unix seconds).
    pub(super) received_at: u64,
}

// === impl TokenRequest ===

impl TokenRequest {
    /// A request for `grant` with the configured client and nothing extra.
    pub(super) fn new(grant: Grant) -> Self {
        TokenRequest {
            grant,
            scope: None,
            presented: None,
            args: Vec::new(),
            headers: Vec::new(),
        }
    }
}

// === impl Grant ===

impl Grant {
    /// The `grant_type` value.
    pub(super) fn name(&self) -> &'static str {
        match self {
            Grant::AuthorizationCode { .. } => "authorization_code",
            Grant::RefreshToken { .. } => "refresh_token",
            Grant::ClientCredentials => "client_credentials",
            Grant::Password { .. } => "password",
        }
    }

    fn params(&self) -> Vec<(String, String)> {
        let mut form = vec![("grant_type".to_string(), self.name().to_string())];
        let mut add = |k: &str, v: &str| form.push((k.to_string(), v.to_string()));
        match self {
            Grant::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => {
                add("code", code.expose());
                add("redirect_uri", redirect_uri);
                if let Some(v) = code_verifier {
                    add("code_verifier", v.expose());
                }
            }
            Grant::RefreshToken { refresh_token } => add("refresh_token", refresh_token.expose()),
            Grant::ClientCredentials => {}
            Grant::Password { username, password } => {
                add("username", username);
                add("password", password.expose());
            }
        }
        form
    }
}

// === impl TokenResponse ===

impl TokenResponse {
    /// Parses a 2xx body; `None` when it carries no usable access token.
    fn parse(body: &Value, received_at: u64) -> Option<Self> {
        let string = |name: &str| {
            body.get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let access_token = Sensitive::new(string("access_token")?);
        // Some providers send `expires_in` as a string.
        let expires_in = body.get("expires_in").and_then(|v| match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        });
        Some(TokenResponse {
            access_token,
            token_type: string("token_type").unwrap_or("Bearer").to_string(),
            expires_in,
            refresh_token: string("refresh_token").map(Sensitive::new),
            id_token: string("id_token").map(Sensitive::new),
            scope: string("scope").map(str::to_string),
            received_at,
        })
    }

    /// The response as JSON (Kong's `login_tokens: tokens`).
    pub(super) fn to_json(&self) -> Value {
        let mut v = serde_json::json!({
            "access_token": self.access_token.expose(),
            "token_type": self.token_type,
        });
        if let Some(e) = self.expires_in {
            v["expires_in"] = e.into();
        }
        if let Some(r) = &self.refresh_token {
            v["refresh_token"] = r.expose().into();
        }
        if let Some(i) = &self.id_token {
            v["id_token"] = i.expose().into();
        }
        if let Some(s) = &self.scope {
            v["scope"] = s.as_str().into();
        }
        v
    }

    /// When the access token expires (Unix seconds), if the provider said.
    pub(super) fn expires_at(&self) -> Option<u64> {
        self.expires_in.map(|e| self.received_at.saturating_add(e))
    }
}

/// The provider's discovery document, fetched or cached.
pub(super) async fn document(ctx: &Ctx<'_>) -> Result<Arc<Document>, Reason> {
    let want = Want {
        document: true,
        keys: false,
    };
    let issuer = ctx.state.issuers.get(ctx.config);
    issuer
        .snapshot(&ctx.state.clients, ctx.config, want)
        .await
        .and_then(|s| s.document.clone())
        .ok_or(Reason::IdpUnavailable)
}

/// Sends `request` to the token endpoint.
pub(super) async fn request(ctx: &Ctx<'_>, request: TokenRequest) -> Result<TokenResponse, Reason> {
    let config = ctx.config;
    let document = document(ctx).await?;
    let endpoint =
        endpoint(config, Some(&document), Endpoint::Token).ok_or(Reason::IdpUnavailable)?;
    let call = Call {
        method: config.token_auth(),
        advertised: &document.token_auth_methods,
        presented: request.presented,
    };
    let client = credentials_for(&ctx.state.keys, ctx.plugin_id, config, &endpoint, call).await?;
    let mut form = request.grant.params();
    if let Some(scope) = request.scope.filter(|s| !s.is_empty()) {
        form.push(("scope".to_string(), scope));
    }
    form.extend(config.login.token_args.iter().cloned());
    form.extend(request.args);
    form.extend(client.form.into_iter().map(|(k, v)| (k.to_string(), v)));
    let grant = request.grant.name();
    let mut headers = config.login.token_headers.clone();
    headers.extend(request.headers);
    let fetched = ctx
        .state
        .clients
        .post_form(config, &endpoint, form, &headers, client.basic)
        .await
        .map_err(|e| {
            let reason = classify(&e);
            tracing::warn!(issuer = %config.issuer, grant, error = %e, "token request failed");
            reason
        })?;
    TokenResponse::parse(&fetched.body, super::now_unix()).ok_or_else(|| {
        tracing::warn!(issuer = %config.issuer, grant, "token response without an access token");
        Reason::IdpUnavailable
    })
}

/// A refusal (the grant or the client is wrong) or an outage.
fn classify(error: &FetchError) -> Reason {
    match error {
        FetchError::Status(400 | 401 | 403) => Reason::GrantRefused,
        _ => Reason::IdpUnavailable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn response_fields_and_lenient_expiry() {
        let r = TokenResponse::parse(
            &json!({
                "access_token": "at", "token_type": "bearer", "expires_in": "300",
                "refresh_token": "rt", "id_token": "it", "scope": "openid email",
            }),
            1000,
        )
        .unwrap();
        assert_eq!(r.access_token.expose(), "at");
        assert_eq!(r.expires_at(), Some(1300));
        assert_eq!(r.refresh_token.unwrap().expose(), "rt");
        assert_eq!(r.id_token.unwrap().expose(), "it");
        assert_eq!(r.scope.as_deref(), Some("openid email"));
        let bare = TokenResponse::parse(&json!({ "access_token": "at" }), 5).unwrap();
        assert_eq!(bare.token_type, "Bearer");
        assert_eq!(bare.expires_at(), None);
        assert!(TokenResponse::parse(&json!({ "access_token": "" }), 0).is_none());
        assert!(TokenResponse::parse(&json!({ "id_token": "x" }), 0).is_none());
    }

    #[test]
    fn debug_shows_no_token() {
        let r = TokenResponse::parse(
            &json!({ "access_token": "secret-at", "refresh_token": "secret-rt" }),
            0,
        )
        .unwrap();
        let shown = format!("{r:?}");
        assert!(!shown.contains("secret"), "{shown}");
        let g = Grant::Password {
            username: "u".into(),
            password: Sensitive::new("pw-secret"),
        };
        assert!(!format!("{g:?}").contains("pw-secret"));
    }

    #[test]
    fn grant_parameters() {
        let g = Grant::AuthorizationCode {
            code: Sensitive::new("c"),
            redirect_uri: "https://app.test/cb".into(),
            code_verifier: Some(Sensitive::new("v")),
        };
        assert_eq!(
            g.params(),
            [
                ("grant_type", "authorization_code"),
                ("code", "c"),
                ("redirect_uri", "https://app.test/cb"),
                ("code_verifier", "v"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert_eq!(Grant::ClientCredentials.params().len(), 1);
    }

    #[test]
    fn refusal_or_outage() {
        assert_eq!(classify(&FetchError::Status(400)), Reason::GrantRefused);
        assert_eq!(classify(&FetchError::Status(401)), Reason::GrantRefused);
        assert_eq!(classify(&FetchError::Status(503)), Reason::IdpUnavailable);
        assert_eq!(classify(&FetchError::TooLarge), Reason::IdpUnavailable);
    }
}
