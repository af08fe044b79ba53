//! The fake API server's wire helpers: label and field selectors, merge
//! patches, and JSON and `Status` responses.

use super::Body;
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// `fieldSelector` (`metadata.name=…`, `metadata.namespace=…`) and
/// `labelSelector` (`key` or `key=value`), comma-separated.
pub(super) fn selected(object: &Value, query: &BTreeMap<String, String>) -> bool {
    let fields = query
        .get("fieldSelector")
        .into_iter()
        .flat_map(|s| s.split(','));
    for term in fields.filter(|t| !t.is_empty()) {
        let Some((field, want)) = term.split_once('=') else {
            return false;
        };
        let path = format!("/{}", field.replace('.', "/"));
        if object.pointer(&path).and_then(Value::as_str) != Some(want) {
            return false;
        }
    }
    let labels = &object["metadata"]["labels"];
    let terms = query
        .get("labelSelector")
        .into_iter()
        .flat_map(|s| s.split(','));
    for term in terms.filter(|t| !t.is_empty()) {
        let ok = match term.split_once('=') {
            Some((k, v)) => labels[k].as_str() == Some(v),
            None => labels.get(term).is_some(),
        };
        if !ok {
            return false;
        }
    }
    true
}

/// RFC 7386 JSON merge patch.
pub(super) fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let map = target.as_object_mut().unwrap();
    for (k, v) in patch {
        if v.is_null() {
            map.remove(k);
        } else {
            merge(map.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

pub(super) fn json_response(code: StatusCode, value: &Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(value.to_string())).boxed())
        .unwrap()
}

pub(super) fn status(code: StatusCode, reason: &str, message: &str) -> Response<Body> {
    let body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code.as_u16(),
    });
    json_response(code, &body)
}

/// API Priority and Fairness turning a request away: 429 with
/// `Retry-After` in seconds.
pub(super) fn too_many(retry_after: u64) -> Response<Body> {
    let mut response = status(
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequests",
        "too many requests, please try again later",
    );
    response
        .headers_mut()
        .insert("retry-after", retry_after.to_string().parse().unwrap());
    response
}

/// Whether the request asks for metadata only (`Accept: …;as=PartialObjectMetadata…`).
pub(super) fn wants_metadata(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("as=PartialObjectMetadata"))
}

/// An object as a metadata-only request sees it.
pub(super) fn shaped(object: &Value, metadata_only: bool) -> Value {
    if !metadata_only {
        return object.clone();
    }
    json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": object["metadata"]})
}
