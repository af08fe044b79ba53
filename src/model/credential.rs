//! Consumers' credentials, one table for every type: a credential Secret
//! (`konghq.com/credential: <type>`), a kong.yml entity or an Admin API
//! write all end here, keyed by type and by the type's unique key.

pub(super) mod jwt;

use super::{Oauth2Credential, ObjectRef, Shared};
use std::collections::BTreeMap;

pub use jwt::JwtCredential;

/// The credential types kingress reads, with Kong's and KIC's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CredentialType {
    /// oauth2 applications (`oauth2_credentials`).
    Oauth2,
    /// jwt secrets (`jwt_secrets`).
    Jwt,
}

/// A credential of any type.
#[derive(Clone, Debug, PartialEq)]
pub enum Credential {
    /// An oauth2 application.
    Oauth2(Oauth2Credential),
    /// A jwt secret.
    Jwt(JwtCredential),
}

/// Every credential, by type, each type keyed by its unique key
/// ([`Credential::key`]). Each type's map is shared with the tables before
/// and after while it does not change.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Credentials {
    by_type: BTreeMap<CredentialType, Shared<BTreeMap<String, Credential>>>,
}

// === impl CredentialType ===

impl CredentialType {
    /// Every type.
    pub const ALL: [CredentialType; 2] = [CredentialType::Oauth2, CredentialType::Jwt];

    /// The `konghq.com/credential` label value (and the plugin name).
    pub fn label(self) -> &'static str {
        match self {
            CredentialType::Oauth2 => "oauth2",
            CredentialType::Jwt => "jwt",
        }
    }

    /// The type named by a `konghq.com/credential` label, KIC's aliases
    /// (`keyauth_credential`, `jwt_secret`, …) included.
    pub fn from_label(label: &str) -> Option<Self> {
        match label {
            "oauth2" => Some(CredentialType::Oauth2),
            "jwt" | "jwt_secret" => Some(CredentialType::Jwt),
            _ => None,
        }
    }
}

// === impl Credential ===

impl Credential {
    /// Its type.
    pub fn credential_type(&self) -> CredentialType {
        match self {
            Credential::Oauth2(_) => CredentialType::Oauth2,
            Credential::Jwt(_) => CredentialType::Jwt,
        }
    }

    /// Unique within its type: what a request presents to be found
    /// (`client_id`, the API key, the username, the JWT `key`).
    pub fn key(&self) -> &str {
        match self {
            Credential::Oauth2(c) => &c.client_id,
            Credential::Jwt(c) => &c.key,
        }
    }

    /// Its stable id.
    pub fn id(&self) -> &str {
        match self {
            Credential::Oauth2(c) => &c.id,
            Credential::Jwt(c) => &c.id,
        }
    }

    /// The owning consumer's id.
    pub fn consumer_id(&self) -> &str {
        match self {
            Credential::Oauth2(c) => &c.consumer_id,
            Credential::Jwt(c) => &c.consumer_id,
        }
    }

    /// The object it came from.
    pub fn source(&self) -> &ObjectRef {
        match self {
            Credential::Oauth2(c) => &c.source,
            Credential::Jwt(c) => &c.source,
        }
    }
}

// === impl Credentials ===

impl Credentials {
    /// The credential of type `kind` whose key is `key`.
    pub fn get(&self, kind: CredentialType, key: &str) -> Option<&Credential> {
        self.by_type.get(&kind)?.get(key)
    }

    /// Every credential of type `kind`, by key.
    pub fn of(&self, kind: CredentialType) -> impl Iterator<Item = &Credential> {
        self.by_type.get(&kind).into_iter().flat_map(|m| m.values())
    }

    /// Every credential of type `kind`, mutable (the map is copied first if
    /// another table shares it; untouched types stay shared).
    pub fn of_mut(&mut self, kind: CredentialType) -> impl Iterator<Item = &mut Credential> {
        self.by_type
            .get_mut(&kind)
            .into_iter()
            .flat_map(|m| m.values_mut())
    }

    /// Adds `credential` unless its key is taken; returns the holder of the
    /// key when it is.
    pub fn insert(&mut self, credential: Credential) -> Result<(), &Credential> {
        let map = self
            .by_type
            .entry(credential.credential_type())
            .or_default();
        let key = credential.key().to_string();
        if map.contains_key(&key) {
            return Err(&map[&key]);
        }
        map.insert(key, credential);
        Ok(())
    }

    /// Removes the credential of type `kind` whose key is `key`.
    pub fn remove(&mut self, kind: CredentialType, key: &str) -> Option<Credential> {
        self.by_type.get_mut(&kind)?.remove(key)
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
}
