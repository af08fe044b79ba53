//! oauth2 entities in the Admin API: `GET /oauth2`, `/consumers/{c}/oauth2`
//! (credentials) and `GET /oauth2_tokens` (issued tokens). Secrets never
//! appear: a plaintext client secret is shown as `[redacted]` (a hash is
//! shown as Kong shows it), and tokens are identified by the SHA-256 of
//! their value, never the value itself.

use super::entities::{service_id, tags};
use crate::model::{ClientSecret, Oauth2Credential};
use crate::tokens::TokenSummary;
use serde_json::{Value, json};

/// One credential in Kong's shape.
pub(super) fn credential(credential: &Oauth2Credential) -> Value {
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
pub(crate) fn token(summary: &TokenSummary) -> Value {
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
