//! `/oauth2_tokens` as Kong serves it: `GET` lists (paginated, values
//! masked), `POST` creates a token for a credential, and
//! `/oauth2_tokens/{id or access token}` answers `GET`, `PATCH` and
//! `DELETE`. Tokens live in the token store (memory or Redis), not in the
//! Admin API's document, so a revocation takes effect at once for every
//! replica sharing the store. Writes are accepted where the Admin API
//! writes (standalone mode).

mod create;

use super::page::Page;
use super::read::{Node, token};
use super::reply;
use super::write::{self, WriteError, Writes};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;

/// The collection's path segment.
pub(super) const COLLECTION: &str = "oauth2_tokens";

/// Answers a read of `/oauth2_tokens[/{key}]`.
pub(super) async fn read(node: &Node, segments: &[&str], page: &Page) -> Response<Full<Bytes>> {
    let result = match segments {
        [_] => list(node, page).await,
        [_, key] => match node.runtime.tokens.find(key).await {
            Ok(Some(summary)) => Ok(reply::ok(&token(&summary))),
            Ok(None) => Ok(reply::not_found()),
            Err(e) => Err(WriteError::Unavailable(e.to_string())),
        },
        _ => Ok(reply::not_found()),
    };
    result.unwrap_or_else(|e| e.respond())
}

/// Answers a write of `/oauth2_tokens[/{key}]`.
pub(super) async fn write(
    node: &Node,
    writes: Option<&Writes>,
    request: Request<Incoming>,
    segments: &[&str],
) -> Response<Full<Bytes>> {
    let method = request.method().clone();
    let verb = match method {
        Method::POST => "create",
        Method::DELETE => "delete",
        _ => "update",
    };
    if writes.is_none() {
        return WriteError::ClusterMode {
            verb,
            entity: COLLECTION,
        }
        .respond();
    }
    let result = match (method, segments) {
        (Method::POST, [_]) => match write::fields(request).await {
            Ok(fields) => create::create(node, fields).await,
            Err(e) => Err(e),
        },
        (Method::PATCH, [_, key]) => match write::fields(request).await {
            Ok(fields) => create::update(node, key, fields).await,
            Err(e) => Err(e),
        },
        (Method::DELETE, [_, key]) => match node.runtime.tokens.revoke(key).await {
            // Kong answers 204 whether or not the row existed.
            Ok(_) => Ok(reply::with_type(
                StatusCode::NO_CONTENT,
                "application/json; charset=utf-8",
                Bytes::new(),
            )),
            Err(e) => Err(WriteError::Unavailable(e.to_string())),
        },
        _ => Err(WriteError::MethodNotAllowed),
    };
    result.unwrap_or_else(|e| e.respond())
}

/// One page of tokens in id order; the offset is the last id listed.
async fn list(node: &Node, page: &Page) -> Result<Response<Full<Bytes>>, WriteError> {
    let (size, after) = match page.window() {
        Ok(window) => window,
        Err(e) => return Ok(e.respond()),
    };
    if after.is_some_and(|a| a.is_empty() || !a.bytes().all(|b| b.is_ascii_hexdigit())) {
        return Ok(page.bad_offset("invalid offset").respond());
    }
    let mut rows = node
        .runtime
        .tokens
        .list_tokens(after, size + 1)
        .await
        .map_err(|e| WriteError::Unavailable(e.to_string()))?;
    let next = (rows.len() > size).then(|| {
        rows.truncate(size);
        rows.last().map(|r| r.id.clone()).unwrap_or_default()
    });
    Ok(page.answer(rows.iter().map(token).collect(), next))
}
