//! How the oauth2 plugin answers: OAuth errors (turned into HTTP by
//! `proxy::respond`) and local JSON responses, with Kong's headers.

use crate::plugins::{Access, LocalResponse, PluginError};
use http::{HeaderMap, HeaderValue, StatusCode};

/// An OAuth error decided by one of the checks; later checks may replace it
/// (Kong's "a later failure overwrites an earlier one").
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Failure {
    /// HTTP status (400 unless stated).
    pub status: StatusCode,
    /// `error` code.
    pub error: &'static str,
    /// `error_description`.
    pub description: String,
    /// `WWW-Authenticate`, if any.
    pub www_authenticate: Option<String>,
}

/// `error_description` of an unregistered `redirect_uri`.
pub(super) const REDIRECT_MISMATCH: &str =
    "Invalid redirect_uri that does not match with any redirect_uri created with the application";

// === impl Failure ===

impl Failure {
    /// A 400 error.
    pub(super) fn bad(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
            www_authenticate: None,
        }
    }

    /// `invalid_client`: 401 with a Basic challenge when the credentials came
    /// from the Basic header, else 400.
    pub(super) fn invalid_client(from_header: bool) -> Self {
        let mut f = Self::bad("invalid_client", "Invalid client authentication");
        if from_header {
            f.status = StatusCode::UNAUTHORIZED;
            f.www_authenticate = Some("Basic realm=\"OAuth2.0\"".to_string());
        }
        f
    }

    /// `invalid_request` with `description`.
    pub(super) fn invalid_request(description: impl Into<String>) -> Self {
        Self::bad("invalid_request", description)
    }

    /// Whether this is `invalid_client`.
    pub(super) fn is_invalid_client(&self) -> bool {
        self.error == "invalid_client"
    }

    /// The endpoint error: JSON body with `state`, no-store headers.
    pub(super) fn into_error(self, state: Option<&str>) -> PluginError {
        PluginError::OAuth {
            status: self.status,
            error: self.error.to_string(),
            description: self.description,
            state: state.map(str::to_string),
            www_authenticate: self.www_authenticate,
            no_store: true,
        }
    }
}

/// A local JSON response with `Cache-Control: no-store` and
/// `Pragma: no-cache`.
pub(super) fn no_store_json(status: StatusCode, body: serde_json::Value) -> Access {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    headers.insert(http::header::PRAGMA, HeaderValue::from_static("no-cache"));
    Access::Respond(LocalResponse {
        status,
        headers,
        body: body.into(),
    })
}

/// A `Bearer` challenge: `Bearer`, then `realm` (when configured), `error`
/// and `error_description`, separated by `, ` as RFC 7235 and current Kong
/// do (Kong 3.8/3.9 used spaces).
pub(super) fn bearer_challenge(realm: Option<&str>, error: Option<(&str, &str)>) -> String {
    let mut params = Vec::new();
    if let Some(realm) = realm {
        params.push(format!("realm=\"{realm}\""));
    }
    if let Some((code, description)) = error {
        params.push(format!("error=\"{code}\""));
        params.push(format!("error_description=\"{description}\""));
    }
    if params.is_empty() {
        "Bearer".to_string()
    } else {
        format!("Bearer {}", params.join(", "))
    }
}

/// 405 for a non-POST request to an endpoint (`token`, `authorization`):
/// only `WWW-Authenticate`, no cache headers, as in Kong.
pub(super) fn invalid_method(
    method: &http::Method,
    endpoint: &str,
    realm: Option<&str>,
) -> PluginError {
    let description = format!("The HTTP method {method} is invalid for the {endpoint} endpoint");
    PluginError::OAuth {
        status: StatusCode::METHOD_NOT_ALLOWED,
        error: "invalid_method".to_string(),
        www_authenticate: Some(bearer_challenge(
            realm,
            Some(("invalid_method", &description)),
        )),
        description,
        state: None,
        no_store: false,
    }
}

/// A token-store failure: logged with its cause, answered with 503 and a
/// message that names no internals.
pub(super) fn store_error(e: crate::tokens::StoreError) -> PluginError {
    tracing::warn!(error = %e, "oauth2: token store failure");
    match e {
        crate::tokens::StoreError::Full { .. } => {
            PluginError::Unavailable("the token store is full, try again later".to_string())
        }
        _ => {
            PluginError::Unavailable("the token store is unavailable, try again later".to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_use_comma_separators() {
        assert_eq!(bearer_challenge(None, None), "Bearer");
        assert_eq!(bearer_challenge(Some("api"), None), "Bearer realm=\"api\"");
        assert_eq!(
            bearer_challenge(Some("api"), Some(("invalid_token", "bad"))),
            "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"bad\""
        );
        assert_eq!(
            bearer_challenge(None, Some(("invalid_token", "bad"))),
            "Bearer error=\"invalid_token\", error_description=\"bad\""
        );
    }
}
