//! Kong `oauth2_credentials` (oauth2 applications of a consumer), and the
//! credentials of every other type (`generic`).

mod generic;

pub use generic::Credential;

use super::ids::random_string;
use super::read::{Reader, object};
use super::{Context, FieldErrors, Foreign, Kind};
use crate::model::Sensitive;
use serde::{Serialize, Serializer};
use serde_json::Value;

/// An oauth2 credential, serialized as the Admin API prints it. `Debug`
/// never shows the secret.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Oauth2Credential {
    /// UUID.
    pub id: String,
    /// Seconds since the epoch.
    pub created_at: i64,
    /// The owning consumer.
    pub consumer: Foreign,
    /// Application name (required).
    pub name: String,
    /// Public identifier, unique; 32 random alphanumerics when omitted.
    pub client_id: String,
    /// The plaintext secret, or its PHC hash (see [`is_hashed_secret`](crate::model::is_hashed_secret));
    /// 32 random alphanumerics when omitted.
    #[serde(serialize_with = "expose")]
    pub client_secret: Sensitive,
    /// Store only a hash of the secret (default false).
    pub hash_secret: bool,
    /// Registered redirect URIs.
    pub redirect_uris: Option<Vec<String>>,
    /// `confidential` (default) or `public`.
    pub client_type: String,
    /// Tags.
    pub tags: Option<Vec<String>>,
}

// === impl Oauth2Credential ===

impl Oauth2Credential {
    /// Builds a credential from its JSON object. `consumer` must resolve
    /// through `cx` unless `owner` (the id of the consumer it is nested
    /// under) is given.
    pub fn from_json(
        value: &Value,
        owner: Option<&str>,
        cx: &Context<'_>,
    ) -> Result<Self, FieldErrors> {
        let mut r = Reader::new(object(value)?);
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
        let name = r.required_string("name");
        let client_id = r.string("client_id").unwrap_or_else(|| random_string(32));
        if client_id.is_empty() {
            r.errors.field("client_id", "length must be at least 1");
        }
        let client_secret = r
            .string("client_secret")
            .unwrap_or_else(|| random_string(32));
        let redirect_uris = r.strings("redirect_uris");
        if let Some(uris) = &redirect_uris {
            r.each("redirect_uris", uris, check_redirect_uri);
        }
        let client_type = r
            .string("client_type")
            .unwrap_or_else(|| "confidential".into());
        if !matches!(client_type.as_str(), "confidential" | "public") {
            r.errors
                .field("client_type", "expected one of: confidential, public");
        }
        let credential = Oauth2Credential {
            id: r.id(cx, Kind::Oauth2Credential, Some(&client_id)),
            created_at: r.timestamp("created_at", cx.now),
            consumer: consumer.unwrap_or(Foreign { id: String::new() }),
            name: name.unwrap_or_default(),
            client_id,
            client_secret: Sensitive::new(client_secret),
            hash_secret: r.boolean("hash_secret", false),
            redirect_uris,
            client_type,
            tags: r.tags(),
        };
        r.finish()?;
        Ok(credential)
    }
}

/// Kong's redirect URI rules: a scheme and a host, no fragment.
fn check_redirect_uri(uri: &str) -> Result<(), String> {
    if uri.contains('#') {
        return Err(format!("fragment not allowed in '{uri}'"));
    }
    let parsed: http::Uri = uri.parse().map_err(|_| format!("cannot parse '{uri}'"))?;
    if parsed.scheme().is_none() || parsed.host().is_none_or(str::is_empty) {
        return Err(format!("cannot parse '{uri}'"));
    }
    Ok(())
}

/// The Admin API and persisted documents carry the secret (or its hash).
fn expose<S: Serializer>(secret: &Sensitive, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose())
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
            ids: Ids::Random,
            position: "oauth2_credentials[0]",
            resolve: &resolve,
            stored: false,
        }
    }

    #[test]
    fn generated_values_and_defaults() {
        let c =
            Oauth2Credential::from_json(&json!({"name": "demo", "consumer": "jane"}), None, &cx())
                .unwrap();
        assert_eq!(c.consumer.id, "jane-id");
        assert_eq!(c.client_id.len(), 32);
        assert_eq!(c.client_secret.expose().len(), 32);
        assert!(!format!("{c:?}").contains(c.client_secret.expose()));
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["client_type"], "confidential");
        assert_eq!(v["hash_secret"], false);
        assert_eq!(v["client_secret"], c.client_secret.expose());
        assert_eq!(v["consumer"], json!({"id": "jane-id"}));
        assert!(v["redirect_uris"].is_null());
        assert_eq!(v.as_object().unwrap().len(), 10);
    }

    #[test]
    fn refusals() {
        let e = Oauth2Credential::from_json(
            &json!({"redirect_uris": ["https://a.test/cb#x", "nohost"], "client_type": "x"}),
            None,
            &cx(),
        )
        .unwrap_err();
        for f in ["name", "consumer", "redirect_uris", "client_type"] {
            assert!(e.get(f).is_some(), "{f}: {e}");
        }
        let nested = Oauth2Credential::from_json(&json!({"name": "n", "client_secret": "$pbkdf2-sha512$i=10000,l=32$a$b", "hash_secret": true}), Some("c1"), &cx()).unwrap();
        assert!(crate::model::is_hashed_secret(
            nested.client_secret.expose()
        ));
        assert_eq!(nested.consumer.id, "c1");
    }
}
