//! Admin API writes in standalone mode, with Kong's semantics for services,
//! routes, consumers, credentials, plugins, upstreams and their targets.
//!
//! ```text
//!  request ─▶ endpoint (method + path) ─▶ body (form / JSON / multipart)
//!     ─▶ apply to the Admin API's Document (kong constructors; 409 here)
//!     ─▶ hash `hash_secret` secrets (argon2id, blocking thread)
//!     ─▶ check: the whole directory with this document translates without
//!        a problem on these entities (else 400, nothing written)
//!     ─▶ store: write kingress-admin.kong.yaml atomically, reload, publish
//!     ─▶ answer with the entity (201/200) or 204
//! ```
//!
//! The document file is the state of record: every write starts from what
//! the file holds, one write at a time. In cluster mode (`Writes` absent)
//! every write is 405: configuration is managed through Kubernetes objects.

mod apply;
mod body;
mod check;
mod endpoint;
mod entity;
mod error;
#[doc(hidden)]
pub mod fuzz;
mod store;

pub use error::WriteError;
pub use store::{Check, FILE_NAME, Reload, Writes};

use crate::kong::Document;
use crate::model::is_hashed_secret;
use crate::model::{CredentialType, Sensitive};
use bytes::Bytes;
use endpoint::Endpoint;
use http::header::CONTENT_TYPE;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;

/// The largest request body read.
const MAX_BODY: usize = 1024 * 1024;

/// Answers a write request (any method but GET and HEAD) for the path
/// `segments`.
pub async fn handle(
    writes: Option<&Writes>,
    request: Request<Incoming>,
    segments: &[&str],
) -> Response<Full<Bytes>> {
    match run(writes, request, segments).await {
        Ok(response) => response,
        Err(error) => error.respond(),
    }
}

async fn run(
    writes: Option<&Writes>,
    request: Request<Incoming>,
    segments: &[&str],
) -> Result<Response<Full<Bytes>>, WriteError> {
    let endpoint = Endpoint::parse(request.method(), segments)?;
    let Some(writes) = writes else {
        return Err(WriteError::ClusterMode {
            verb: endpoint.verb(),
            entity: endpoint.collection.name(),
        });
    };
    writes.file()?;
    let fields = fields(request).await?;

    let _one_at_a_time = writes.lock.lock().await;
    let text = writes.read().await?;
    let now = unix_now();
    let mut doc = if text.trim().is_empty() {
        Document::default()
    } else {
        Document::parse(&text, now).map_err(|e| {
            WriteError::Internal(format!("{FILE_NAME} does not parse, fix or remove it: {e}"))
        })?
    };
    let change = apply::apply(&mut doc, &endpoint, fields, now)?;
    hash_secrets(&mut doc).await?;
    check::check(writes, &doc).await?;
    writes.persist(doc.to_yaml()).await?;

    Ok(match change.written {
        Some((collection, id)) => {
            let value = entity::by_id(&doc, collection, &id)
                .map(|e| e.to_value())
                .ok_or_else(|| WriteError::Internal(format!("{id} vanished after the write")))?;
            crate::admin::reply::json(change.status, &value)
        }
        None => crate::admin::reply::with_type(
            StatusCode::NO_CONTENT,
            "application/json; charset=utf-8",
            Bytes::new(),
        ),
    })
}

/// Reads a write's body (at most [`MAX_BODY`] bytes) as form, JSON or
/// multipart fields.
pub async fn fields(
    request: Request<Incoming>,
) -> Result<serde_json::Map<String, serde_json::Value>, WriteError> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = Limited::new(request.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|_| WriteError::TooLarge)?
        .to_bytes();
    decode_fields(content_type.as_deref(), &bytes)
}

/// The fields of a write's `body` sent with `content_type`.
fn decode_fields(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<serde_json::Map<String, serde_json::Value>, WriteError> {
    let format = body::format(content_type, body)?;
    body::decode(&format, body)
}

/// Replaces the plaintext of every `hash_secret: true` credential with its
/// argon2id hash (on a blocking thread: argon2 is slow on purpose), so
/// neither the file nor any answer holds the plaintext, as in Kong.
async fn hash_secrets(doc: &mut Document) -> Result<(), WriteError> {
    for credential in &mut doc.oauth2_credentials {
        let secret = credential.client_secret.expose();
        if !credential.hash_secret || is_hashed_secret(secret) {
            continue;
        }
        let plain = Sensitive::new(secret);
        let phc = tokio::task::spawn_blocking(move || crate::secret::hash(plain.expose()))
            .await
            .map_err(|e| WriteError::Internal(format!("hashing failed: {e}")))?;
        credential.client_secret = Sensitive::new(phc);
    }
    // basic-auth passwords are always stored hashed, as Kong stores them.
    for credential in &mut doc.credentials {
        if credential.kind != CredentialType::BasicAuth || credential.stored {
            continue;
        }
        let Some(plain) = credential.fields.get("password").and_then(|v| v.as_str()) else {
            continue;
        };
        if is_hashed_secret(plain) {
            continue;
        }
        let plain = Sensitive::new(plain);
        let phc = tokio::task::spawn_blocking(move || crate::secret::hash(plain.expose()))
            .await
            .map_err(|e| WriteError::Internal(format!("hashing failed: {e}")))?;
        credential.fields.insert("password".into(), phc.into());
    }
    Ok(())
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
