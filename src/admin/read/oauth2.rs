//! oauth2 entities in the Admin API: `GET /oauth2`, `/consumers/{c}/oauth2`
//! (credentials) and `GET /oauth2_tokens` (issued tokens). Secrets never
//! appear: a plaintext client secret is shown as `[redacted]` (a hash is
//! shown as Kong shows it), and tokens are identified by the SHA-256 of
//! their value, never the value itself.

use super::entities::{service_id, tags};
use super::node::Node;
use crate::admin::reply;
use crate::model::{ClientSecret, Oauth2Credential};
use crate::tokens::TokenSummary;
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use serde_json::{Value, json};

/// How many tokens `GET /oauth2_tokens` lists at most.
const TOKEN_PAGE: usize = 1000;

/// One credential in Kong's shape.
pub fn credential(credential: &Oauth2Credential) -> Value {
    let secret = match &credential.client_secret {
        ClientSecret::None => Value::Null,
        ClientSecret::Hashed(phc) => Value::String(phc.clone()),
        ClientSecret::Plain(_) | ClientSecret::ToHash(_) => "[redacted]".into(),
    };
    json!({
        "id": credential.id,
        "name": credential.name,
        "client_id": credential.client_id,
        "client_secret": secret,
        "hash_secret": credential.hash_secret,
        "redirect_uris": credential.redirect_uris,
        "client_type": credential.client_type.as_str(),
        "consumer": { "id": credential.consumer_id },
        "tags": tags(&credential.source),
    })
}

/// One token in Kong's shape, with the value masked.
pub fn token(summary: &TokenSummary) -> Value {
    json!({
        "id": summary.id,
        "access_token": "[redacted]",
        "refresh_token": if summary.has_refresh_token { json!("[redacted]") } else { Value::Null },
        "token_type": "bearer",
        "credential": { "id": summary.credential_id },
        "service": summary.service.as_deref().map(|s| json!({ "id": service_id(s) })),
        "scope": summary.scope,
        "authenticated_userid": summary.authenticated_userid,
        "expires_in": summary.expires_in,
        "created_at": summary.created_at,
        "ttl": summary.ttl,
    })
}

/// `GET /oauth2_tokens`: reads the token store (memory or Redis).
pub async fn tokens(state: &Node) -> Response<Full<Bytes>> {
    match state.runtime.tokens.list_tokens(TOKEN_PAGE).await {
        Ok(list) => reply::list(list.iter().map(token).collect()),
        Err(e) => reply::json(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({ "message": format!("token store unavailable: {e}") }),
        ),
    }
}
