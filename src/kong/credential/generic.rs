//! Kong credential entities of every type read through
//! `model::credential` (`keyauth_credentials`, `basicauth_credentials`,
//! `acls`, …): the fields every credential has (`id`, `created_at`,
//! `consumer`, `tags`) are read here once; the type's own fields are
//! checked by the type's `parse`, the same one Secrets use.

use super::super::ids::random_string;
use super::super::read::{Reader, object};
use super::super::{Context, FieldErrors, Foreign, Kind};
use crate::model::{
    self, CredentialBase, CredentialError, CredentialType, Fields, ObjectRef, Origin,
};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// The fields every credential has; the rest belongs to the type.
const COMMON: [&str; 4] = ["id", "created_at", "consumer", "tags"];

/// A credential entity as Kong prints it. `Debug` shows the type's fields
/// only through the parsed model credential (which masks secrets).
#[derive(Clone, PartialEq)]
pub struct Credential {
    /// Its type.
    pub kind: CredentialType,
    /// UUID.
    pub id: String,
    /// Seconds since the epoch.
    pub created_at: i64,
    /// The owning consumer.
    pub consumer: Foreign,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// The type's own fields as stored (an Admin API write replaces a
    /// password with its hash before storing).
    pub fields: Map<String, Value>,
    /// Whether the fields are in Kong's stored form (`_transform: false`).
    pub stored: bool,
}

// === impl Credential ===

impl Credential {
    /// Builds a credential of type `kind` from its JSON object. `consumer`
    /// must resolve through `cx` unless `owner` (the id of the consumer it
    /// is nested under) is given. Fields Kong generates (`key`) are
    /// generated when absent.
    pub fn from_json(
        kind: CredentialType,
        value: &Value,
        owner: Option<&str>,
        cx: &Context<'_>,
    ) -> Result<Self, FieldErrors> {
        let map = object(value)?;
        let mut r = Reader::new(map);
        let consumer = match owner {
            Some(id) => {
                r.accept("consumer");
                Some(Foreign { id: id.to_string() })
            }
            None => {
                let c = r.foreign("consumer", Kind::Consumer, cx);
                if !r.present("consumer") {
                    r.errors.field("consumer", "required field missing");
                }
                c
            }
        };
        let created_at = r.timestamp("created_at", cx.now);
        let tags = r.tags();
        let mut fields: Map<String, Value> = map
            .iter()
            .filter(|(k, _)| !COMMON.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for auto in kind.auto_fields() {
            if fields.get(*auto).is_none_or(Value::is_null) {
                fields.insert((*auto).to_string(), random_string(32).into());
            }
        }
        let consumer = consumer.unwrap_or(Foreign { id: String::new() });
        let parsed = parse(kind, &fields, &consumer.id, created_at, cx.stored);
        let natural = match &parsed {
            // The id is derived from a public key only; an API key is a
            // secret, so such ids come from the position.
            Ok(model::Credential::KeyAuth(_)) | Err(_) => None,
            Ok(c) => Some(format!("{}:{}", consumer.id, c.key())),
        };
        let id = r.id(cx, Kind::Credential(kind), natural.as_deref());
        let mut errors = r.errors;
        if let Err(e) = parsed {
            match e {
                CredentialError::Unsupported(label) => errors.entity(format!(
                    "credential type '{label}' is not supported by kingress"
                )),
                CredentialError::Invalid(problems) => {
                    for p in problems {
                        if p.field == "@entity" {
                            errors.entity(p.message);
                        } else {
                            errors.field(&p.field, p.message);
                        }
                    }
                }
            }
        }
        errors.into_result()?;
        Ok(Self {
            kind,
            id,
            created_at,
            consumer,
            tags,
            fields,
            stored: cx.stored,
        })
    }

    /// The model credential (the type's parse of the stored fields).
    pub fn to_model(&self, source: ObjectRef) -> Result<model::Credential, CredentialError> {
        let mut credential = parse(
            self.kind,
            &self.fields,
            &self.consumer.id,
            self.created_at,
            self.stored,
        )?;
        set_identity(
            &mut credential,
            &self.id,
            source,
            self.tags.clone().unwrap_or_default(),
        );
        Ok(credential)
    }

    /// The table key of this credential (unique within its type), as
    /// [`model::Credential::key`].
    pub fn unique_key(&self) -> Option<String> {
        parse(
            self.kind,
            &self.fields,
            &self.consumer.id,
            self.created_at,
            self.stored,
        )
        .ok()
        .map(|c| c.key())
    }

    /// The entity as JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

fn parse(
    kind: CredentialType,
    fields: &Map<String, Value>,
    consumer_id: &str,
    created_at: i64,
    stored: bool,
) -> Result<model::Credential, CredentialError> {
    let base = CredentialBase {
        consumer_id: consumer_id.to_string(),
        created_at,
        ..CredentialBase::default()
    };
    model::Credential::parse(
        kind,
        Fields::new(fields, Origin::Entity).stored_form(stored),
        base,
    )
}

fn set_identity(
    credential: &mut model::Credential,
    id: &str,
    source: ObjectRef,
    tags: Vec<String>,
) {
    let base = match credential {
        model::Credential::Oauth2(_) => return,
        model::Credential::KeyAuth(c) => &mut c.base,
        model::Credential::BasicAuth(c) => &mut c.base,
        model::Credential::Jwt(c) => &mut c.base,
        model::Credential::Acl(c) => &mut c.base,
    };
    base.id = id.to_string();
    base.source = source;
    base.tags = tags;
}

impl Serialize for Credential {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.fields.len() + 4))?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("created_at", &self.created_at)?;
        map.serialize_entry("consumer", &self.consumer)?;
        for (k, v) in &self.fields {
            map.serialize_entry(k, v)?;
        }
        map.serialize_entry("tags", &self.tags)?;
        map.end()
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .field("consumer", &self.consumer)
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kong::Ids;
    use serde_json::json;

    fn resolve(kind: Kind, key: &str) -> Option<String> {
        (kind == Kind::Consumer && key == "jane").then(|| "jane-id".to_string())
    }

    fn cx() -> Context<'static> {
        Context {
            now: 9,
            ids: Ids::Derived,
            position: "keyauth_credentials[0]",
            resolve: &resolve,
            stored: false,
        }
    }

    #[test]
    fn key_auth_generates_a_key_and_prints_as_kong() {
        let c = Credential::from_json(
            CredentialType::KeyAuth,
            &json!({"consumer": "jane"}),
            None,
            &cx(),
        )
        .unwrap();
        let v = c.to_value();
        assert_eq!(v["key"].as_str().unwrap().len(), 32);
        assert_eq!(v["consumer"], json!({"id": "jane-id"}));
        assert_eq!(v["created_at"], 9);
        assert!(v["tags"].is_null());
        assert!(!format!("{c:?}").contains(v["key"].as_str().unwrap()));
        let m = c
            .to_model(ObjectRef::cluster("KongCredential", "x"))
            .unwrap();
        assert_eq!(m.id(), c.id);
        assert_eq!(m.consumer_id(), "jane-id");
    }

    #[test]
    fn refusals_name_fields() {
        let e = Credential::from_json(
            CredentialType::BasicAuth,
            &json!({"username": "u", "nope": 1, "tags": ["a/b"]}),
            None,
            &cx(),
        )
        .unwrap_err();
        for f in ["consumer", "password", "nope", "tags"] {
            assert!(e.get(f).is_some(), "{f}: {e}");
        }
        let ok = Credential::from_json(
            CredentialType::Acl,
            &json!({"group": "g"}),
            Some("c1"),
            &cx(),
        )
        .unwrap();
        let again = Credential::from_json(
            CredentialType::Acl,
            &json!({"group": "g"}),
            Some("c1"),
            &cx(),
        )
        .unwrap();
        assert_eq!(ok.id, again.id, "derived ids are stable");
        assert_eq!(ok.unique_key().unwrap(), "c1\u{0}g");
    }
}
