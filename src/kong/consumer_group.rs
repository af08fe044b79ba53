//! Kong `consumer_groups` (Kong Gateway 3.x): a named group that consumers
//! join and that plugins can be scoped to. Membership is kept apart from
//! the entity (Kong's `consumer_group_consumers`), as the Admin API prints
//! a group without its members.

use super::read::{Reader, object};
use super::{Context, FieldErrors, Foreign, Kind};
use serde::Serialize;
use serde_json::Value;

/// A Kong consumer group, serialized as the Admin API prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsumerGroup {
    /// UUID.
    pub id: String,
    /// Seconds since the epoch.
    pub created_at: i64,
    /// Seconds since the epoch.
    pub updated_at: i64,
    /// Unique name.
    pub name: String,
    /// Tags.
    pub tags: Option<Vec<String>>,
}

/// One membership (Kong's `consumer_group_consumers` row).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ConsumerGroupConsumer {
    /// The group.
    pub consumer_group: Foreign,
    /// The member.
    pub consumer: Foreign,
}

// === impl ConsumerGroup ===

impl ConsumerGroup {
    /// Builds a consumer group from its JSON object (nested `consumers` and
    /// `plugins` already removed). `name` is required.
    pub fn from_json(value: &Value, cx: &Context<'_>) -> Result<Self, FieldErrors> {
        let mut r = Reader::new(object(value)?);
        let name = r.required_string("name").unwrap_or_default();
        let group = ConsumerGroup {
            id: r.id(cx, Kind::ConsumerGroup, Some(&name)),
            created_at: r.timestamp("created_at", cx.now),
            updated_at: r.timestamp("updated_at", cx.now),
            name,
            tags: r.tags(),
        };
        r.finish()?;
        Ok(group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kong::Ids;
    use serde_json::json;

    #[test]
    fn name_is_required_and_ids_derive_from_it() {
        let cx = Context {
            now: 7,
            ids: Ids::Derived,
            position: "consumer_groups[0]",
            resolve: &|_, _| None,
            stored: false,
        };
        let g = ConsumerGroup::from_json(&json!({"name": "gold", "tags": ["paid"]}), &cx).unwrap();
        assert_eq!(
            serde_json::to_value(&g).unwrap(),
            json!({"id": g.id, "created_at": 7, "updated_at": 7, "name": "gold", "tags": ["paid"]})
        );
        let again = ConsumerGroup::from_json(&json!({"name": "gold"}), &cx).unwrap();
        assert_eq!(g.id, again.id);
        let e = ConsumerGroup::from_json(&json!({"tags": ["a"]}), &cx).unwrap_err();
        assert_eq!(
            e.message(),
            "schema violation (name: required field missing)"
        );
        let e = ConsumerGroup::from_json(&json!({"name": "g", "colour": "red"}), &cx).unwrap_err();
        assert!(e.message().contains("colour"), "{}", e.message());
    }
}
