//! Consumers' credentials, one table for every type: a credential Secret
//! (`konghq.com/credential: <type>`), a kong.yml entity or an Admin API
//! write all end here, keyed by type and by the type's unique key.
//!
//! oauth2 has its own readers (it predates this path). Every other type is
//! one module here implementing [`CredentialSchema`] (its struct, how it is
//! read from a field map, Kong's rules and messages, its unique key and how
//! the Admin API prints it) plus one line in [`generic_types!`]; Secrets,
//! kong.yml and the Admin API all call the same `parse`.

pub mod acl;
pub mod basic_auth;
mod fields;
pub mod jwt;
pub mod key_auth;

use super::{Oauth2Credential, ObjectRef, Shared};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

pub use acl::AclCredential;
pub use basic_auth::{BasicAuthCredential, Password};
pub use fields::{FieldProblem, Fields, Origin};
pub use jwt::JwtCredential;
pub use key_auth::{ApiKey, KeyAuthCredential};

/// The credential types kingress reads, with Kong's and KIC's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CredentialType {
    /// oauth2 applications (`oauth2_credentials`).
    Oauth2,
    /// API keys (`keyauth_credentials`).
    KeyAuth,
    /// Username and password (`basicauth_credentials`).
    BasicAuth,
    /// JWT issuers (`jwt_secrets`).
    Jwt,
    /// Group memberships (`acls`).
    Acl,
}

/// What every credential has besides its type's own fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CredentialBase {
    /// Stable id (a UUID).
    pub id: String,
    /// The owning consumer's id.
    pub consumer_id: String,
    /// Seconds since the epoch (a Secret's creation time, an entity's
    /// `created_at`); 0 when unknown.
    pub created_at: i64,
    /// Kong `tags` the input gave.
    pub tags: Vec<String>,
    /// The object it came from.
    pub source: ObjectRef,
}

/// One credential type's fields, rules and shapes. Implemented once per
/// type, in its own module.
pub trait CredentialSchema: Sized {
    /// Its type.
    const TYPE: CredentialType;

    /// Reads the type's own fields (`id`, `consumer`, `created_at` and
    /// `tags` are read by the caller into `base`); problems go to `fields`,
    /// `None` when the credential cannot be used.
    fn parse(fields: &mut Fields<'_>, base: CredentialBase) -> Option<Self>;

    /// The common part.
    fn base(&self) -> &CredentialBase;

    /// The key in the table: what a request presents to be found, unique
    /// within the type (see [`Credential::key`]).
    fn key(&self) -> String;

    /// The type's own fields as the Admin API prints them (secrets as Kong
    /// prints them: key-auth keys in the clear, basic-auth hashes).
    fn render(&self) -> Map<String, Value>;
}

/// Expands `$callback! { Variant => module::Type, … }` with every type read
/// through [`CredentialSchema`]. Adding a type is its module and one line.
macro_rules! generic_types {
    ($callback:ident) => {
        $callback! {
            KeyAuth => key_auth::KeyAuthCredential,
            BasicAuth => basic_auth::BasicAuthCredential,
            Jwt => jwt::JwtCredential,
            Acl => acl::AclCredential,
        }
    };
}

/// Why a credential could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// kingress does not read this type (yet).
    #[error("credential type '{0}' is not supported by kingress")]
    Unsupported(String),
    /// Fields were refused, each with Kong's message.
    #[error("{}", FieldProblem::join(.0))]
    Invalid(Vec<FieldProblem>),
}

macro_rules! credential_enum {
    ($($variant:ident => $module:ident :: $ty:ident,)*) => {
        /// A credential of any type.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Credential {
            /// An oauth2 application.
            Oauth2(Oauth2Credential),
            $(
                #[doc = concat!("A `", stringify!($module), "` credential.")]
                $variant($ty),
            )*
        }

        impl Credential {
            /// Reads a credential of type `kind` from `fields` (a Secret's
            /// data or a kong.yml/Admin API object without `id`,
            /// `consumer` and `created_at`); `base` names the owner.
            pub fn parse(
                kind: CredentialType,
                mut fields: Fields<'_>,
                mut base: CredentialBase,
            ) -> Result<Credential, CredentialError> {
                base.tags = fields.tags().unwrap_or_default();
                let parsed = match kind {
                    $(CredentialType::$variant => {
                        <$ty as CredentialSchema>::parse(&mut fields, base).map(Credential::$variant)
                    })*
                    other => return Err(CredentialError::Unsupported(other.label().to_string())),
                };
                let problems = fields.finish();
                match parsed {
                    Some(c) if problems.is_empty() => Ok(c),
                    _ => Err(CredentialError::Invalid(problems)),
                }
            }

            /// Its type.
            pub fn credential_type(&self) -> CredentialType {
                match self {
                    Credential::Oauth2(_) => CredentialType::Oauth2,
                    $(Credential::$variant(_) => CredentialType::$variant,)*
                }
            }

            /// Unique within its type: what a request presents to be found
            /// (`client_id`, the API key, the username); acls are keyed
            /// `<consumer id>\0<group>` so a consumer's groups are a range.
            pub fn key(&self) -> String {
                match self {
                    Credential::Oauth2(c) => c.client_id.clone(),
                    $(Credential::$variant(c) => c.key(),)*
                }
            }

            /// Its stable id.
            pub fn id(&self) -> &str {
                match self {
                    Credential::Oauth2(c) => &c.id,
                    $(Credential::$variant(c) => &c.base().id,)*
                }
            }

            /// The owning consumer's id.
            pub fn consumer_id(&self) -> &str {
                match self {
                    Credential::Oauth2(c) => &c.consumer_id,
                    $(Credential::$variant(c) => &c.base().consumer_id,)*
                }
            }

            /// The object it came from.
            pub fn source(&self) -> &ObjectRef {
                match self {
                    Credential::Oauth2(c) => &c.source,
                    $(Credential::$variant(c) => &c.base().source,)*
                }
            }

            /// The common part of a generic credential (`None` for oauth2).
            pub fn base(&self) -> Option<&CredentialBase> {
                match self {
                    Credential::Oauth2(_) => None,
                    $(Credential::$variant(c) => Some(c.base()),)*
                }
            }

            /// The type's own fields as the Admin API prints them (`None`
            /// for oauth2, printed by its own code).
            pub fn render(&self) -> Option<Map<String, Value>> {
                match self {
                    Credential::Oauth2(_) => None,
                    $(Credential::$variant(c) => Some(c.render()),)*
                }
            }
        }
    };
}

generic_types!(credential_enum);

/// Every credential, by type, each type keyed by its unique key
/// ([`Credential::key`]). Each type's map is shared with the tables before
/// and after while it does not change, and each credential with the
/// translations before and after that read it the same (so a full
/// re-translate does not hold every credential twice). `Debug` shows
/// counts only: keys may be API keys.
#[derive(Clone, Default, PartialEq)]
pub struct Credentials {
    by_type: BTreeMap<CredentialType, Shared<BTreeMap<String, Arc<Credential>>>>,
}

// === impl CredentialType ===

impl CredentialType {
    /// Every type.
    pub const ALL: [CredentialType; 5] = [
        CredentialType::Oauth2,
        CredentialType::KeyAuth,
        CredentialType::BasicAuth,
        CredentialType::Jwt,
        CredentialType::Acl,
    ];

    /// The `konghq.com/credential` label value (and the plugin name).
    pub fn label(self) -> &'static str {
        match self {
            CredentialType::Oauth2 => "oauth2",
            CredentialType::KeyAuth => "key-auth",
            CredentialType::BasicAuth => "basic-auth",
            CredentialType::Jwt => "jwt",
            CredentialType::Acl => "acl",
        }
    }

    /// The type named by a `konghq.com/credential` label, KIC's aliases
    /// (`keyauth_credential`, `jwt_secret`, …) included.
    pub fn from_label(label: &str) -> Option<Self> {
        Some(match label {
            "oauth2" => CredentialType::Oauth2,
            "key-auth" | "keyauth_credential" => CredentialType::KeyAuth,
            "basic-auth" | "basicauth_credential" => CredentialType::BasicAuth,
            "jwt" | "jwt_secret" => CredentialType::Jwt,
            "acl" => CredentialType::Acl,
            _ => return None,
        })
    }

    /// Kong's table name (the kong.yml key): `keyauth_credentials`.
    pub fn table(self) -> &'static str {
        match self {
            CredentialType::Oauth2 => "oauth2_credentials",
            CredentialType::KeyAuth => "keyauth_credentials",
            CredentialType::BasicAuth => "basicauth_credentials",
            CredentialType::Jwt => "jwt_secrets",
            CredentialType::Acl => "acls",
        }
    }

    /// The type whose Kong table is `table`.
    pub fn from_table(table: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.table() == table)
    }

    /// The Admin API's top-level collection (`/key-auths`).
    pub fn admin_name(self) -> &'static str {
        match self {
            CredentialType::Oauth2 => "oauth2",
            CredentialType::KeyAuth => "key-auths",
            CredentialType::BasicAuth => "basic-auths",
            CredentialType::Jwt => "jwts",
            CredentialType::Acl => "acls",
        }
    }

    /// The Admin API's collection under a consumer
    /// (`/consumers/{c}/key-auth`).
    pub fn nested_name(self) -> &'static str {
        match self {
            CredentialType::Oauth2 => "oauth2",
            CredentialType::KeyAuth => "key-auth",
            CredentialType::BasicAuth => "basic-auth",
            CredentialType::Jwt => "jwt",
            CredentialType::Acl => "acls",
        }
    }

    /// The field a non-UUID Admin API path key names (Kong's
    /// `endpoint_key`); acls have none.
    pub fn endpoint_key(self) -> Option<&'static str> {
        match self {
            CredentialType::Oauth2 => Some("client_id"),
            CredentialType::KeyAuth | CredentialType::Jwt => Some("key"),
            CredentialType::BasicAuth => Some("username"),
            CredentialType::Acl => Some("group"),
        }
    }

    /// Fields Kong generates when omitted (`auto = true`).
    pub fn auto_fields(self) -> &'static [&'static str] {
        match self {
            CredentialType::Oauth2 => &["client_id", "client_secret"],
            CredentialType::KeyAuth => &["key"],
            CredentialType::Jwt => &["key", "secret"],
            CredentialType::BasicAuth | CredentialType::Acl => &[],
        }
    }
}

impl std::fmt::Display for CredentialType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

// === impl Credentials ===

impl Credentials {
    /// The credential of type `kind` whose key is `key`.
    pub fn get(&self, kind: CredentialType, key: &str) -> Option<&Credential> {
        self.shared(kind, key).map(|c| &**c)
    }

    /// [`Credentials::get`], as the `Arc` this set holds.
    pub fn shared(&self, kind: CredentialType, key: &str) -> Option<&Arc<Credential>> {
        self.by_type.get(&kind)?.get(key)
    }

    /// Every credential of type `kind`, by key.
    pub fn of(&self, kind: CredentialType) -> impl Iterator<Item = &Credential> {
        self.by_type
            .get(&kind)
            .into_iter()
            .flat_map(|m| m.values().map(|c| &**c))
    }

    /// Every credential of type `kind`, mutable (the map, and each
    /// credential, is copied first if another table shares it; untouched
    /// types stay shared).
    pub fn of_mut(&mut self, kind: CredentialType) -> impl Iterator<Item = &mut Credential> {
        self.by_type
            .get_mut(&kind)
            .into_iter()
            .flat_map(|m| m.values_mut().map(Arc::make_mut))
    }

    /// Replaces the credentials of type `kind` with `map` (a sealer that
    /// changes keys rebuilds the map).
    pub fn replace(&mut self, kind: CredentialType, map: BTreeMap<String, Credential>) {
        let map = map.into_iter().map(|(k, c)| (k, Arc::new(c))).collect();
        self.by_type.insert(kind, Shared::new(map));
    }

    /// Adds `credential` unless its key is taken; returns the holder of the
    /// key when it is.
    pub fn insert(&mut self, credential: impl Into<Arc<Credential>>) -> Result<(), &Credential> {
        let credential = credential.into();
        let map = self
            .by_type
            .entry(credential.credential_type())
            .or_default();
        let key = credential.key();
        if map.contains_key(&key) {
            return Err(&map[&key]);
        }
        map.insert(key, credential);
        Ok(())
    }

    /// Removes the credential of type `kind` whose key is `key`.
    pub fn remove(&mut self, kind: CredentialType, key: &str) -> Option<Credential> {
        self.by_type
            .get_mut(&kind)?
            .remove(key)
            .map(Arc::unwrap_or_clone)
    }

    /// Whether there is no credential at all.
    pub fn is_empty(&self) -> bool {
        self.by_type.values().all(|m| m.is_empty())
    }

    /// The oauth2 application with this `client_id`.
    pub fn oauth2(&self, client_id: &str) -> Option<&Oauth2Credential> {
        match self.get(CredentialType::Oauth2, client_id)? {
            Credential::Oauth2(c) => Some(c),
            _ => None,
        }
    }

    /// Every oauth2 application.
    pub fn oauth2_all(&self) -> impl Iterator<Item = &Oauth2Credential> {
        self.of(CredentialType::Oauth2).filter_map(|c| match c {
            Credential::Oauth2(c) => Some(c),
            _ => None,
        })
    }

    /// The jwt secret whose `key` is `key`.
    pub fn jwt(&self, key: &str) -> Option<&JwtCredential> {
        match self.get(CredentialType::Jwt, key)? {
            Credential::Jwt(c) => Some(c),
            _ => None,
        }
    }

    /// The oauth2 application with this id (tokens refer to credentials by id).
    pub fn oauth2_by_id(&self, id: &str) -> Option<&Oauth2Credential> {
        self.oauth2_all().find(|c| c.id == id)
    }

    /// The groups of the consumer `consumer_id` from its acl credentials,
    /// in name order: a range of the map, not a scan.
    pub fn groups_of(&self, consumer_id: &str) -> Vec<&str> {
        let Some(map) = self.by_type.get(&CredentialType::Acl) else {
            return Vec::new();
        };
        let prefix = acl::prefix(consumer_id);
        map.range::<str, _>((Bound::Included(prefix.as_str()), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix.as_str()))
            .filter_map(|(_, c)| match &**c {
                Credential::Acl(a) => Some(a.group.as_str()),
                _ => None,
            })
            .collect()
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.by_type.iter().map(|(t, m)| (t.label(), m.len())))
            .finish()
    }
}

#[cfg(test)]
mod tests;
