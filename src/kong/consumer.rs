//! Kong `consumers`.

use super::read::{Reader, object};
use super::{Context, FieldErrors, Kind};
use serde::Serialize;
use serde_json::Value;

/// A Kong consumer, serialized as the Admin API prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Consumer {
    /// UUID.
    pub id: String,
    /// Seconds since the epoch.
    pub created_at: i64,
    /// Seconds since the epoch.
    pub updated_at: i64,
    /// Unique username.
    pub username: Option<String>,
    /// Unique custom id.
    pub custom_id: Option<String>,
    /// Tags.
    pub tags: Option<Vec<String>>,
}

// === impl Consumer ===

impl Consumer {
    /// Builds a consumer from its JSON object (nested credentials and
    /// plugins already removed). One of `username`/`custom_id` is required.
    pub fn from_json(value: &Value, cx: &Context<'_>) -> Result<Self, FieldErrors> {
        let mut r = Reader::new(object(value)?);
        let username = r.string("username");
        let custom_id = r.string("custom_id");
        for (key, v) in [("username", &username), ("custom_id", &custom_id)] {
            if v.as_deref() == Some("") {
                r.errors.field(key, "length must be at least 1");
            }
        }
        if username.is_none() && custom_id.is_none() {
            r.errors
                .entity("at least one of these fields must be non-empty: 'custom_id', 'username'");
        }
        let key = username
            .as_deref()
            .map(|u| format!("username:{u}"))
            .or_else(|| custom_id.as_deref().map(|c| format!("custom_id:{c}")));
        let consumer = Consumer {
            id: r.id(cx, Kind::Consumer, key.as_deref()),
            created_at: r.timestamp("created_at", cx.now),
            updated_at: r.timestamp("updated_at", cx.now),
            username,
            custom_id,
            tags: r.tags(),
        };
        r.finish()?;
        Ok(consumer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kong::Ids;
    use serde_json::json;

    #[test]
    fn username_or_custom_id_is_required() {
        let cx = Context {
            now: 7,
            ids: Ids::Derived,
            position: "consumers[0]",
            resolve: &|_, _| None,
            stored: false,
        };
        let c = Consumer::from_json(&json!({"username": "jane"}), &cx).unwrap();
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            json!({"id": c.id, "created_at": 7, "updated_at": 7, "username": "jane",
                   "custom_id": null, "tags": null})
        );
        assert_eq!(
            c.id,
            Consumer::from_json(&json!({"username": "jane"}), &cx)
                .unwrap()
                .id
        );
        let e = Consumer::from_json(&json!({"tags": ["a"]}), &cx).unwrap_err();
        assert_eq!(
            e.message(),
            "schema violation (at least one of these fields must be non-empty: 'custom_id', 'username')"
        );
    }
}
