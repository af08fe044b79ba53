//! Why an Admin API write was refused, and the one place such a refusal
//! becomes an HTTP response, in Kong's shapes (`kong/db/errors.lua`,
//! `kong/api/endpoints.lua`): `{"code", "name", "message", "fields"}` for
//! database-style errors, `{"message"}` for the rest.

use crate::admin::reply;
use crate::kong::FieldErrors;
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use serde_json::{Map, Value, json};

/// Kong's error codes (`kong/db/errors.lua`).
const SCHEMA_VIOLATION: u8 = 2;
const FOREIGN_KEY_VIOLATION: u8 = 4;
const UNIQUE_VIOLATION: u8 = 5;
const OPERATION_UNSUPPORTED: u8 = 12;

/// A refused write.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The body could not be decoded (400 with Kong's message).
    #[error("{0}")]
    BadBody(&'static str),
    /// A content type kingress does not decode (415).
    #[error("unsupported content type {0}")]
    UnsupportedType(String),
    /// The body is larger than the Admin API reads (413).
    #[error("request body too large")]
    TooLarge,
    /// The entity (or its parent) does not exist (404).
    #[error("not found")]
    NotFound,
    /// No such method on this endpoint (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Cluster mode: the Admin API is read-only (405).
    #[error("cannot {verb} '{entity}' entities in cluster mode")]
    ClusterMode {
        /// `create`, `update` or `delete`.
        verb: &'static str,
        /// The collection, e.g. `consumers`.
        entity: &'static str,
    },
    /// Standalone mode, but writes cannot be kept (405 with the reason).
    #[error("{reason}")]
    NotWritable {
        /// Why, and what to do instead.
        reason: String,
    },
    /// Field errors (400): a schema violation (code 2), or a reference to
    /// nothing (code 4).
    #[error("{0}")]
    Fields(FieldErrors),
    /// A delete refused because other entities reference this one (400,
    /// code 4), as Kong refuses deleting a service that routes use.
    #[error("an existing '{child}' entity references this '{parent}' entity")]
    Referenced {
        /// The referencing collection (`routes`).
        child: &'static str,
        /// This entity's collection (`services`).
        parent: &'static str,
    },
    /// A unique field already used by another entity (409, code 5).
    #[error("unique constraint violation")]
    Unique {
        /// The fields and values, e.g. `{"username": "jane"}`.
        fields: Map<String, Value>,
    },
    /// The change would leave the configuration with a problem translate
    /// reports (400, code 2, the problem's message under `@entity`).
    #[error("{0}")]
    Problem(String),
    /// The token store did not answer (503 with the reason, which names no
    /// secret).
    #[error("{0}")]
    Unavailable(String),
    /// The change could not be saved or applied (500; the cause is logged).
    #[error("{0}")]
    Internal(String),
}

// === impl WriteError ===

impl WriteError {
    /// A schema violation about the entity as a whole.
    pub fn entity(message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.entity(message);
        WriteError::Fields(errors)
    }

    /// A unique violation on `field` = `value`.
    pub fn unique(field: &str, value: impl Into<Value>) -> Self {
        let mut fields = Map::new();
        fields.insert(field.to_string(), value.into());
        WriteError::Unique { fields }
    }

    /// The response Kong would give.
    pub fn respond(&self) -> Response<Full<Bytes>> {
        let message = |m: &str| json!({ "message": m });
        let coded = |status: StatusCode, code: u8, name: &str, message: String, fields: Value| {
            let mut body = json!({ "code": code, "name": name, "message": message });
            if !fields.is_null() {
                body["fields"] = fields;
            }
            reply::json(status, &body)
        };
        match self {
            WriteError::BadBody(m) => reply::json(StatusCode::BAD_REQUEST, &message(m)),
            WriteError::UnsupportedType(_) => reply::json(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                &message("Unsupported Content-Type"),
            ),
            WriteError::TooLarge => reply::json(
                StatusCode::PAYLOAD_TOO_LARGE,
                &message("Request body too large"),
            ),
            WriteError::NotFound => reply::not_found(),
            WriteError::MethodNotAllowed => reply::method_not_allowed(),
            WriteError::ClusterMode { verb, entity } => coded(
                StatusCode::METHOD_NOT_ALLOWED,
                OPERATION_UNSUPPORTED,
                "operation unsupported",
                format!(
                    "cannot {verb} '{entity}' entities: in cluster mode the configuration is \
                     managed through Kubernetes objects (Ingress, Service, KongPlugin, \
                     KongClusterPlugin, KongConsumer and credential Secrets), not through the \
                     Admin API"
                ),
                Value::Null,
            ),
            WriteError::NotWritable { reason } => coded(
                StatusCode::METHOD_NOT_ALLOWED,
                OPERATION_UNSUPPORTED,
                "operation unsupported",
                reason.clone(),
                Value::Null,
            ),
            WriteError::Fields(errors) => {
                let (code, name) = if errors.is_foreign_key_violation() {
                    (FOREIGN_KEY_VIOLATION, "foreign key violation")
                } else {
                    (SCHEMA_VIOLATION, "schema violation")
                };
                let fields = serde_json::to_value(errors).unwrap_or(Value::Null);
                coded(
                    StatusCode::BAD_REQUEST,
                    code,
                    name,
                    errors.message(),
                    fields,
                )
            }
            WriteError::Referenced { child, .. } => coded(
                StatusCode::BAD_REQUEST,
                FOREIGN_KEY_VIOLATION,
                "foreign key violation",
                self.to_string(),
                json!({ "@referenced_by": child }),
            ),
            WriteError::Unique { fields } => coded(
                StatusCode::CONFLICT,
                UNIQUE_VIOLATION,
                "unique constraint violation",
                format!("UNIQUE violation detected on '{}'", pretty(fields)),
                Value::Object(fields.clone()),
            ),
            WriteError::Problem(problem) => {
                let mut errors = FieldErrors::new();
                errors.entity(problem.clone());
                WriteError::Fields(errors).respond()
            }
            WriteError::Unavailable(reason) => {
                reply::json(StatusCode::SERVICE_UNAVAILABLE, &message(reason))
            }
            WriteError::Internal(cause) => {
                tracing::error!(%cause, "Admin API write failed");
                reply::json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &message("An unexpected error occurred"),
                )
            }
        }
    }
}

impl From<FieldErrors> for WriteError {
    fn from(errors: FieldErrors) -> Self {
        WriteError::Fields(errors)
    }
}

/// Penlight's compact table print, as Kong uses in messages:
/// `{username="jane"}`.
fn pretty(map: &Map<String, Value>) -> String {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    let items: Vec<String> = keys
        .into_iter()
        .map(|k| match &map[k] {
            Value::Object(inner) => format!("{k}={}", pretty(inner)),
            v => format!("{k}={v}"),
        })
        .collect();
    format!("{{{}}}", items.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body(error: WriteError) -> (u16, Value) {
        let response = error.respond();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn schema_violations_read_like_kong() {
        let mut errors = FieldErrors::new();
        errors.field("config.scopes", "expected an array");
        let (status, v) = body(WriteError::Fields(errors)).await;
        assert_eq!(status, 400);
        assert_eq!(v["code"], 2);
        assert_eq!(
            v["message"],
            "schema violation (config.scopes: expected an array)"
        );
        assert_eq!(
            v["fields"],
            json!({"config": {"scopes": "expected an array"}})
        );

        let mut errors = FieldErrors::new();
        errors.field("name", "required field missing");
        errors.entity("at least one of a, b");
        let (_, v) = body(WriteError::Fields(errors)).await;
        assert_eq!(
            v["message"],
            "2 schema violations (at least one of a, b; name: required field missing)"
        );
    }

    #[tokio::test]
    async fn unique_and_cluster_mode() {
        let (status, v) = body(WriteError::unique("username", "jane")).await;
        assert_eq!(status, 409);
        assert_eq!(v["name"], "unique constraint violation");
        assert_eq!(
            v["message"],
            "UNIQUE violation detected on '{username=\"jane\"}'"
        );

        let (status, v) = body(WriteError::ClusterMode {
            verb: "create",
            entity: "consumers",
        })
        .await;
        assert_eq!(status, 405);
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("managed through Kubernetes objects")
        );
    }
}
