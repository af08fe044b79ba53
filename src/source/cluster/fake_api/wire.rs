//! The fake API server's wire helpers: request paths, label and field
//! selectors, merge patches, and JSON and `Status` responses.

use super::{Body, Key};
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

/// Where a request points.
pub(super) struct Target {
    pub(super) collection: String,
    pub(super) namespace: Option<String>,
    pub(super) name: Option<String>,
}

// === impl Target ===

impl Target {
    pub(super) fn key(&self, name: &str) -> Key {
        (
            self.collection.clone(),
            self.namespace.clone().unwrap_or_default(),
            name.to_string(),
        )
    }

    pub(super) fn matches(&self, collection: &str, namespace: &str) -> bool {
        collection == self.collection && self.namespace.as_deref().is_none_or(|ns| ns == namespace)
    }
}

/// `/api/v1/namespaces/ns/secrets/name/status` and friends.
pub(super) fn target(path: &str) -> Option<Target> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let prefix = match *segs.first()? {
        "api" => 2,
        "apis" => 3,
        _ => return None,
    };
    let mut rest = segs.get(prefix..)?;
    let mut namespace = None;
    if rest.first() == Some(&"namespaces") && rest.len() >= 3 {
        namespace = Some(rest[1].to_string());
        rest = &rest[2..];
    }
    Some(Target {
        collection: format!("{}/{}", segs[..prefix].join("/"), rest.first()?),
        namespace,
        name: rest.get(1).map(|s| s.to_string()),
    })
}

/// `api/v1/secrets` for `v1`/`Secret`, `apis/networking.k8s.io/v1/ingresses`…
pub(super) fn collection(api_version: &str, kind: &str) -> String {
    let lower = kind.to_lowercase();
    let plural = if lower.ends_with('s') {
        format!("{lower}es")
    } else {
        format!("{lower}s")
    };
    if api_version.contains('/') {
        format!("apis/{api_version}/{plural}")
    } else {
        format!("api/{api_version}/{plural}")
    }
}

pub(super) fn key_of(object: &Value) -> Key {
    let s = |p: &str| {
        object
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (
        collection(&s("/apiVersion"), &s("/kind")),
        s("/metadata/namespace"),
        s("/metadata/name"),
    )
}
